"""The scheduler's plugins, one module each, and the profile that orders them.

``DEFAULT.filters`` run in kube-scheduler's default profile order (the cheap,
static checks first); ``DEFAULT.scores`` carry their Kubernetes weights on the
class: TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1, PodTopologySpread 2,
InterPodAffinity 2, NodeResourcesBalancedAllocation 1, ImageLocality 1. Adding a
plugin is writing its module and naming its class here: the framework caches its
answers by its ``scope`` and ``signature``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitkube.scheduler.plugins import (
    imagelocality,
    interpodaffinity,
    nodeaffinity,
    nodename,
    nodeports,
    noderesources,
    nodeunschedulable,
    podtopologyspread,
    tainttoleration,
    volumebinding,
)

if TYPE_CHECKING:
    from gitkube.scheduler import framework
    from gitkube.scheduler.cluster import ClusterState


@dataclass(frozen=True)
class Profile:
    filters: Sequence[Callable[[ClusterState], framework.FilterPlugin]]
    scores: Sequence[Callable[[ClusterState], framework.ScorePlugin]]


DEFAULT = Profile(
    filters=(
        nodeunschedulable.NodeUnschedulable,
        nodename.NodeName,
        tainttoleration.TaintToleration,
        nodeaffinity.NodeAffinity,
        nodeports.NodePorts,
        noderesources.Fit,
        volumebinding.VolumeBinding,
        podtopologyspread.PodTopologySpread,
        interpodaffinity.InterPodAffinity,
    ),
    scores=(
        tainttoleration.PreferNoSchedule,
        nodeaffinity.PreferredNodeAffinity,
        noderesources.LeastAllocated,
        podtopologyspread.SpreadScore,
        interpodaffinity.PreferredInterPodAffinity,
        noderesources.BalancedAllocation,
        imagelocality.ImageLocality,
    ),
)
