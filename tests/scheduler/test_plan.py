"""plan_scheduling end to end: which pods bind where, and what a user reads about it."""

from __future__ import annotations

import pytest

from gitkube.clock import FakeClock
from gitkube.planning.actions import Action, ActionKind
from gitkube.scheduler import cycle, plan_scheduling

from . import builders as b


def placements(actions: list[Action]) -> dict[str, str]:
    """pod name → node name, or → the Unschedulable message."""
    return {a.target.name: a.node if a.kind is ActionKind.BIND else a.reason for a in actions}


def test_pods_of_one_pass_see_each_other() -> None:
    snap = b.snapshot(b.node("n1", cpu="2"), *(b.pod(f"p{i}", cpu="1", created=i)
                                                for i in range(3)))
    assert placements(plan_scheduling(snap, FakeClock())) == {
        "p0": "n1", "p1": "n1", "p2": "0/1 nodes are available: 1 Insufficient cpu.",
    }


def test_bind_action_carries_the_bound_pod() -> None:
    clock = FakeClock()
    snap = b.snapshot(b.node("n1", cpu="2", memory="4Gi"), b.pod("web", cpu="350m",
                                                                 memory="384Mi"), revision=7)
    [action] = plan_scheduling(snap, clock)
    assert action.kind is ActionKind.BIND
    assert action.node == "n1"
    assert action.source == "scheduler"
    assert action.expected_revision == 7
    assert action.is_change
    # LeastAllocated (82 + 90) / 2 = 86, BalancedAllocation 95: the mean is 90.
    assert action.reason == "fits n1 (cpu 350m/2, memory 384Mi/4Gi; score 90)"
    assert action.obj is not None
    manifest = action.obj.to_dict()
    assert manifest["spec"]["nodeName"] == "n1"
    assert manifest["status"]["conditions"] == [{
        "type": "PodScheduled", "status": "True", "reason": "Scheduled",
        "message": "Successfully assigned default/web to n1: fits n1 (cpu 350m/2, "
                   "memory 384Mi/4Gi; score 90)",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }]
    stored = snap.objects["/registry/pods/default/web"].obj.to_dict()
    assert "nodeName" not in stored["spec"], "the stored pod must not be changed"


def test_unschedulable_pod_is_reported_once() -> None:
    """The first pass records the condition; later passes with the same verdict are
    status-only, keeping the transition time, so a waiting pod is not a change."""
    clock = FakeClock()
    snap = b.snapshot(b.node("n1", cpu="1"), b.pod("big", cpu="2"))
    [first] = plan_scheduling(snap, clock)
    assert first.kind is ActionKind.UNSCHEDULABLE
    assert first.is_change
    assert first.obj is not None
    condition = first.obj.to_dict()["status"]["conditions"][0]
    assert condition == {
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 Insufficient cpu.",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    clock.advance(60)
    [again] = plan_scheduling(snap.with_actions([first]), clock)
    assert again.kind is ActionKind.UNSCHEDULABLE
    assert not again.is_change
    assert again.obj is not None
    assert again.obj.to_dict()["status"]["conditions"][0] == condition


def test_unschedulable_then_bound_moves_the_transition_time() -> None:
    clock = FakeClock()
    snap = b.snapshot(b.node("n1", cpu="1"), b.pod("big", cpu="2"))
    [first] = plan_scheduling(snap, clock)
    clock.advance(60)
    grown = snap.with_actions([first])
    grown = b.snapshot(b.node("n1", cpu="4"), *[s.obj for k, s in grown.objects.items()
                                                if k.startswith("/registry/pods/")])
    [bind] = plan_scheduling(grown, clock)
    assert bind.kind is ActionKind.BIND
    assert bind.obj is not None
    [condition] = bind.obj.to_dict()["status"]["conditions"]
    assert (condition["status"], condition["reason"], condition["lastTransitionTime"]) == (
        "True", "Scheduled", "2026-01-01T00:01:00Z")
    assert condition["message"].startswith("Successfully assigned default/big to n1: fits n1")


@pytest.mark.parametrize(
    ("pods", "expected_bound"),
    [
        pytest.param([("low", 0, 0), ("high", 100, 5)], "high", id="priority-first"),
        pytest.param([("later", 0, 5), ("earlier", 0, 0)], "earlier", id="then-oldest"),
        pytest.param([("b", 0, 0), ("a", 0, 0)], "a", id="then-by-name"),
        pytest.param([("none", None, 0), ("negative", -5, 0)], "none",
                     id="unset-priority-is-zero"),
    ],
)
def test_queue_order(pods: list[tuple[str, int | None, int]], expected_bound: str) -> None:
    objs = [b.pod(name, cpu="1", priority=prio, created=created) for name, prio, created in pods]
    snap = b.snapshot(b.node("n1", cpu="1"), *objs)
    bound = [a.target.name for a in plan_scheduling(snap, FakeClock())
             if a.kind is ActionKind.BIND]
    assert bound == [expected_bound]


def test_message_counts_every_node_in_kubernetes_order() -> None:
    snap = b.snapshot(
        b.node("n1", cpu="1"),
        b.node("n2", taints=[("dedicated", "gpu", "NoSchedule")]),
        b.node("n3", taints=[("dedicated", "gpu", "NoSchedule")]),
        b.pod("p", cpu="2"),
    )
    [action] = plan_scheduling(snap, FakeClock())
    assert action.reason == (
        "0/3 nodes are available: 1 Insufficient cpu, "
        "2 node(s) had untolerated taint {dedicated: gpu}."
    )


def test_histogram_sorts_as_strings_like_kubernetes() -> None:
    """kube-scheduler sorts "<count> <reason>" as strings, so "10 ..." precedes "2 ..."."""
    nodes = [b.node(f"small-{i:02d}", cpu="1") for i in range(10)]
    nodes += [b.node(f"cordoned-{i}", unschedulable=True) for i in range(2)]
    snap = b.snapshot(*nodes, b.pod("p", cpu="2"))
    [action] = plan_scheduling(snap, FakeClock())
    assert action.reason == (
        "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) were unschedulable."
    )


def test_several_short_resources_on_one_node_are_all_counted() -> None:
    snap = b.snapshot(b.node("n1", cpu="1", memory="1Gi"), b.pod("p", cpu="2", memory="2Gi"))
    [action] = plan_scheduling(snap, FakeClock())
    assert action.reason == (
        "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."
    )


def test_no_nodes() -> None:
    [action] = plan_scheduling(b.snapshot(b.pod("p")), FakeClock())
    assert action.reason == "no nodes available to schedule pods"


def test_only_pending_pods_are_planned() -> None:
    snap = b.snapshot(
        b.node("n1", cpu="2"),
        b.pod("running", cpu="1", node_name="n1", phase="Running"),
        b.pod("done", cpu="1", node_name="n1", phase="Succeeded"),
        b.pod("failed-unbound", cpu="1", phase="Failed"),
        b.pod("new", cpu="1"),
    )
    assert placements(plan_scheduling(snap, FakeClock())) == {"new": "n1"}


def test_pod_being_deleted_is_not_scheduled() -> None:
    doomed = b.pod("doomed")
    doomed.metadata.deletion_timestamp = "2026-01-01T00:00:00Z"
    assert plan_scheduling(b.snapshot(b.node("n1"), doomed), FakeClock()) == []


def test_least_allocated_spreads_pods() -> None:
    snap = b.snapshot(b.node("n1"), b.node("n2"), b.node("n3"),
                      *(b.pod(f"p{i}", cpu="1", memory="1Gi", created=i) for i in range(3)))
    assert sorted(placements(plan_scheduling(snap, FakeClock())).values()) == ["n1", "n2", "n3"]


def test_prefer_no_schedule_taint_is_avoided() -> None:
    snap = b.snapshot(b.node("a-spot", taints=[("spot", "true", "PreferNoSchedule")]),
                      b.node("b-plain", cpu="2"), b.pod("p", cpu="1"))
    assert placements(plan_scheduling(snap, FakeClock())) == {"p": "b-plain"}


def test_selector_and_toleration_steer_pods() -> None:
    snap = b.snapshot(
        b.node("gpu", labels={"accel": "gpu"}, taints=[("dedicated", "gpu", "NoSchedule")]),
        b.node("plain"),
        b.pod("trainer", node_selector={"accel": "gpu"},
              tolerations=[{"key": "dedicated", "operator": "Exists"}]),
        b.pod("web"),
    )
    assert placements(plan_scheduling(snap, FakeClock())) == {"trainer": "gpu", "web": "plain"}


def test_host_ports_within_one_pass() -> None:
    snap = b.snapshot(b.node("n1"), b.node("n2"),
                      *(b.pod(f"dns-{i}", host_ports=[53], created=i) for i in range(3)))
    result = placements(plan_scheduling(snap, FakeClock()))
    assert {result["dns-0"], result["dns-1"]} == {"n1", "n2"}
    assert result["dns-2"] == (
        "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports."
    )


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_same_snapshot_and_seed_give_the_same_plan(seed: int) -> None:
    nodes = [b.node(f"n{i}") for i in range(20)]
    pods = [b.pod(f"p{i}", cpu="100m", created=i % 3) for i in range(60)]
    snap = b.snapshot(*nodes, *pods)
    first = [a.to_dict() for a in plan_scheduling(snap, FakeClock(), seed=seed)]
    again = [a.to_dict() for a in plan_scheduling(snap, FakeClock(), seed=seed)]
    assert first == again
    assert len({a["node"] for a in first}) == 20, "identical nodes share the load"


@pytest.mark.parametrize(
    ("nodes", "percentage", "expected"),
    [
        pytest.param(50, 0, 50, id="small-cluster-every-node"),
        pytest.param(100, 0, 100, id="hundred"),
        pytest.param(1000, 0, 420, id="adaptive-42-percent"),
        pytest.param(5000, 0, 500, id="adaptive-10-percent"),
        pytest.param(10000, 0, 500, id="floor-5-percent"),
        pytest.param(200, 10, 100, id="never-fewer-than-100"),
        pytest.param(1000, 100, 1000, id="explicit-100-percent"),
    ],
)
def test_num_feasible_nodes_to_find(nodes: int, percentage: int, expected: int) -> None:
    assert cycle.num_feasible_nodes_to_find(nodes, percentage) == expected


def test_large_cluster_scores_a_window_and_moves_on() -> None:
    """With 300 nodes only 144 feasible ones (48 %) are scored per pod (kube-scheduler's
    percentageOfNodesToScore), and the next pod starts where the last one stopped."""
    nodes = [b.node(f"n{i:03d}") for i in range(300)]
    pods = [b.pod(f"p{i}", cpu="1", created=i) for i in range(2)]
    result = placements(plan_scheduling(b.snapshot(*nodes, *pods), FakeClock()))
    assert 0 <= int(result["p0"][1:]) < 144 <= int(result["p1"][1:]) < 288


def test_repeated_verdict_is_the_stored_pod_unchanged() -> None:
    """Other conditions keep their place, so the runner sees nothing new to write."""
    from gitkube.api import core

    waiting = b.pod("big", cpu="2")
    waiting.status.conditions = [
        core.PodCondition(type="PodScheduled", status="False", reason="Unschedulable",
                          message="0/1 nodes are available: 1 Insufficient cpu.",
                          last_transition_time="2025-12-31T00:00:00Z"),
        core.PodCondition(type="Ready", status="False"),
    ]
    snap = b.snapshot(b.node("n1", cpu="1"), waiting)
    [action] = plan_scheduling(snap, FakeClock())
    assert action.status_only
    assert action.obj is not None
    assert action.obj.to_dict() == waiting.to_dict()


def test_a_pass_with_an_unschedulable_pod_settles() -> None:
    from gitkube.reconcile import fixpoint

    snap = b.snapshot(b.node("n1", cpu="1"), b.pod("big", cpu="2"), b.pod("small", cpu="1"))
    actions = fixpoint.plan_pass(snap, FakeClock())
    assert not any("without settling" in a.reason for a in actions)
    kinds = {(a.kind, a.target.name) for a in actions if a.source == "scheduler"}
    assert kinds == {(ActionKind.BIND, "small"), (ActionKind.UNSCHEDULABLE, "big")}


def test_many_unlike_pods_are_accounted_exactly() -> None:
    """More distinct pod shapes than the scheduler keeps memos for (cycle.MAX_MEMOS)."""
    count = cycle.MAX_MEMOS + 30
    pods = [b.pod(f"p{i:03d}", cpu=f"{50 + 7 * i}m", created=i) for i in range(count)]
    snap = b.snapshot(b.node("n1", cpu="4"), b.node("n2", cpu="3"), *pods)
    actions = plan_scheduling(snap, FakeClock())
    want = {f"p{i:03d}": 50 + 7 * i for i in range(count)}
    used = {"n1": 0, "n2": 0}
    for a in actions:
        if a.kind is ActionKind.BIND:
            used[a.node or ""] += want[a.target.name]
    assert used["n1"] <= 4000 and used["n2"] <= 3000
    free = max(4000 - used["n1"], 3000 - used["n2"])
    unplaced = [want[a.target.name] for a in actions if a.kind is ActionKind.UNSCHEDULABLE]
    assert unplaced, "the cluster is too small for all of them"
    assert all(cpu > free for cpu in unplaced)
