"""NodeResources: does the pod's request fit what is left, and how full would the node be.

- ``Fit`` (filter): pods, cpu, memory and every extended resource the pod asks for,
  against allocatable minus what the node's pods already request
  ("Insufficient cpu", "Insufficient memory", "Too many pods", "Insufficient <name>").
- ``LeastAllocated`` (score, weight 1): the free share of cpu and memory after the pod,
  averaged with equal weights. It counts requests with kube-scheduler's non-zero
  defaults (100m, 200Mi), so pods that request nothing still spread.
- ``BalancedAllocation`` (score, weight 1): 100 * (1 - standard deviation of the
  cpu and memory fractions), on real requests; skipped for pods requesting neither.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, ClassVar

from gitkube.scheduler import framework

if TYPE_CHECKING:
    from gitkube.scheduler.cluster import ClusterState

MAX = framework.MAX_NODE_SCORE


class Fit:
    name: ClassVar[str] = "NodeResourcesFit"
    scope: ClassVar[framework.Scope] = framework.Scope.NODE

    def __init__(self, cluster: ClusterState) -> None:
        self._statuses: dict[tuple[str, ...], framework.Status] = {}

    def relevant(self, pod: framework.PodInfo) -> bool:
        return True

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return (pod.req_cpu, pod.req_mem, tuple(sorted(pod.req_scalar.items())))

    def filter(
        self, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status | None:
        cpu = pod.req_cpu
        memory = pod.req_mem
        if (
            len(node.pods) < node.alloc_pods
            and (cpu == 0 or cpu <= node.alloc_cpu - node.req_cpu)
            and (memory == 0 or memory <= node.alloc_mem - node.req_mem)
            and not pod.req_scalar
        ):
            return None
        reasons = insufficient(pod, node)
        if not reasons:
            return None
        status = self._statuses.get(reasons)
        if status is None:
            status = self._statuses[reasons] = framework.Status(self.name, reasons)
        return status


def insufficient(pod: framework.PodInfo, node: framework.NodeInfo) -> tuple[str, ...]:
    """``fitsRequest``: every resource short on the node, in kube-scheduler's order."""
    reasons: list[str] = []
    if len(node.pods) + 1 > node.alloc_pods:
        reasons.append("Too many pods")
    if pod.req_cpu > 0 and pod.req_cpu > node.alloc_cpu - node.req_cpu:
        reasons.append("Insufficient cpu")
    if pod.req_mem > 0 and pod.req_mem > node.alloc_mem - node.req_mem:
        reasons.append("Insufficient memory")
    for name in sorted(pod.req_scalar):
        amount = pod.req_scalar[name]
        free = node.alloc_scalar.get(name, 0) - node.req_scalar.get(name, 0)
        if amount > 0 and amount > free:
            reasons.append(f"Insufficient {name}")
    return tuple(reasons)


class LeastAllocated:
    name: ClassVar[str] = "NodeResourcesFit"
    scope: ClassVar[framework.Scope] = framework.Scope.NODE
    weight: ClassVar[int] = 1

    def __init__(self, cluster: ClusterState) -> None:
        pass

    def relevant(self, pod: framework.PodInfo) -> bool:
        return True

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return (pod.nz_cpu, pod.nz_mem)

    def score(self, pod: framework.PodInfo, nodes: Sequence[framework.NodeInfo]) -> list[int]:
        pod_cpu = pod.nz_cpu
        pod_mem = pod.nz_mem
        scores: list[int] = []
        append = scores.append
        for node in nodes:
            cpu = node.alloc_cpu
            memory = node.alloc_mem
            if cpu and memory:
                used_cpu = node.nz_cpu + pod_cpu
                used_mem = node.nz_mem + pod_mem
                append(
                    (
                        ((cpu - used_cpu) * MAX // cpu if used_cpu <= cpu else 0)
                        + ((memory - used_mem) * MAX // memory if used_mem <= memory else 0)
                    )
                    // 2
                )
            elif cpu:
                used_cpu = node.nz_cpu + pod_cpu
                append((cpu - used_cpu) * MAX // cpu if used_cpu <= cpu else 0)
            elif memory:
                used_mem = node.nz_mem + pod_mem
                append((memory - used_mem) * MAX // memory if used_mem <= memory else 0)
            else:
                append(0)
        return scores


class BalancedAllocation:
    name: ClassVar[str] = "NodeResourcesBalancedAllocation"
    scope: ClassVar[framework.Scope] = framework.Scope.NODE
    weight: ClassVar[int] = 1

    def __init__(self, cluster: ClusterState) -> None:
        pass

    def relevant(self, pod: framework.PodInfo) -> bool:
        return pod.req_cpu != 0 or pod.req_mem != 0

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return (pod.req_cpu, pod.req_mem)

    def score(self, pod: framework.PodInfo, nodes: Sequence[framework.NodeInfo]) -> list[int]:
        pod_cpu = pod.req_cpu
        pod_mem = pod.req_mem
        scores: list[int] = []
        append = scores.append
        for node in nodes:
            cpu = node.alloc_cpu
            memory = node.alloc_mem
            if cpu and memory:
                cpu_fraction = min((node.req_cpu + pod_cpu) / cpu, 1.0)
                mem_fraction = min((node.req_mem + pod_mem) / memory, 1.0)
                append(int((1 - abs((cpu_fraction - mem_fraction) / 2)) * MAX))
            else:  # one fraction or none: the deviation is zero
                append(MAX)
        return scores
