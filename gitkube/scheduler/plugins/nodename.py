"""NodeName: a pod that names its node (``spec.nodeName``) fits only that node.

The planner never places such a pod (it is already bound), but ``explain`` runs
every filter, and a pod bound to a node that cannot take it should say so.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, ClassVar

from gitkube.scheduler import framework

if TYPE_CHECKING:
    from gitkube.scheduler.cluster import ClusterState

REASON = "node(s) didn't match the requested node name"

_REJECTED = framework.Status("NodeName", (REASON,), resolvable=False)


class NodeName:
    name: ClassVar[str] = "NodeName"
    scope: ClassVar[framework.Scope] = framework.Scope.STATIC

    def __init__(self, cluster: ClusterState) -> None:
        pass

    def relevant(self, pod: framework.PodInfo) -> bool:
        return bool(pod.node_name)

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return pod.node_name

    def filter(
        self, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status | None:
        if not pod.node_name or pod.node_name == node.name:
            return None
        return _REJECTED
