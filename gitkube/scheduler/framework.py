"""The scheduling framework: compact node and pod records, plugin protocols, statuses.

The scheduler plans on these records, never on the pydantic objects: ``NodeInfo``
and ``PodInfo`` are built once per pass (``gitkube.scheduler.cluster``) with every
quantity already an ``int`` (milli-cpu, bytes, counts), so the filter and score
loops do attribute reads and integer arithmetic only. They follow kube-scheduler's
``framework.NodeInfo`` and its plugin extension points (PreFilter/Filter,
PreScore/Score/NormalizeScore), reduced to what a pass of gitkube needs.

A plugin is one module under ``gitkube.scheduler.plugins`` with a class built once
per pass from the ``ClusterState``; ``plugins.DEFAULT`` lists them in order.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, NamedTuple, Protocol

from gitkube.api import pods as pods_api
from gitkube.scheduler import terms

#: Scores of one plugin are normalised to 0..MAX_NODE_SCORE (framework.MaxNodeScore).
MAX_NODE_SCORE = 100
#: kube-scheduler's non-zero defaults, used for scoring pods that request nothing.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
#: A node that says nothing about pods gets the kubelet's default ``maxPods``.
DEFAULT_MAX_PODS = 110

BIND_ALL_IP = "0.0.0.0"


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str  # NoSchedule | PreferNoSchedule | NoExecute


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"  # Equal | Exists ("" means Equal)
    value: str = ""
    effect: str = ""  # "" matches every effect

    def tolerates(self, taint: Taint) -> bool:
        """``v1.Toleration.ToleratesTaint``: effect, key, then value unless ``Exists``
        (``Gt``/``Lt`` compare the values as integers). ``tolerationSeconds`` plays no part
        in placement: a NoExecute taint tolerated for a while is tolerated now."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        if self.operator in ("", "Equal"):
            return self.value == taint.value
        if self.operator in ("Gt", "Lt"):
            return pods_api.compare_toleration(self.operator, self.value, taint.value)
        return False


def tolerated(tolerations: Sequence[Toleration], taint: Taint) -> bool:
    return any(t.tolerates(taint) for t in tolerations)


@dataclass(frozen=True, slots=True)
class Status:
    """Why one plugin rejected one node. ``reasons`` are Kubernetes' own sentences.

    ``resolvable`` False is kube-scheduler's UnschedulableAndUnresolvable: preempting
    other pods would not help (taints, selectors), as opposed to missing resources.
    """

    plugin: str
    reasons: tuple[str, ...]
    resolvable: bool = True


@dataclass(eq=False, slots=True)
class NodeInfo:
    """One node as the scheduler sees it during a pass; requested totals move as pods bind."""

    name: str
    index: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    #: Spec taints, plus the not-ready/unreachable taint the node lifecycle would add.
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    ready: bool = True
    alloc_cpu: int = 0  # milli-cpu
    alloc_mem: int = 0  # bytes
    alloc_pods: int = DEFAULT_MAX_PODS
    alloc_scalar: dict[str, int] = field(default_factory=dict)
    req_cpu: int = 0
    req_mem: int = 0
    #: Requests with kube-scheduler's non-zero defaults, for LeastAllocated scoring.
    nz_cpu: int = 0
    nz_mem: int = 0
    req_scalar: dict[str, int] = field(default_factory=dict)
    #: (protocol, port) → host IPs bound on that port.
    ports: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    #: The pods on the node (bound before the pass or placed during it).
    pods: list[PodInfo] = field(default_factory=list)
    #: Images present (normalised names, see ``normalized_image``) → size in bytes.
    images: dict[str, int] = field(default_factory=dict)
    #: Bumped on every placement, so a plugin may cache per-node results by version.
    version: int = 0

    def add_pod(self, pod: PodInfo) -> None:
        self.req_cpu += pod.req_cpu
        self.req_mem += pod.req_mem
        self.nz_cpu += pod.nz_cpu
        self.nz_mem += pod.nz_mem
        for name, amount in pod.req_scalar.items():
            self.req_scalar[name] = self.req_scalar.get(name, 0) + amount
        for ip, protocol, port in pod.host_ports:
            self.ports.setdefault((protocol, port), set()).add(ip)
        self.pods.append(pod)
        self.version += 1

    def remove_pod(self, pod: PodInfo) -> None:
        """Undo ``add_pod`` (``explain`` of a bound pod looks at its node without it)."""
        if pod not in self.pods:
            return
        self.req_cpu -= pod.req_cpu
        self.req_mem -= pod.req_mem
        self.nz_cpu -= pod.nz_cpu
        self.nz_mem -= pod.nz_mem
        for name, amount in pod.req_scalar.items():
            self.req_scalar[name] = self.req_scalar.get(name, 0) - amount
        for ip, protocol, port in pod.host_ports:
            self.ports.get((protocol, port), set()).discard(ip)
        self.pods.remove(pod)
        self.version += 1


@dataclass(eq=False, slots=True)
class PodInfo:
    """One pod to place, with its requests computed once (see ``cluster.pod_info``)."""

    key: str
    name: str
    namespace: str = "default"
    priority: int = 0
    #: spec.nodeName as stored ("" for a pod waiting for the scheduler).
    node_name: str = ""
    req_cpu: int = 0
    req_mem: int = 0
    req_scalar: dict[str, int] = field(default_factory=dict)
    nz_cpu: int = DEFAULT_MILLI_CPU_REQUEST
    nz_mem: int = DEFAULT_MEMORY_REQUEST
    tolerations: tuple[Toleration, ...] = ()
    #: (host IP, protocol, port) for every container port with a hostPort.
    host_ports: tuple[tuple[str, str, int], ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    #: Being deleted: spreading does not count it.
    terminating: bool = False
    #: nodeSelector AND required node affinity, compiled.
    node_match: terms.NodeSelectorMatch = terms.MATCH_ANY
    #: Preferred node affinity: (weight, term).
    node_preferences: tuple[tuple[int, terms.NodeTerm], ...] = ()
    pod_affinity: terms.PodAffinityRules | None = None
    #: The pod's own topologySpreadConstraints, compiled.
    spread: tuple[terms.SpreadConstraint, ...] = ()
    #: kube-scheduler's default spreading (by hostname and zone) when ``spread`` is empty
    #: and a ReplicaSet selects the pod.
    default_spread: tuple[terms.SpreadConstraint, ...] = ()
    #: Normalised image names of the containers (ImageLocality).
    images: tuple[str, ...] = ()
    #: Why the pod cannot be scheduled at all (an unknown PriorityClass); "" when it can.
    problem: str = ""
    #: The PersistentVolumeClaims its volumes name (``plugins.volumebinding``).
    claims: tuple[str, ...] = ()
    #: Plugin-specific extras a later plugin may need, as parsed.
    extra: dict[str, Any] = field(default_factory=dict)


class Scope(StrEnum):
    """What a plugin's answer for one node depends on, besides the pod's ``signature``.

    The framework caches answers by it: pods of one ReplicaSet ask the same questions
    of the same nodes, and most nodes do not change between two of them.
    """

    #: Only what does not change during a pass (labels, taints, allocatable):
    #: cached per node for the whole pass.
    STATIC = "static"
    #: Also the pods on this node (requests, ports): cached per node ``version``.
    NODE = "node"
    #: Other nodes too (spreading, inter-pod affinity, normalising by the best
    #: node): asked every time.
    CLUSTER = "cluster"


class DomainRule(NamedTuple):
    """A filter answer that depends only on the node's value of one topology key:
    rejected with ``missing`` when the node lacks the key, with ``bad_status`` when its
    value is in ``bad``, with ``allowed_status`` when ``allowed`` is given and lacks it.

    CLUSTER filters that can say their answer this way (``rules(pod)``) let the cycle
    check a node with a few set lookups instead of a call per node and plugin.
    """

    key: str
    missing: Status | None = None
    bad: AbstractSet[str] = frozenset()
    bad_status: Status | None = None
    allowed: AbstractSet[str] | None = None
    allowed_status: Status | None = None


def check_rules(rules: Sequence[DomainRule], labels: dict[str, str]) -> Status | None:
    for rule in rules:
        value = labels.get(rule.key)
        if value is None:
            if rule.missing is not None:
                return rule.missing
            continue
        if value in rule.bad:
            return rule.bad_status
        if rule.allowed is not None and value not in rule.allowed:
            return rule.allowed_status
    return None


class FilterPlugin(Protocol):
    """Filter: can the pod run on the node? ``None`` means yes."""

    name: ClassVar[str]
    scope: ClassVar[Scope]

    def relevant(self, pod: PodInfo) -> bool:
        """PreFilter: False skips the plugin for this pod (kube-scheduler's Skip)."""
        ...

    def signature(self, pod: PodInfo) -> Hashable:
        """Everything of the pod the answer depends on (pods alike share cached answers)."""
        ...

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status | None: ...


class PreFilterPlugin(FilterPlugin, Protocol):
    """A filter that may reject a pod before any node is asked (kube-scheduler's PreFilter
    returning UnschedulableAndUnresolvable): the sentence, or "" to go on."""

    def prefilter(self, pod: PodInfo) -> str: ...


class RuleFilterPlugin(FilterPlugin, Protocol):
    """A CLUSTER filter whose answer for a node is a list of ``DomainRule``s."""

    def rules(self, pod: PodInfo) -> list[DomainRule]: ...


class ScorePlugin(Protocol):
    """Score feasible nodes, 0..MAX_NODE_SCORE, in the order given.

    A STATIC or NODE scope plugin scores each node on its own (no normalising across
    nodes), so its scores are cached like filter answers; a plugin that normalises
    (``default_normalize``) is CLUSTER scope.
    """

    name: ClassVar[str]
    scope: ClassVar[Scope]
    weight: ClassVar[int]

    def relevant(self, pod: PodInfo) -> bool:
        """PreScore: False skips the plugin for this pod."""
        ...

    def signature(self, pod: PodInfo) -> Hashable: ...

    def score(self, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]: ...


def default_normalize(scores: list[int], *, reverse: bool = False) -> list[int]:
    """``helper.DefaultNormalizeScore``: scale to 0..100 by the maximum, maybe reversed."""
    top = max(scores, default=0)
    if top == 0:
        return [MAX_NODE_SCORE] * len(scores) if reverse else scores
    if reverse:
        return [MAX_NODE_SCORE - MAX_NODE_SCORE * s // top for s in scores]
    return [MAX_NODE_SCORE * s // top for s in scores]


def fit_error(num_nodes: int, statuses: Sequence[Status]) -> str:
    """``FitError.Error()``: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) ...".

    Every reason of every failed node is counted; the "<count> <reason>" strings are
    sorted as strings, exactly as kube-scheduler sorts its histogram.
    """
    if num_nodes == 0:
        return "no nodes available to schedule pods"
    histogram: dict[str, int] = {}
    for status in statuses:
        for reason in status.reasons:
            histogram[reason] = histogram.get(reason, 0) + 1
    parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
    message = f"0/{num_nodes} nodes are available:"
    if parts:
        message += f" {', '.join(parts)}."
    return message


def normalized_image(image: str) -> str:
    """``imagelocality.normalizedImageName``: an image with no tag gets ``:latest``."""
    if "@" in image or image.rfind(":") > image.rfind("/"):
        return image
    return image + ":latest"
