"""PodTopologySpread: keep matching pods evenly spread over topology domains.

Filter (``whenUnsatisfiable: DoNotSchedule``): for each constraint, the node must
carry the topology key ("node(s) didn't match pod topology spread constraints
(missing required label)"), and placing the pod there must keep
``pods in the node's domain + 1 (if the pod matches the selector) - global minimum``
within ``maxSkew`` ("node(s) didn't match pod topology spread constraints"). The
domains and their counts come from the eligible nodes only: those carrying every
constraint's key, matching the pod's nodeSelector/required node affinity
(``nodeAffinityPolicy: Honor``, the default) and, with ``nodeTaintsPolicy: Honor``,
whose NoSchedule/NoExecute taints the pod tolerates. With fewer domains than
``minDomains`` the global minimum counts as 0.

Score (weight 2), for ``ScheduleAnyway`` constraints — or, for a pod with no
constraints that a ReplicaSet selects, kube-scheduler's system defaults (hostname
maxSkew 3, zone maxSkew 5): each node gets ``matching pods in its domain * log(domains
+ 2) + maxSkew - 1`` per constraint, and the fewest wins after normalising
(``100 * (max + min - score) / max``); a node missing a key of explicit constraints
scores 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy
import numpy.typing

from gitkube.scheduler import framework, terms, topology

if TYPE_CHECKING:
    from gitkube.scheduler.cluster import ClusterState

SKEW = "node(s) didn't match pod topology spread constraints"
MISSING_LABEL = SKEW + " (missing required label)"

NAME = "PodTopologySpread"
_SKEW = framework.Status(NAME, (SKEW,))
_MISSING = framework.Status(NAME, (MISSING_LABEL,), resolvable=False)
_NO_EXECUTE = frozenset({"NoSchedule", "NoExecute"})

Counted = tuple[terms.SpreadConstraint, topology.SpreadCount]
Ints = numpy.typing.NDArray[numpy.int64]


def counters(
    cluster: ClusterState,
    pod: framework.PodInfo,
    constraints: Sequence[terms.SpreadConstraint],
    *,
    require_all: bool = True,
) -> list[Counted]:
    """Each constraint with the live count of the pods it selects, over the nodes that
    count for this pod (see the module docstring)."""
    keys = tuple(sorted({c.topology_key for c in constraints})) if require_all else ()
    index = cluster.topology
    out: list[Counted] = []
    for constraint in constraints:
        honor_affinity = constraint.honor_affinity and not pod.node_match.empty
        eligible_key = (keys, pod.node_match if honor_affinity else None,
                        pod.tolerations if constraint.honor_taints else None)
        mask = index.eligible(eligible_key, _eligibility(pod, keys, honor_affinity,
                                                         constraint.honor_taints))
        key = ("spread", constraint.selector, pod.namespace, constraint.topology_key,
               eligible_key)
        count = index.counter(key, _spread_count(cluster, constraint, pod.namespace, mask))
        out.append((constraint, count))
    return out


def _eligibility(
    pod: framework.PodInfo, keys: tuple[str, ...], honor_affinity: bool, honor_taints: bool
) -> Callable[[framework.NodeInfo], bool]:
    def eligible(node: framework.NodeInfo) -> bool:
        labels = node.labels
        if any(key not in labels for key in keys):
            return False
        if honor_affinity and not pod.node_match.matches(labels, node.name):
            return False
        return not honor_taints or all(
            t.effect not in _NO_EXECUTE or framework.tolerated(pod.tolerations, t)
            for t in node.taints
        )

    return eligible


def _spread_count(
    cluster: ClusterState, constraint: terms.SpreadConstraint, namespace: str,
    mask: list[bool],
) -> Callable[[], topology.SpreadCount]:
    selector = constraint.selector

    def match(other: framework.PodInfo) -> bool:
        return other.namespace == namespace and selector.matches(other.labels)

    codes = cluster.topology.codes(constraint.topology_key)
    return lambda: topology.SpreadCount(match, constraint.topology_key, cluster.nodes, mask,
                                        codes)


class PodTopologySpread:
    name: ClassVar[str] = NAME
    scope: ClassVar[framework.Scope] = framework.Scope.CLUSTER

    def __init__(self, cluster: ClusterState) -> None:
        self._cluster = cluster
        self._pod: framework.PodInfo | None = None
        self._rules: list[framework.DomainRule] = []

    def relevant(self, pod: framework.PodInfo) -> bool:
        return any(c.hard for c in pod.spread)

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return (pod.spread, pod.namespace, tuple(sorted(pod.labels.items())))

    def rules(self, pod: framework.PodInfo) -> list[framework.DomainRule]:
        """Per hard constraint: the key must be there, and the domains where one more
        pod would exceed maxSkew are out. Computed from the live counts each time."""
        hard = [c for c in pod.spread if c.hard]
        rules = []
        for constraint, count in counters(self._cluster, pod, hard):
            itself = 1 if constraint.selector.matches(pod.labels) else 0
            threshold = (count.global_min(constraint.min_domains) + constraint.max_skew
                         - itself)
            rules.append(framework.DomainRule(
                constraint.topology_key, missing=_MISSING, bad=count.above(threshold),
                bad_status=_SKEW,
            ))
        self._pod, self._rules = pod, rules
        return rules

    def filter(
        self, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status | None:
        rules = self._rules if pod is self._pod else self.rules(pod)
        return framework.check_rules(rules, node.labels)


class SpreadScore:
    name: ClassVar[str] = NAME
    scope: ClassVar[framework.Scope] = framework.Scope.CLUSTER
    weight: ClassVar[int] = 2

    def __init__(self, cluster: ClusterState) -> None:
        self._cluster = cluster

    def relevant(self, pod: framework.PodInfo) -> bool:
        if pod.spread:
            return any(not c.hard for c in pod.spread)
        return bool(pod.default_spread)

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return (pod.spread, pod.default_spread, pod.namespace)

    def score(self, pod: framework.PodInfo, nodes: Sequence[framework.NodeInfo]) -> list[int]:
        explicit = bool(pod.spread)
        constraints = [c for c in pod.spread if not c.hard] if explicit else pod.default_spread
        counted = counters(self._cluster, pod, constraints, require_all=explicit)
        index = self._cluster.topology
        codes = [index.codes(c.topology_key) for c in constraints]
        every = numpy.fromiter((n.index for n in nodes), dtype=numpy.intp, count=len(nodes))
        kept = every
        if explicit:  # a node missing a key is left out (it scores 0)
            keep = numpy.ones(len(every), dtype=bool)
            for code in codes:
                keep &= code.by_node[every] != len(code.values)
            kept = every[keep]
        # + 0.5 then floor: round half up, as math.Round does for these positives.
        totals = numpy.full(len(kept), 0.5)
        for (constraint, count), code in zip(counted, codes, strict=True):
            missing = len(code.values)
            node_codes = code.by_node[kept]
            if constraint.topology_key == terms.HOSTNAME_KEY:
                # Per node: its own matching pods, over the nodes scored.
                weight = math.log(len(kept) + 2)
                part = count.per_node[kept] * weight
            else:
                # Per domain; kube-scheduler counts a node without the key in the domain "".
                seen = numpy.bincount(node_codes, minlength=missing + 1) > 0
                if seen[missing]:
                    seen[code.empty] = True
                weight = math.log(int(seen[:missing].sum()) + int(code.empty == missing
                                                                  and seen[missing]) + 2)
                part = count.per_code[node_codes] * weight
            totals += numpy.where(node_codes != missing, part + (constraint.max_skew - 1), 0.0)
        scores = normalize_array(numpy.floor(totals).astype(numpy.int64))
        if explicit:
            out = numpy.zeros(len(every), dtype=numpy.int64)
            out[keep] = scores
            scores = out
        return scores.tolist()  # type: ignore[no-any-return]


def normalize_array(raw: Ints) -> Ints:
    """Fewer is better: ``100 * (max + min - s) / max``."""
    if not raw.size:
        return raw
    low, high = int(raw.min()), int(raw.max())
    if high == 0:
        return numpy.full(raw.size, framework.MAX_NODE_SCORE, dtype=numpy.int64)
    return framework.MAX_NODE_SCORE * (high + low - raw) // high
