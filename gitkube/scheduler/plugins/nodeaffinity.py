"""NodeAffinity: the pod's ``nodeSelector`` labels must all be on the node.

kube-scheduler checks ``nodeSelector`` and required node affinity in this one
plugin with one message. Required affinity terms come with a later issue: they
belong in ``filter`` below, after the selector, and in ``signature``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, ClassVar

from gitkube.scheduler import framework

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
        return bool(pod.node_selector)

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return tuple(sorted(pod.node_selector.items()))

    def filter(
        self, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status | None:
        labels = node.labels
        for key, value in pod.node_selector.items():
            if labels.get(key) != value:
                return _REJECTED
        return None
