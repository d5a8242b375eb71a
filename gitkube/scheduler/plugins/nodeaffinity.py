"""NodeAffinity: ``nodeSelector`` and required node affinity (filter), preferred node
affinity (score, weight 2).

kube-scheduler checks ``nodeSelector`` and the required terms in this one plugin
with one message: every selector label must be on the node, and at least one of the
``nodeSelectorTerms`` must match (its expressions and fields all hold; In, NotIn,
Exists, DoesNotExist, Gt, Lt; ``matchFields`` on ``metadata.name``).

The score sums the weights of the preferred terms a node matches and scales the
feasible nodes to 0..100 by the best of them (``DefaultNormalizeScore``). What a
node matches never changes during a pass, so the sums are cached per node.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, ClassVar

from gitkube.scheduler import framework, terms

if TYPE_CHECKING:
    from gitkube.scheduler.cluster import ClusterState

REASON = "node(s) didn't match Pod's node affinity/selector"

_REJECTED = framework.Status("NodeAffinity", (REASON,), resolvable=False)


class NodeAffinity:
    name: ClassVar[str] = "NodeAffinity"
    scope: ClassVar[framework.Scope] = framework.Scope.STATIC

    def __init__(self, cluster: ClusterState) -> None:
        pass

    def relevant(self, pod: framework.PodInfo) -> bool:
        return not pod.node_match.empty

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return pod.node_match

    def filter(
        self, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status | None:
        if pod.node_match.matches(node.labels, node.name):
            return None
        return _REJECTED


Preferences = tuple[tuple[int, terms.NodeTerm], ...]


class PreferredNodeAffinity:
    name: ClassVar[str] = "NodeAffinity"
    scope: ClassVar[framework.Scope] = framework.Scope.CLUSTER
    weight: ClassVar[int] = 2

    def __init__(self, cluster: ClusterState) -> None:
        self._size = len(cluster.nodes)
        self._sums: dict[Preferences, list[int]] = {}

    def relevant(self, pod: framework.PodInfo) -> bool:
        return bool(pod.node_preferences)

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return pod.node_preferences

    def score(self, pod: framework.PodInfo, nodes: Sequence[framework.NodeInfo]) -> list[int]:
        preferences = pod.node_preferences
        sums = self._sums.get(preferences)
        if sums is None:
            sums = self._sums[preferences] = [-1] * self._size
        raw: list[int] = []
        for node in nodes:
            total = sums[node.index]
            if total < 0:
                labels, name = node.labels, node.name
                total = sums[node.index] = sum(
                    weight for weight, term in preferences if term.matches(labels, name)
                )
            raw.append(total)
        return framework.default_normalize(raw)
