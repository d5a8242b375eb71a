"""Topology spread constraints, image locality and priorities, as tables.

Spreading cases follow the Kubernetes documentation ("Pod Topology Spread
Constraints": the zoneA/zoneB examples, minDomains, nodeAffinityPolicy) and
kube-scheduler's formulas for the ScheduleAnyway score and ImageLocality.
"""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.clock import FakeClock
from gitkube.planning.actions import ActionKind
from gitkube.scheduler import cluster, explain, plan_scheduling
from gitkube.scheduler.plugins import imagelocality, podtopologyspread

from . import builders as b

SKEW = "node(s) didn't match pod topology spread constraints"
MISSING = SKEW + " (missing required label)"
HOST = "kubernetes.io/hostname"
FOO = {"foo": "bar"}


def spread(key: str = "zone", max_skew: int = 1, when: str = "DoNotSchedule",
           **extra: Any) -> dict[str, Any]:
    return {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": FOO}, **extra}


# The documentation's cluster: node1, node2 in zoneA; node3, node4 in zoneB.
DOC_NODES = {"node1": "zoneA", "node2": "zoneA", "node3": "zoneB", "node4": "zoneB"}


def doc_cluster(placed: dict[str, int], **node_kwargs: Any) -> list[Any]:
    nodes = [b.node(name, labels={"zone": zone, "node": name, HOST: name}, **node_kwargs)
             for name, zone in DOC_NODES.items()]
    pods = [b.pod(f"{node}-{i}", labels=FOO, node_name=node, phase="Running")
            for node, count in placed.items() for i in range(count)]
    return [*nodes, *pods]


def verdicts(objects: list[Any], candidate: Any) -> dict[str, list[str]]:
    return {name: reasons for name, _, reasons in explain(b.snapshot(*objects), candidate)}


@pytest.mark.parametrize(
    ("placed", "constraints", "candidate_kwargs", "expected"),
    [
        # "one-constraint": 3 pods in zoneA (2+1), 0... here zoneA 2, zoneB 1: only zoneB.
        pytest.param({"node1": 1, "node2": 1, "node3": 1}, [spread()], {},
                     {"node1": [SKEW], "node2": [SKEW], "node3": [], "node4": []},
                     id="doc-one-constraint"),
        pytest.param({"node1": 1, "node2": 1, "node3": 1}, [spread(max_skew=2)], {},
                     {"node1": [], "node2": [], "node3": [], "node4": []},
                     id="max-skew-2-allows-zoneA"),
        # "two-constraints": zone and node; zoneB and then the node with fewer.
        pytest.param({"node1": 2, "node2": 1, "node3": 1}, [spread(), spread("node")], {},
                     {"node1": [SKEW], "node2": [SKEW], "node3": [SKEW], "node4": []},
                     id="doc-two-constraints"),
        pytest.param({"node1": 1}, [spread()], {"labels": {"other": "x"}},
                     {n: [] for n in DOC_NODES}, id="pod-not-matching-its-selector-counts-0"),
        pytest.param({"node1": 1}, [spread("rack")], {},
                     {n: [MISSING] for n in DOC_NODES}, id="missing-topology-key"),
        # minDomains 3 with only two zones: the global minimum counts as 0.
        pytest.param({"node1": 1, "node3": 1}, [spread(minDomains=3)], {},
                     {n: [SKEW] for n in DOC_NODES}, id="min-domains-above-the-domains"),
        pytest.param({"node1": 1, "node3": 1}, [spread(minDomains=2)], {},
                     {n: [] for n in DOC_NODES}, id="min-domains-met"),
        # "one-constraint-with-nodeaffinity": zoneB excluded by affinity, so zoneA's count is
        # compared with itself only (nodeAffinityPolicy Honor is the default).
        pytest.param({"node1": 2, "node3": 0}, [spread()],
                     {"affinity": {"nodeAffinity": {
                         "requiredDuringSchedulingIgnoredDuringExecution": {
                             "nodeSelectorTerms": [{"matchExpressions": [
                                 {"key": "zone", "operator": "NotIn",
                                  "values": ["zoneB"]}]}]}}}},
                     {"node1": [], "node2": [],
                      "node3": ["node(s) didn't match Pod's node affinity/selector"],
                      "node4": ["node(s) didn't match Pod's node affinity/selector"]},
                     id="doc-node-affinity-honored"),
        pytest.param({"node1": 2}, [spread(nodeAffinityPolicy="Ignore")],
                     {"node_selector": {"zone": "zoneA"}},
                     {"node1": [SKEW], "node2": [SKEW],
                      "node3": ["node(s) didn't match Pod's node affinity/selector"],
                      "node4": ["node(s) didn't match Pod's node affinity/selector"]},
                     id="node-affinity-ignored-counts-zoneB"),
    ],
)
def test_do_not_schedule(placed: dict[str, int], constraints: list[dict[str, Any]],
                         candidate_kwargs: dict[str, Any],
                         expected: dict[str, list[str]]) -> None:
    kwargs = {"labels": FOO, **candidate_kwargs}
    candidate = b.pod("mypod", spread=constraints, **kwargs)
    assert verdicts(doc_cluster(placed), candidate) == expected


def test_taints_policy_honor_leaves_tainted_domains_out() -> None:
    objects = doc_cluster({"node1": 1, "node2": 1})
    objects[2] = b.node("node3", labels={"zone": "zoneB", HOST: "node3"},
                        taints=[("gpu", "yes", "NoSchedule")])
    objects[3] = b.node("node4", labels={"zone": "zoneB", HOST: "node4"},
                        taints=[("gpu", "yes", "NoSchedule")])
    ignored = b.pod("p", labels=FOO, spread=[spread()])
    honored = b.pod("p", labels=FOO, spread=[spread(nodeTaintsPolicy="Honor")])
    # Ignore (the default): zoneB counts with 0 pods, so zoneA is 2 above the minimum.
    assert verdicts(objects, ignored)["node1"] == [SKEW]
    assert verdicts(objects, honored)["node1"] == []


def test_a_pass_never_exceeds_max_skew() -> None:
    nodes = [b.node(f"n{i}", labels={"zone": "abc"[i % 3], HOST: f"n{i}"}) for i in range(6)]
    pods = [b.pod(f"p{i:02d}", labels=FOO, spread=[spread()], created=i) for i in range(10)]
    actions = plan_scheduling(b.snapshot(*nodes, *pods), FakeClock())
    zones = [{"n0": "a", "n3": "a", "n1": "b", "n4": "b", "n2": "c", "n5": "c"}[a.node or ""]
             for a in actions if a.kind is ActionKind.BIND]
    assert len(zones) == 10
    counts = [zones.count(z) for z in "abc"]
    assert max(counts) - min(counts) <= 1


def spread_scores(labels: list[dict[str, str]], placed: dict[int, int], pod: Any,
                  *objects: Any) -> list[int] | None:
    nodes = [b.node(f"n{i}", labels={HOST: f"n{i}", **kw}) for i, kw in enumerate(labels)]
    bound = [b.pod(f"x{i}-{j}", labels=FOO, node_name=f"n{i}")
             for i, count in placed.items() for j in range(count)]
    snap = b.snapshot(*nodes, *bound, *objects)
    state = cluster.build(snap)
    plugin = podtopologyspread.SpreadScore(state)
    info = cluster.pod_info(pod, cluster.PodContext.of(snap))
    if not plugin.relevant(info):
        return None
    result: list[int] = plugin.score(info, state.nodes)
    return result


@pytest.mark.parametrize(
    ("labels", "placed", "pod_kwargs", "objects", "expected"),
    [
        # zone a holds 2, b holds 0: raw = 2*log(4)+0 = 3 and 0 → b scores 100, a 0.
        pytest.param([{"zone": "a"}, {"zone": "b"}], {0: 2},
                     {"spread": [spread(when="ScheduleAnyway")]}, (), [0, 100],
                     id="schedule-anyway-prefers-the-emptier-zone"),
        pytest.param([{"zone": "a"}, {}], {},
                     {"spread": [spread(when="ScheduleAnyway")]}, (), [100, 0],
                     id="node-without-the-key-scores-0"),
        pytest.param([{"zone": "a"}, {"zone": "b"}], {0: 1}, {"spread": [spread()]}, (), None,
                     id="only-do-not-schedule-constraints-skip"),
        # No constraints, but a ReplicaSet selects the pod: hostname maxSkew 3 and zone
        # maxSkew 5. n0 has 1 matching pod: host 1*log(4)+2 = 3.39, zone part 0 (no zone
        # label on any node) -> 3 and 2 -> 100*(3+2-3)//3 = 66, 100*(3+2-2)//3 = 100.
        pytest.param([{}, {}], {0: 1}, {"owner": "rs"}, (b.replica_set("rs", FOO),), [66, 100],
                     id="default-spreading-by-hostname-for-replicaset-pods"),
        pytest.param([{}, {}], {0: 1}, {}, (), None, id="no-replicaset-no-default-spreading"),
    ],
)
def test_schedule_anyway_score(labels: list[dict[str, str]], placed: dict[int, int],
                               pod_kwargs: dict[str, Any], objects: tuple[Any, ...],
                               expected: list[int] | None) -> None:
    pod = b.pod("candidate", labels=FOO, **pod_kwargs)
    assert spread_scores(labels, placed, pod, *objects) == expected


MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("images", "pod_image", "expected"),
    [
        # 300 MiB on 1 of 2 nodes: 150 MiB scaled; (150-23)/(1000-23) of 100 = 12.
        pytest.param([{"app:1": 300 * MIB}, {}], "app:1", [12, 0], id="image-on-one-node"),
        # On both nodes: the full 300 MiB counts: (300-23)*100//977 = 28.
        pytest.param([{"app:1": 300 * MIB}, {"app:1": 300 * MIB}], "app:1", [28, 28],
                     id="image-everywhere"),
        pytest.param([{"app:1": 10 * MIB}, {}], "app:1", [0, 0], id="below-23-mib-is-0"),
        pytest.param([{"nginx:latest": 200 * MIB}, {}], "nginx", [7, 0],
                     id="untagged-means-latest"),
    ],
)
def test_image_locality(images: list[dict[str, int]], pod_image: str,
                        expected: list[int]) -> None:
    infos = [cluster.node_info(b.node(f"n{i}", images=kw)) for i, kw in enumerate(images)]
    state = cluster.ClusterState.of(infos)
    plugin = imagelocality.ImageLocality(state)
    info = cluster.pod_info(b.pod("c", image=pod_image))
    assert plugin.relevant(info)
    assert plugin.score(info, state.nodes) == expected


@pytest.mark.parametrize(
    ("pods", "classes", "first"),
    [
        pytest.param([("low", None, None), ("high", "critical", None)],
                     [("critical", 1000, False)], "high", id="class-value-first"),
        pytest.param([("plain", None, None), ("urgent", None, 5)],
                     [("everyone", 10, True)], "plain", id="global-default-applies"),
        pytest.param([("plain", None, None), ("node", "system-node-critical", None)],
                     [], "node", id="builtin-system-class"),
    ],
)
def test_priority_orders_the_queue(pods: list[tuple[str, str | None, int | None]],
                                   classes: list[tuple[str, int, bool]], first: str) -> None:
    """One node with room for one pod: the highest priority gets it."""
    objects: list[Any] = [b.node("n1", cpu="1")]
    objects += [b.priority_class(n, v, global_default=g) for n, v, g in classes]
    objects += [b.pod(name, cpu="1", priority_class=cls, priority=prio, created=i)
                for i, (name, cls, prio) in enumerate(pods)]
    actions = plan_scheduling(b.snapshot(*objects), FakeClock())
    [bound] = [a for a in actions if a.kind is ActionKind.BIND]
    assert bound.target.name == first


def test_unknown_priority_class_is_refused_with_a_reason() -> None:
    snap = b.snapshot(b.node("n1"), b.pod("web", priority_class="gold"))
    [action] = plan_scheduling(snap, FakeClock())
    assert action.kind is ActionKind.UNSCHEDULABLE
    assert action.reason == ("no PriorityClass with name gold was found; declare it in Git "
                             "(apiVersion scheduling.k8s.io/v1) or fix spec.priorityClassName")
    assert action.obj is not None
    condition = action.obj.to_dict()["status"]["conditions"][0]
    assert condition["message"] == action.reason
