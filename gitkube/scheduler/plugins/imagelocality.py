"""ImageLocality (score, weight 1): prefer nodes that already hold the pod's images.

kube-scheduler's formula: each container image present on the node adds its size
scaled by the share of nodes holding it (so an image everywhere does not pull pods
to one node); the sum is clamped between 23 MiB and 1000 MiB per container and
mapped onto 0..100. Image names are compared normalised (``nginx`` is
``nginx:latest``). The answer only depends on the node's images, so it is cached
per node for the pass.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, ClassVar

from gitkube.scheduler import framework

if TYPE_CHECKING:
    from gitkube.scheduler.cluster import ClusterState

MIB = 1024 * 1024
MIN_THRESHOLD = 23 * MIB
MAX_CONTAINER_THRESHOLD = 1000 * MIB


class ImageLocality:
    name: ClassVar[str] = "ImageLocality"
    scope: ClassVar[framework.Scope] = framework.Scope.STATIC
    weight: ClassVar[int] = 1

    def __init__(self, cluster: ClusterState) -> None:
        self._spread = cluster.image_nodes
        self._total = len(cluster.nodes)

    def relevant(self, pod: framework.PodInfo) -> bool:
        return bool(self._spread) and bool(pod.images)

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return pod.images

    def score(self, pod: framework.PodInfo, nodes: Sequence[framework.NodeInfo]) -> list[int]:
        return [self._one(pod, node) for node in nodes]

    def _one(self, pod: framework.PodInfo, node: framework.NodeInfo) -> int:
        total = 0
        for image in pod.images:
            size = node.images.get(image)
            if size is not None:
                total += int(size * (self._spread[image] / self._total))
        return priority(total, len(pod.images))


def priority(total: int, containers: int) -> int:
    """``calculatePriority``: the clamped sum mapped onto 0..100."""
    ceiling = MAX_CONTAINER_THRESHOLD * containers
    total = min(max(total, MIN_THRESHOLD), ceiling)
    return framework.MAX_NODE_SCORE * (total - MIN_THRESHOLD) // (ceiling - MIN_THRESHOLD)
