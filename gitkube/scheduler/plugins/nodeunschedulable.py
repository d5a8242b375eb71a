"""NodeUnschedulable: a cordoned node (``spec.unschedulable``) takes no new pods.

A pod that tolerates the ``node.kubernetes.io/unschedulable:NoSchedule`` taint
(DaemonSet pods do) is let through, as kube-scheduler does.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, ClassVar

from gitkube.scheduler import framework

if TYPE_CHECKING:
    from gitkube.scheduler.cluster import ClusterState

TAINT_KEY = "node.kubernetes.io/unschedulable"
REASON = "node(s) were unschedulable"

_TAINT = framework.Taint(TAINT_KEY, "", "NoSchedule")
_REJECTED = framework.Status("NodeUnschedulable", (REASON,), resolvable=False)


class NodeUnschedulable:
    name: ClassVar[str] = "NodeUnschedulable"
    scope: ClassVar[framework.Scope] = framework.Scope.STATIC

    def __init__(self, cluster: ClusterState) -> None:
        self._any = any(node.unschedulable for node in cluster.nodes)

    def relevant(self, pod: framework.PodInfo) -> bool:
        return self._any

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return framework.tolerated(pod.tolerations, _TAINT)

    def filter(
        self, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status | None:
        if not node.unschedulable or framework.tolerated(pod.tolerations, _TAINT):
            return None
        return _REJECTED
