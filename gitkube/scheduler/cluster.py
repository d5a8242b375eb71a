"""The cluster as the scheduler sees it: NodeInfo and PodInfo records built once per pass.

This is the one place that reads the pydantic objects. Everything after it works on
plain ints and dicts, so a pass over thousands of pods does no model access on its
hot path. Pods bound to a node and not finished (Succeeded/Failed) count toward the
node's requests, as in kube-scheduler's cache; pods with no node and not being
deleted wait in the queue, highest priority first, then oldest, then by name.

A node whose Ready condition is False or Unknown gets the taint the Kubernetes node
lifecycle controller would give it (``node.kubernetes.io/not-ready`` or
``.../unreachable``, NoSchedule), so tolerations decide as they do in Kubernetes.
A node with no Ready condition yet is taken as ready: the node controller owns that
condition and sets it from the first heartbeat.

A pod's priority comes from its PriorityClass (``spec.priorityClassName``), else
from ``spec.priority``, else from the class marked ``globalDefault``; a class that
does not exist leaves the pod unschedulable with a sentence saying so, as does a
ServiceAccount its namespace does not have (the admission plugin's words). Affinity and
spread constraints are compiled here (``terms``), and the pods placed are counted
by topology (``topology.TopologyIndex``) as the pass goes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitkube import clock as clocks
from gitkube.api import accounts, apps, core, podstate, quantities, scheduling
from gitkube.api import node as node_api
from gitkube.planning import claims
from gitkube.planning.snapshot import Snapshot
from gitkube.scheduler import framework, terms, topology, volumes

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"

PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
PREEMPT_NEVER = "Never"

_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(eq=False)
class QueuedPod:
    """A pod waiting for a node, with the stored object and its revision."""

    info: framework.PodInfo
    pod: core.Pod
    revision: int


@dataclass(eq=False)
class ClusterState:
    nodes: list[framework.NodeInfo]
    by_name: dict[str, framework.NodeInfo] = field(default_factory=dict)
    #: Pods already on a node, by key (``explain`` takes a bound pod off its node).
    bound: dict[str, framework.PodInfo] = field(default_factory=dict)
    queue: list[QueuedPod] = field(default_factory=list)
    #: Namespace name → its labels (namespace selectors of affinity terms).
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    topology: topology.TopologyIndex = field(init=False)
    #: Pods of the pass by topology, images by node count; set up by ``of``.
    image_nodes: dict[str, int] = field(default_factory=dict)
    #: The stored objects of the pods in ``bound``, by key (preemption reads their
    #: start times and whether the scheduler already preempted them).
    bound_pods: dict[str, core.Pod] = field(default_factory=dict)
    #: What priorities and preemption policies were resolved with (set by ``build``).
    context: PodContext | None = None
    #: The pass's claims and where they let pods go (set by ``build``).
    volumes: volumes.VolumeIndex = field(default_factory=volumes.VolumeIndex)

    @classmethod
    def of(
        cls,
        nodes: Iterable[framework.NodeInfo],
        pods: Iterable[framework.PodInfo] = (),
        *,
        namespace_labels: dict[str, dict[str, str]] | None = None,
    ) -> ClusterState:
        """Built from records directly (benchmarks, tests); ``pods`` are bound by node_name."""
        state = cls(nodes=list(nodes), namespace_labels=namespace_labels or {})
        for index, node in enumerate(state.nodes):
            node.index = index
            state.by_name[node.name] = node
            for image in node.images:
                state.image_nodes[image] = state.image_nodes.get(image, 0) + 1
        state.topology = topology.TopologyIndex(state.nodes, state.namespace_labels)
        for pod in pods:
            state.bind_existing(pod)
        return state

    def bind_existing(self, pod: framework.PodInfo) -> None:
        node = self.by_name.get(pod.node_name)
        if node is not None:
            self.assume(pod, node)
            self.bound[pod.key] = pod

    def assume(self, pod: framework.PodInfo, node: framework.NodeInfo) -> None:
        """``pod`` is on ``node`` from now on, for every later question of the pass."""
        node.add_pod(pod)
        self.topology.place(pod, node)

    def forget(self, pod: framework.PodInfo) -> None:
        """Take a bound pod off its node (``explain`` asks about it as if it were new)."""
        node = self.by_name.get(pod.node_name)
        if node is not None and pod in node.pods:
            node.remove_pod(pod)
            self.topology.place(pod, node, -1)
        self.bound.pop(pod.key, None)

    def unassume(self, pod: framework.PodInfo, node: framework.NodeInfo) -> None:
        """Undo ``assume``: give back the room a nominated pod held, or take a pod off its
        node for a preemption dry run (``preemption`` puts it back)."""
        node.remove_pod(pod)
        self.topology.place(pod, node, -1)


def build(snapshot: Snapshot) -> ClusterState:
    """Nodes (by name), their pods' requests, and the queue of pods to place."""
    nodes = sorted(snapshot.of_kind(node_api.Node), key=lambda n: n.name)
    namespaces = {ns.name: dict(ns.metadata.labels) for ns in snapshot.of_kind(core.Namespace)}
    state = ClusterState.of((node_info(n) for n in nodes), namespace_labels=namespaces)
    context = PodContext.of(snapshot)
    state.context = context
    state.volumes = volumes.VolumeIndex.of(snapshot)
    queued: list[tuple[tuple[int, dt.datetime, str, str], QueuedPod]] = []
    for stored in snapshot.stored_of_kind(core.Pod):
        pod = stored.obj
        if not isinstance(pod, core.Pod) or podstate.is_terminal(pod):
            continue
        info = pod_info(pod, context)
        if info.node_name:
            state.volumes.note_user(info.namespace, info.claims, info.key)
            state.bind_existing(info)
            if info.key in state.bound:
                state.bound_pods[info.key] = pod
        elif pod.metadata.deletion_timestamp is None:
            queued.append((queue_key(pod, info), QueuedPod(info, pod, stored.mod_revision)))
    queued.sort(key=lambda item: item[0])
    state.queue = [q for _, q in queued]
    return state


def queue_key(pod: core.Pod, info: framework.PodInfo) -> tuple[int, dt.datetime, str, str]:
    """PrioritySort: higher priority first, then older, then namespace/name."""
    created = _EPOCH
    if pod.metadata.creation_timestamp:
        with contextlib.suppress(ValueError):  # an odd timestamp only loses its place
            created = clocks.parse_time(pod.metadata.creation_timestamp)
    return (-info.priority, created, info.namespace, info.name)


def node_info(node: node_api.Node) -> framework.NodeInfo:
    spec = node.spec
    status = node.status
    taints = [
        framework.Taint(t.key, t.value or "", t.effect) for t in (spec.taints if spec else [])
    ]
    ready = True
    for condition in status.conditions if status else []:
        if condition.type == "Ready" and condition.status != "True":
            ready = False
            key = NOT_READY_TAINT if condition.status == "False" else UNREACHABLE_TAINT
            if not any(t.key == key and t.effect == "NoSchedule" for t in taints):
                taints.append(framework.Taint(key, "", "NoSchedule"))
    allocatable: Mapping[str, Any] = {}
    if status is not None:
        allocatable = status.allocatable or status.capacity or {}
    alloc = resource_ints(allocatable)
    return framework.NodeInfo(
        name=node.name,
        labels=dict(node.metadata.labels),
        taints=tuple(taints),
        unschedulable=bool(spec and spec.unschedulable),
        ready=ready,
        alloc_cpu=alloc.pop("cpu", 0),
        alloc_mem=alloc.pop("memory", 0),
        alloc_pods=alloc.pop("pods", framework.DEFAULT_MAX_PODS),
        alloc_scalar=alloc,
        images={
            framework.normalized_image(name): image.size_bytes or 0
            for image in (status.images if status else [])
            for name in image.names
        },
    )


def resource_ints(resources: Mapping[str, Any]) -> dict[str, int]:
    """cpu in millicores, everything else (memory, pods, extended) as an integer."""
    return {
        name: quantities.cpu_millis(value) if name == "cpu" else quantities.memory_bytes(value)
        for name, value in resources.items()
    }


@dataclass(frozen=True)
class PodContext:
    """What a pod's scheduling facts depend on beyond the pod: PriorityClasses and the
    ReplicaSets whose selectors give kube-scheduler's default spreading."""

    classes: dict[str, int] = field(default_factory=dict)
    default_priority: int | None = None
    #: namespace → selectors of its ReplicaSets.
    replica_sets: dict[str, list[Any]] = field(default_factory=dict)
    #: Class name → preemptionPolicy, for the classes that set one.
    policies: dict[str, str] = field(default_factory=dict)
    #: The preemptionPolicy of the global default class (when it sets one).
    default_policy: str | None = None
    #: (namespace, name) of every ServiceAccount; None: not known, nothing is checked.
    accounts: frozenset[tuple[str, str]] | None = None

    @classmethod
    def of(cls, snapshot: Snapshot) -> PodContext:
        classes = dict(scheduling.BUILTIN_CLASSES)
        defaults = []
        policies: dict[str, str] = {}
        for pc in snapshot.of_kind(scheduling.PriorityClass):
            classes[pc.name] = pc.value
            if pc.preemption_policy:
                policies[pc.name] = pc.preemption_policy
            if pc.global_default:
                defaults.append((pc.value, pc.name))
        replica_sets: dict[str, list[Any]] = {}
        for rs in snapshot.of_kind(apps.ReplicaSet):
            if not rs.spec.selector.empty:
                replica_sets.setdefault(rs.namespace, []).append(rs.spec.selector)
        # Of several global defaults, Kubernetes' admission takes the highest value.
        default = max(defaults, default=None)
        known = frozenset((sa.namespace, sa.name)
                          for sa in snapshot.of_kind(accounts.ServiceAccount))
        return cls(classes, default[0] if default else None, replica_sets, policies,
                   policies.get(default[1]) if default else None, known)

    def account_problem(self, spec: core.PodSpec, namespace: str) -> str:
        """The ServiceAccount admission plugin's refusal of a pod whose account its namespace
        does not have ('' when it has it, or when the accounts are not known)."""
        name = accounts.account_of(spec)
        if self.accounts is None or name == accounts.DEFAULT or (
                namespace, name) in self.accounts:
            return ""
        return accounts.missing_account(namespace, name)

    def priority(self, spec: core.PodSpec) -> tuple[int, str]:
        """The pod's priority, and a sentence when its class does not exist."""
        name = spec.priority_class_name
        if name:
            value = self.classes.get(name)
            if value is None:
                return 0, (f"no PriorityClass with name {name} was found; declare it in Git "
                           "(apiVersion scheduling.k8s.io/v1) or fix spec.priorityClassName")
            return value, ""
        if spec.priority is not None:
            return spec.priority, ""
        return self.default_priority or 0, ""

    def preemption_policy(self, spec: core.PodSpec) -> str:
        """The Priority admission plugin's answer: the pod's class's preemptionPolicy, else
        the global default class's when the pod names no class and sets no priority, else
        ``PreemptLowerPriority``."""
        name = spec.priority_class_name
        if name:
            policy = self.policies.get(name)
        elif spec.priority is None:
            policy = self.default_policy
        else:
            policy = None
        return policy or PREEMPT_LOWER_PRIORITY

    def default_spread(self, namespace: str, labels: Mapping[str, str]
                       ) -> tuple[terms.SpreadConstraint, ...]:
        """``buildDefaultConstraints``: the selectors of the ReplicaSets that select the pod,
        ANDed, spread by hostname (maxSkew 3) and zone (maxSkew 5), ScheduleAnyway."""
        matching = [s for s in self.replica_sets.get(namespace, []) if s.matches(labels)]
        if not matching:
            return ()
        parts = [terms.label_match(s) for s in matching]
        selector = terms.LabelMatch(
            tuple(sorted({item for p in parts for item in p.labels})),
            tuple(dict.fromkeys(r for p in parts for r in p.expressions)),
        )
        return terms.default_constraints(selector)


NO_CONTEXT = PodContext()


def container_requests(container: core.Container) -> dict[str, int]:
    """One container's requests (a limit standing in for a missing request), plus the
    non-zero variants ``nz:cpu``/``nz:memory`` (100m/200Mi when none is asked for; an
    explicit 0 stays 0)."""
    resources = container.resources
    requests = resource_ints({**resources.limits, **resources.requests})
    requests["nz:cpu"] = requests.get("cpu", framework.DEFAULT_MILLI_CPU_REQUEST)
    requests["nz:memory"] = requests.get("memory", framework.DEFAULT_MEMORY_REQUEST)
    return requests


def pod_requests(spec: core.PodSpec) -> dict[str, int]:
    """Kubernetes' PodRequests, resource by resource: the larger of (app containers +
    sidecars) and, for each init container in order, its request plus the sidecars
    started before it (a sidecar: the sidecars up to and including it)."""
    total: dict[str, int] = {}
    for container in spec.containers:
        _add(total, container_requests(container))
    sidecars: dict[str, int] = {}
    peak: dict[str, int] = {}
    for container in spec.init_containers:
        own = container_requests(container)
        if container.restart_policy == "Always":
            _add(total, own)
            _add(sidecars, own)
            during = dict(sidecars)
        else:
            during = dict(own)
            _add(during, sidecars)
        for name, amount in during.items():
            peak[name] = max(peak.get(name, 0), amount)
    for name, amount in peak.items():
        total[name] = max(total.get(name, 0), amount)
    return total


def _add(into: dict[str, int], amounts: dict[str, int]) -> None:
    for name, amount in amounts.items():
        into[name] = into.get(name, 0) + amount


def _host_ports(spec: core.PodSpec) -> tuple[tuple[str, str, int], ...]:
    """(host IP, protocol, port) of every host port of the app containers and sidecars."""
    running = [*(c for c in spec.init_containers if c.restart_policy == "Always"),
               *spec.containers]
    return tuple((port.host_ip or framework.BIND_ALL_IP, port.protocol or "TCP", port.host_port)
                 for container in running for port in container.ports if port.host_port)


def pod_info(pod: core.Pod, context: PodContext = NO_CONTEXT) -> framework.PodInfo:
    """Requests the Kubernetes way (``pod_requests``: init containers and sidecars
    included); host ports and images of app containers and sidecars."""
    spec = pod.spec
    requests = pod_requests(spec)
    cpu, memory = requests.pop("cpu", 0), requests.pop("memory", 0)
    nz_cpu, nz_mem = requests.pop("nz:cpu", 0), requests.pop("nz:memory", 0)
    scalar = requests
    priority, problem = context.priority(spec)
    labels = dict(pod.metadata.labels)
    namespace = pod.namespace
    problem = problem or context.account_problem(spec, namespace)
    node_affinity = spec.affinity.node_affinity if spec.affinity else None
    required = node_affinity.required_during_scheduling_ignored_during_execution if (
        node_affinity) else None
    spread = tuple(terms.spread_constraint(c, labels) for c in spec.topology_spread_constraints)
    return framework.PodInfo(
        key=pod.key,
        name=pod.name,
        namespace=namespace,
        priority=priority,
        node_name=spec.node_name or "",
        req_cpu=cpu,
        req_mem=memory,
        req_scalar=scalar,
        nz_cpu=nz_cpu,
        nz_mem=nz_mem,
        tolerations=tuple(
            framework.Toleration(t.key or "", t.operator or "Equal", t.value or "", t.effect or "")
            for t in spec.tolerations
        ),
        host_ports=_host_ports(spec),
        labels=labels,
        terminating=pod.metadata.deletion_timestamp is not None,
        node_match=terms.NodeSelectorMatch(
            tuple(sorted(spec.node_selector.items())),
            None if required is None else tuple(
                terms.node_term(t) for t in required.node_selector_terms),
        ),
        node_preferences=tuple(
            (p.weight, terms.node_term(p.preference))
            for p in (node_affinity.preferred_during_scheduling_ignored_during_execution
                      if node_affinity else [])
            if p.weight and (p.preference.match_expressions or p.preference.match_fields)
        ),
        pod_affinity=terms.pod_affinity_rules(spec.affinity, namespace),
        spread=spread,
        default_spread=() if spread else context.default_spread(namespace, labels),
        images=tuple(framework.normalized_image(c.image)
                     for c in [*spec.init_containers, *spec.containers]),
        problem=problem,
        claims=tuple(claims.claim_names(spec)),
    )
