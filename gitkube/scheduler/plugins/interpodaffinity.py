"""InterPodAffinity: where other pods are decides where this one may go (filter) and
would rather go (score, weight 2), by the nodes' values of each term's topologyKey.

The filter, in kube-scheduler's order and words:

1. required pod affinity: the node must carry every term's topology key, and its
   domain must already hold a pod matching all the terms — unless no pod anywhere
   does and the pod matches its own terms (the first pod of a group that attracts
   itself): "node(s) didn't match pod affinity rules";
2. required anti-affinity: no pod matching a term in the node's domain:
   "node(s) didn't match pod anti-affinity rules";
3. the anti-affinity of the pods already there, turned around: a pod placed earlier
   whose required anti-affinity term matches this pod keeps it out of that pod's
   domain: "node(s) didn't satisfy existing pods anti-affinity rules".

The score adds, per topology domain, the weights of this pod's preferred terms
times the matching pods there (anti-affinity subtracts), plus the weights of the
placed pods' terms that match this pod (their required affinity counts 1), and
scales the feasible nodes between the lowest and the highest to 0..100.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, ClassVar

from gitkube.scheduler import framework, terms

if TYPE_CHECKING:
    from gitkube.scheduler.cluster import ClusterState

AFFINITY = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"

NAME = "InterPodAffinity"
_AFFINITY = framework.Status(NAME, (AFFINITY,), resolvable=False)
_ANTI = framework.Status(NAME, (ANTI_AFFINITY,))
_EXISTING = framework.Status(NAME, (EXISTING_ANTI_AFFINITY,))


class InterPodAffinity:
    name: ClassVar[str] = NAME
    scope: ClassVar[framework.Scope] = framework.Scope.CLUSTER

    def __init__(self, cluster: ClusterState) -> None:
        self._topology = cluster.topology
        self._pod: framework.PodInfo | None = None
        self._rules: list[framework.DomainRule] = []

    def relevant(self, pod: framework.PodInfo) -> bool:
        return bool(self.rules(pod))

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return (pod.pod_affinity, pod.namespace, tuple(sorted(pod.labels.items())))

    def rules(self, pod: framework.PodInfo) -> list[framework.DomainRule]:
        """kube-scheduler's PreFilter state as rules on topology values, from the live
        counts: affinity first, then the pod's anti-affinity, then the placed pods'."""
        if pod is self._pod:
            return self._rules
        topology = self._topology
        namespaces = topology.namespace_labels
        rules: list[framework.DomainRule] = []
        required = pod.pod_affinity.required if pod.pod_affinity else ()
        if required:
            count = topology.term_count(required)
            first = count.total == 0 and all(
                t.matches(pod.namespace, pod.labels, namespaces) for t in required)
            for term in required:
                key = term.topology_key
                rules.append(framework.DomainRule(
                    key, missing=_AFFINITY, allowed=None if first else count.present[key],
                    allowed_status=_AFFINITY))
        for term in pod.pod_affinity.required_anti if pod.pod_affinity else ():
            key = term.topology_key
            present = topology.term_count((term,)).present[key]
            if present:
                rules.append(framework.DomainRule(key, bad=present, bad_status=_ANTI))
        excluded: dict[str, set[str]] = {}
        for term, values in topology.anti.items():
            if term.matches(pod.namespace, pod.labels, namespaces):
                held = {value for value, n in values.items() if n > 0}
                if held:
                    excluded.setdefault(term.topology_key, set()).update(held)
        rules += [framework.DomainRule(key, bad=values, bad_status=_EXISTING)
                  for key, values in excluded.items()]
        self._pod, self._rules = pod, rules
        return rules

    def filter(
        self, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status | None:
        return framework.check_rules(self.rules(pod), node.labels)


class PreferredInterPodAffinity:
    name: ClassVar[str] = NAME
    scope: ClassVar[framework.Scope] = framework.Scope.CLUSTER
    weight: ClassVar[int] = 2

    def __init__(self, cluster: ClusterState) -> None:
        self._topology = cluster.topology
        self._pod: framework.PodInfo | None = None
        self._scores: dict[str, dict[str, int]] = {}

    def relevant(self, pod: framework.PodInfo) -> bool:
        return bool(self._prepare(pod))

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return (pod.pod_affinity, pod.namespace, tuple(sorted(pod.labels.items())))

    def _prepare(self, pod: framework.PodInfo) -> dict[str, dict[str, int]]:
        """topology key → value → score, as kube-scheduler's PreScore sums it."""
        if pod is self._pod:
            return self._scores
        topology = self._topology
        scores: dict[str, dict[str, int]] = {}
        rules = pod.pod_affinity
        for weight, term in rules.preferred if rules is not None else ():
            counts = topology.term_count((term,)).by_key[term.topology_key]
            _add(scores, term, weight, counts)
        for (term, weight), counts in topology.attract.items():
            if term.matches(pod.namespace, pod.labels, topology.namespace_labels):
                _add(scores, term, weight, counts)
        if not any(any(values.values()) for values in scores.values()):
            scores = {}
        self._pod, self._scores = pod, scores
        return scores

    def score(self, pod: framework.PodInfo, nodes: Sequence[framework.NodeInfo]) -> list[int]:
        scores = self._prepare(pod)
        indices = [node.index for node in nodes]
        raw = [0] * len(indices)
        for key, values in scores.items():
            column = self._topology.column(key)
            raw = [r if (v := column[i]) is None else r + values.get(v, 0)
                   for r, i in zip(raw, indices, strict=True)]
        low, high = min(raw, default=0), max(raw, default=0)
        if high == low:
            return [0] * len(raw)
        span = high - low
        return [int(framework.MAX_NODE_SCORE * ((s - low) / span)) for s in raw]


def _add(scores: dict[str, dict[str, int]], term: terms.AffinityTerm, weight: int,
         counts: dict[str, int]) -> None:
    values = scores.setdefault(term.topology_key, {})
    for value, n in counts.items():
        if n:
            values[value] = values.get(value, 0) + weight * n
