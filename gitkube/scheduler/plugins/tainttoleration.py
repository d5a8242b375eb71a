"""TaintToleration: a node's NoSchedule/NoExecute taints keep out pods that do not
tolerate them; PreferNoSchedule taints only lower the node's score (weight 3).

The filter reports the first untolerated taint in the node's order, in
kube-scheduler's words: ``node(s) had untolerated taint {dedicated: gpu}``. The
not-ready and unreachable taints that ``cluster`` adds to a node whose Ready
condition is not True are ordinary taints here, so tolerations apply to them too.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, ClassVar

from gitkube.scheduler import framework

if TYPE_CHECKING:
    from gitkube.scheduler.cluster import ClusterState

_FILTERED_EFFECTS = frozenset({"NoSchedule", "NoExecute"})


def reason(taint: framework.Taint) -> str:
    return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"


class TaintToleration:
    name: ClassVar[str] = "TaintToleration"
    scope: ClassVar[framework.Scope] = framework.Scope.STATIC

    def __init__(self, cluster: ClusterState) -> None:
        self._any = any(node.taints for node in cluster.nodes)

    def relevant(self, pod: framework.PodInfo) -> bool:
        return self._any

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return pod.tolerations

    def filter(
        self, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status | None:
        for taint in node.taints:
            if taint.effect in _FILTERED_EFFECTS and not framework.tolerated(
                pod.tolerations, taint
            ):
                return framework.Status(self.name, (reason(taint),), resolvable=False)
        return None



class PreferNoSchedule:
    """The score half: fewer untolerated PreferNoSchedule taints, higher score.

    Normalised against the most-tainted feasible node, hence CLUSTER scope. With no
    such taint anywhere every node would score 100, so the plugin skips itself.
    """

    name: ClassVar[str] = "TaintToleration"
    scope: ClassVar[framework.Scope] = framework.Scope.CLUSTER
    weight: ClassVar[int] = 3

    def __init__(self, cluster: ClusterState) -> None:
        self._any = any(
            t.effect == "PreferNoSchedule" for node in cluster.nodes for t in node.taints
        )

    def relevant(self, pod: framework.PodInfo) -> bool:
        return self._any

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return pod.tolerations

    def score(self, pod: framework.PodInfo, nodes: Sequence[framework.NodeInfo]) -> list[int]:
        preferred = tuple(t for t in pod.tolerations if t.effect in ("", "PreferNoSchedule"))
        counts = [
            sum(
                1
                for taint in node.taints
                if taint.effect == "PreferNoSchedule"
                and not framework.tolerated(preferred, taint)
            )
            if node.taints
            else 0
            for node in nodes
        ]
        return framework.default_normalize(counts, reverse=True)
