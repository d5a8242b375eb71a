"""Score plugins, one table each, with the numbers kube-scheduler computes.

Each case gives nodes (and pods already on them) and a pod; the expected list is
the plugin's score per node, 0..100, worked out by hand from Kubernetes' formulas.
"""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.scheduler import cluster
from gitkube.scheduler.plugins import noderesources, tainttoleration

from . import builders as b


def scored(plugin_cls: Any, nodes: list[dict[str, Any]], pod: dict[str, Any],
           bound: dict[int, list[dict[str, Any]]] | None = None) -> list[int] | None:
    """The plugin's scores for ``pod`` on each node; None when the plugin skips the pod."""
    infos = [cluster.node_info(b.node(f"n{i}", **kw)) for i, kw in enumerate(nodes)]
    state = cluster.ClusterState.of(infos)
    for index, pods in (bound or {}).items():
        for j, kw in enumerate(pods):
            state.bind_existing(cluster.pod_info(b.pod(f"p{index}-{j}", node_name=f"n{index}",
                                                       **kw)))
    plugin = plugin_cls(state)
    info = cluster.pod_info(b.pod("candidate", **pod))
    if not plugin.relevant(info):
        return None
    result: list[int] = plugin.score(info, state.nodes)
    return result


@pytest.mark.parametrize(
    ("nodes", "pod", "bound", "expected"),
    [
        pytest.param([{"cpu": "4", "memory": "8Gi"}], {"cpu": "1", "memory": "2Gi"}, None, [75],
                     id="quarter-of-both"),
        pytest.param([{"cpu": "4", "memory": "8Gi"}], {"cpu": "3", "memory": "4Gi"}, None, [37],
                     id="cpu-25-memory-50-averaged-down"),
        pytest.param([{"cpu": "4", "memory": "8Gi"}, {"cpu": "8", "memory": "8Gi"}],
                     {"cpu": "2", "memory": "4Gi"}, None, [50, 62], id="bigger-node-wins"),
        pytest.param([{"cpu": "4", "memory": "8Gi"}] * 2, {"cpu": "1", "memory": "2Gi"},
                     {0: [{"cpu": "2", "memory": "2Gi"}]}, [37, 75], id="emptier-node-wins"),
        pytest.param([{"cpu": "1", "memory": "1000Mi"}], {}, None, [85],
                     id="best-effort-counts-100m-200Mi"),
        pytest.param([{"cpu": "1", "memory": "1000Mi"}], {"cpu": "0", "memory": "0"}, None,
                     [100], id="explicit-zero-stays-zero"),
        pytest.param([{"cpu": "1", "memory": "1Gi"}], {"cpu": "2", "memory": "512Mi"}, None,
                     [25], id="over-capacity-scores-zero-for-that-resource"),
        pytest.param([{"cpu": "0", "memory": "8Gi"}], {"cpu": "1", "memory": "2Gi"}, None, [75],
                     id="resource-without-allocatable-left-out"),
    ],
)
def test_least_allocated(nodes: list[dict[str, Any]], pod: dict[str, Any],
                         bound: dict[int, list[dict[str, Any]]] | None,
                         expected: list[int]) -> None:
    assert scored(noderesources.LeastAllocated, nodes, pod, bound) == expected


@pytest.mark.parametrize(
    ("nodes", "pod", "bound", "expected"),
    [
        pytest.param([{"cpu": "4", "memory": "8Gi"}], {"cpu": "1", "memory": "2Gi"}, None, [100],
                     id="same-fraction"),
        # Kubernetes' "nothing scheduled, resources requested, differently sized nodes".
        pytest.param([{"cpu": "4000m", "memory": "10000"}, {"cpu": "6000m", "memory": "10000"}],
                     {"cpu": "3000m", "memory": "5000"}, None, [87, 100],
                     id="differently-sized-nodes"),
        pytest.param([{"cpu": "4", "memory": "8Gi"}], {"cpu": "2", "memory": "2Gi"},
                     {0: [{"cpu": "1", "memory": "4Gi"}]}, [100], id="existing-pods-balance-it"),
        pytest.param([{"cpu": "1", "memory": "8Gi"}], {"cpu": "2", "memory": "1Gi"}, None, [56],
                     id="fraction-capped-at-one"),
        pytest.param([{"cpu": "4", "memory": "8Gi"}], {}, None, None, id="best-effort-skipped"),
    ],
)
def test_balanced_allocation(nodes: list[dict[str, Any]], pod: dict[str, Any],
                             bound: dict[int, list[dict[str, Any]]] | None,
                             expected: list[int] | None) -> None:
    assert scored(noderesources.BalancedAllocation, nodes, pod, bound) == expected


PREFER = "PreferNoSchedule"


@pytest.mark.parametrize(
    ("taints", "tolerations", "expected"),
    [
        pytest.param([[], [("a", "1", PREFER)], [("a", "1", PREFER), ("b", "2", PREFER)]], [],
                     [100, 50, 0], id="more-untolerated-lower-score"),
        pytest.param([[], [("a", "1", PREFER)]],
                     [{"key": "a", "operator": "Equal", "value": "1", "effect": PREFER}],
                     [100, 100], id="tolerated-taint-costs-nothing"),
        pytest.param([[("a", "1", PREFER)], [("a", "1", PREFER)]],
                     [{"key": "a", "operator": "Exists", "effect": "NoSchedule"}], [0, 0],
                     id="equally-tainted-all-score-zero-after-reverse-normalising"),
        pytest.param([[], [("a", "1", PREFER), ("b", "2", "NoSchedule")]],
                     [{"key": "b", "operator": "Exists"}], [100, 0],
                     id="only-prefer-noschedule-counts"),
        pytest.param([[], [("a", "1", "NoSchedule")]], [], None, id="skipped-without-prefer"),
    ],
)
def test_taint_toleration_score(taints: list[list[tuple[str, str, str]]],
                                tolerations: list[dict[str, Any]],
                                expected: list[int] | None) -> None:
    nodes = [{"taints": t} for t in taints]
    pod = {"tolerations": tolerations}
    assert scored(tainttoleration.PreferNoSchedule, nodes, pod) == expected
