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
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitkube import clock as clocks
from gitkube.api import core, quantities
from gitkube.api import node as node_api
from gitkube.controllers.snapshot import Snapshot
from gitkube.scheduler import framework

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"

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

    @classmethod
    def of(
        cls, nodes: Iterable[framework.NodeInfo], pods: Iterable[framework.PodInfo] = ()
    ) -> ClusterState:
        """Built from records directly (benchmarks, tests); ``pods`` are bound by node_name."""
        state = cls(nodes=list(nodes))
        for index, node in enumerate(state.nodes):
            node.index = index
            state.by_name[node.name] = node
        for pod in pods:
            state.bind_existing(pod)
        return state

    def bind_existing(self, pod: framework.PodInfo) -> None:
        node = self.by_name.get(pod.node_name)
        if node is not None:
            node.add_pod(pod)
            self.bound[pod.key] = pod


def build(snapshot: Snapshot) -> ClusterState:
    """Nodes (by name), their pods' requests, and the queue of pods to place."""
    nodes = sorted(snapshot.of_kind(node_api.Node), key=lambda n: n.name)
    state = ClusterState.of(node_info(n) for n in nodes)
    queued: list[tuple[tuple[int, dt.datetime, str, str], QueuedPod]] = []
    for stored in snapshot.stored_of_kind(core.Pod):
        pod = stored.obj
        if not isinstance(pod, core.Pod) or pod.status.phase in TERMINAL_PHASES:
            continue
        info = pod_info(pod)
        if info.node_name:
            state.bind_existing(info)
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
    )


def resource_ints(resources: Mapping[str, Any]) -> dict[str, int]:
    """cpu in millicores, everything else (memory, pods, extended) as an integer."""
    return {
        name: quantities.cpu_millis(value) if name == "cpu" else quantities.memory_bytes(value)
        for name, value in resources.items()
    }


def pod_info(pod: core.Pod) -> framework.PodInfo:
    """Requests the Kubernetes way: the sum over containers, a limit standing in for a
    missing request; the non-zero variant counts 100m/200Mi for a container that
    requests no cpu/memory at all (an explicit 0 stays 0)."""
    spec = pod.spec
    cpu = memory = 0
    nz_cpu = nz_mem = 0
    scalar: dict[str, int] = {}
    ports: list[tuple[str, str, int]] = []
    for container in spec.containers:
        resources = container.resources
        requests = resource_ints({**resources.limits, **resources.requests})
        c_cpu = requests.pop("cpu", None)
        c_mem = requests.pop("memory", None)
        cpu += c_cpu or 0
        memory += c_mem or 0
        nz_cpu += framework.DEFAULT_MILLI_CPU_REQUEST if c_cpu is None else c_cpu
        nz_mem += framework.DEFAULT_MEMORY_REQUEST if c_mem is None else c_mem
        for name, amount in requests.items():
            scalar[name] = scalar.get(name, 0) + amount
        for port in container.ports:
            if port.host_port:
                ports.append(
                    (port.host_ip or framework.BIND_ALL_IP, port.protocol or "TCP", port.host_port)
                )
    return framework.PodInfo(
        key=pod.key,
        name=pod.name,
        namespace=pod.namespace,
        priority=spec.priority or 0,
        node_name=spec.node_name or "",
        req_cpu=cpu,
        req_mem=memory,
        req_scalar=scalar,
        nz_cpu=nz_cpu,
        nz_mem=nz_mem,
        node_selector=dict(spec.node_selector),
        tolerations=tuple(
            framework.Toleration(t.key or "", t.operator or "Equal", t.value or "", t.effect or "")
            for t in spec.tolerations
        ),
        host_ports=tuple(ports),
    )
