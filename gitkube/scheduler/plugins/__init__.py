"""The scheduler's plugins, one module each, and the profile that orders them.

``DEFAULT.filters`` run in kube-scheduler's default profile order (the cheap,
static checks first); ``DEFAULT.scores`` carry their Kubernetes weights on the
class. Adding a plugin is writing its module and naming its class here: the
framework caches its answers by its ``scope`` and ``signature``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitkube.scheduler.plugins import (
    nodeaffinity,
    nodename,
    nodeports,
    noderesources,
    nodeunschedulable,
    tainttoleration,
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
    ),
    scores=(
        tainttoleration.PreferNoSchedule,
        noderesources.LeastAllocated,
        noderesources.BalancedAllocation,
    ),
)
