"""VolumeBinding: a pod with PersistentVolumeClaims goes where its volumes are or can be made.

kube-scheduler's VolumeBinding (and VolumeRestrictions' ReadWriteOncePod check) on the
pass's ``volumes.VolumeIndex``. PreFilter: a missing or deleted claim, a claim bound to
a volume that is gone, an unbound Immediate claim or a ReadWriteOncePod claim another pod
uses keeps the pod off every node, with kube-scheduler's sentence ("0/3 nodes are
available: persistentvolumeclaim "data" not found."). Filter: a bound claim's volume
node affinity must match the node ("node(s) had volume node affinity conflict"); an
unbound local-path claim may go to any node its class allows, and the first pod placed
chooses it (the scheduler then annotates the claim for the provisioner); a claim nothing
provisions matches no node ("node(s) didn't find available persistent volumes to bind").
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, ClassVar

from gitkube.scheduler import framework

if TYPE_CHECKING:
    from gitkube.scheduler.cluster import ClusterState


class VolumeBinding:
    name: ClassVar[str] = "VolumeBinding"
    scope: ClassVar[framework.Scope] = framework.Scope.STATIC

    def __init__(self, cluster: ClusterState) -> None:
        self._index = cluster.volumes

    def relevant(self, pod: framework.PodInfo) -> bool:
        return bool(pod.claims)

    def signature(self, pod: framework.PodInfo) -> Hashable:
        # The claims' constraints as they stand now: a claim's first pod changes them.
        return self._index.constraints(pod.namespace, pod.claims)

    def prefilter(self, pod: framework.PodInfo) -> str:
        return self._index.prefilter(pod.namespace, pod.claims, pod.key)

    def filter(
        self, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status | None:
        reasons = sorted({c.reason for c in self._index.constraints(pod.namespace, pod.claims)
                          if not c.allows(node.labels, node.name)})
        if not reasons:
            return None
        return framework.Status(self.name, tuple(reasons), resolvable=False)
