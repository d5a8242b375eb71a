"""Preemption (DefaultPreemption): which node, which victims, who waits, and passes of a cluster."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from gitkube import clock as clocks
from gitkube.api import apps, core, scheduling
from gitkube.api import node as node_api
from gitkube.api.meta import ObjectMeta
from gitkube.clock import FakeClock
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot, Stored
from gitkube.reconcile import events, fixpoint
from gitkube.scheduler import cluster, cycle, explain, plan_scheduling, preemption
from tests.controllers import factories

from . import builders as b

CRITICAL = "default/critical-x"


def started(pod: core.Pod, seconds: int) -> core.Pod:
    """``pod`` running since ``seconds`` after builders.START."""
    at = clocks.format_time(b.START + dt.timedelta(seconds=seconds))
    return pod.model_copy(update={"status": pod.status.model_copy(
        update={"phase": "Running", "start_time": at})})


def running(name: str, node: str, *, priority: int = 0, cpu: str = "1", start: int = 0,
            **kw: Any) -> core.Pod:
    return started(b.pod(name, node_name=node, priority=priority, cpu=cpu, **kw), start)


def preempted(pod: core.Pod) -> core.Pod:
    """``pod`` as a previous pass left it after preempting it."""
    data = pod.to_dict()
    data["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    data["status"]["conditions"] = [{"type": "DisruptionTarget", "status": "True",
                                     "reason": "PreemptionByScheduler"}]
    return core.Pod.model_validate(data)


def nominated(pod: core.Pod, node: str) -> core.Pod:
    return pod.model_copy(update={"status": pod.status.model_copy(
        update={"nominated_node_name": node})})


def victims(actions: list[Action]) -> dict[str, str]:
    """victim name → the reason of its eviction."""
    return {a.target.name: a.reason for a in actions if a.kind is ActionKind.UPDATE}


def verdict(actions: list[Action], name: str) -> Action:
    return next(a for a in actions if a.target.name == name and a.kind is not ActionKind.UPDATE)


def waiting_for(actions: list[Action], name: str) -> str | None:
    """The node ``name`` is nominated to (None when it is not)."""
    action = verdict(actions, name)
    assert isinstance(action.obj, core.Pod)
    return action.obj.status.nominated_node_name


# -- which node (pickOneNodeForPreemption) ---------------------------------------------------


@pytest.mark.parametrize(
    ("on_nodes", "wanted_cpu", "node", "evicted"),
    [
        pytest.param({"n1": [("a", 5, 0)], "n2": [("b", 1, 0)]}, "2", "n2", {"b"},
                     id="lowest-highest-victim-priority"),
        pytest.param({"n1": [("a", 3, 0), ("b", 3, 0)], "n2": [("c", 3, 0), ("d", 1, 0)]}, "2",
                     "n2", {"c", "d"}, id="smallest-sum-of-priorities"),
        pytest.param({"n1": [("a", 0, 0), ("b", 0, 0)], "n2": [("c", 0, 0)]}, "2", "n2", {"c"},
                     id="fewest-victims"),
        pytest.param({"n1": [("a", -10, 0), ("b", -10, 0)], "n2": [("c", -10, 0)]}, "2", "n2",
                     {"c"}, id="negative-priorities-sum-with-offset"),
        pytest.param({"n1": [("a", 0, 10)], "n2": [("b", 0, 100)]}, "2", "n2", {"b"},
                     id="latest-start-of-highest-priority-victims"),
        pytest.param({"n1": [("a", 0, 10), ("b", 4, 500)], "n2": [("c", 0, 100), ("d", 4, 5)]},
                     "2", "n1", {"a", "b"}, id="start-of-highest-priority-victims-only"),
        pytest.param({"n1": [("a", 0, 10)], "n2": [("b", 0, 10)]}, "2", "n1", {"a"},
                     id="tie-first-by-name"),
    ],
)
def test_the_node_with_the_cheapest_victims_is_chosen(
    on_nodes: dict[str, list[tuple[str, int, int]]], wanted_cpu: str, node: str,
    evicted: set[str],
) -> None:
    """Each node holds pods (name, priority, started at) that fill its 2 cpus."""
    pods = [running(name, where, priority=priority, start=start,
                    cpu=f"{2000 // len(pods)}m")
            for where, pods in on_nodes.items() for name, priority, start in pods]
    snap = b.snapshot(b.node("n1", cpu="2"), b.node("n2", cpu="2"), *pods,
                      b.pod("critical-x", cpu=wanted_cpu, priority=1000, created=600))
    actions = plan_scheduling(snap, FakeClock(b.START + dt.timedelta(seconds=900)))
    assert victims(actions) == dict.fromkeys(evicted, f"Preempted by {CRITICAL} on node {node}")
    assert waiting_for(actions, "critical-x") == node


# -- which victims (SelectVictimsOnNode) ------------------------------------------------------


@pytest.mark.parametrize(
    ("on_node", "wanted_cpu", "evicted"),
    [
        pytest.param([("a", 5, "1"), ("b", 3, "2"), ("c", 1, "1")], "2", {"b"},
                     id="higher-priority-reprieved-first-even-if-a-lower-one-stays"),
        pytest.param([("old", 0, "1"), ("new", 0, "1")], "1", {"new"},
                     id="equal-priority-the-longer-running-is-reprieved"),
        pytest.param([("a", 1, "1"), ("b", 2, "1"), ("c", 3, "1"), ("d", 4, "1")], "3",
                     {"a", "b", "c"}, id="as-few-as-needed-lowest-first"),
        pytest.param([("a", 1, "1"), ("b", 1000, "3")], "1", {"a"},
                     id="equal-priority-is-never-a-victim"),
    ],
)
def test_victims_are_the_least_important_pods_that_make_room(
    on_node: list[tuple[str, int, str]], wanted_cpu: str, evicted: set[str],
) -> None:
    """The node is full of the pods (name, priority, cpu) given, started in that order."""
    pods = [running(name, "n1", priority=priority, cpu=cpu, start=10 * i)
            for i, (name, priority, cpu) in enumerate(on_node)]
    full = sum(int(cpu) for _, _, cpu in on_node)
    snap = b.snapshot(b.node("n1", cpu=str(full)), *pods,
                      b.pod("critical-x", cpu=wanted_cpu, priority=1000, created=600))
    actions = plan_scheduling(snap, FakeClock())
    assert set(victims(actions)) == evicted
    assert waiting_for(actions, "critical-x") == "n1"
    names = ", ".join(f"default/{name}" for name in sorted(evicted))
    plural = "pod" if len(evicted) == 1 else "pods"
    assert verdict(actions, "critical-x").reason == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: nominated to node n1, "
        f"waiting for {len(evicted)} lower-priority {plural} there to terminate ({names}).")


def test_a_victim_is_evicted_like_the_taint_manager_does() -> None:
    snap = b.snapshot(b.node("n1", cpu="1"), running("web-1", "n1"),
                      b.pod("critical-x", cpu="1", priority=1000), revision=7)
    actions = plan_scheduling(snap, FakeClock(b.START + dt.timedelta(seconds=30)))
    [evict] = [a for a in actions if a.kind is ActionKind.UPDATE]
    assert (evict.source, evict.expected_revision, evict.is_change) == ("scheduler", 7, True)
    assert evict.obj is not None
    data = evict.obj.to_dict()
    assert data["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:30Z"
    assert data["status"]["conditions"] == [{
        "type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
        "message": "default-scheduler: preempting to accommodate a higher priority pod",
        "lastTransitionTime": "2026-01-01T00:00:30Z",
    }]
    assert data["spec"]["nodeName"] == "n1"


# -- who may preempt (PodEligibleToPreemptOthers) and what the message says ---------------------


def _never(name: str = "critical") -> scheduling.PriorityClass:
    return scheduling.PriorityClass(metadata=ObjectMeta(name=name), value=1000,
                                    preemption_policy="Never")


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        pytest.param(
            [_never(), b.pod("critical-x", cpu="1", priority_class="critical")],
            "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
            "preemptionPolicy=Never.", id="preemption-policy-never"),
        pytest.param(
            [scheduling.PriorityClass(metadata=ObjectMeta(name="default"), value=1000,
                                      global_default=True, preemption_policy="Never"),
             b.pod("critical-x", cpu="1")],
            "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
            "preemptionPolicy=Never.", id="never-from-the-global-default-class"),
        pytest.param(
            [b.pod("critical-x", cpu="1", priority=0)],
            "0/1 nodes are available: 1 Insufficient cpu.", id="equal-priority-says-nothing"),
        pytest.param(
            [b.pod("critical-x", cpu="8", priority=1000)],
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
            "1 Insufficient cpu.", id="no-room-even-without-every-lower-pod"),
        pytest.param(
            [b.pod("critical-x", cpu="1", priority=1000, node_selector={"gpu": "yes"})],
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. "
            "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
            id="unresolvable-node-is-skipped"),
    ],
)
def test_pods_that_do_not_preempt_say_why(objects: list[Any], message: str) -> None:
    snap = b.snapshot(b.node("n1", cpu="2"), running("web-1", "n1", cpu="2"), *objects)
    actions = plan_scheduling(snap, FakeClock())
    assert victims(actions) == {}
    assert verdict(actions, "critical-x").reason == message
    assert waiting_for(actions, "critical-x") is None


def test_a_node_without_lower_priority_pods_offers_no_victims() -> None:
    snap = b.snapshot(
        b.node("n1", cpu="1"), b.node("n2", cpu="1", taints=[("gpu", "yes", "NoSchedule")]),
        running("peer", "n1", priority=1000), running("web-1", "n2"),
        b.pod("critical-x", cpu="1", priority=1000))
    actions = plan_scheduling(snap, FakeClock())
    assert victims(actions) == {}
    assert verdict(actions, "critical-x").reason.endswith(
        "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, "
        "1 Preemption is not helpful for scheduling.")


def test_a_nominated_pod_waits_for_its_victims_instead_of_preempting_again() -> None:
    """Its victims on n1 are still terminating: nothing more is evicted (not even the
    cheaper pod on n2), and the pod stays nominated to n1."""
    snap = b.snapshot(
        b.node("n1", cpu="1"), b.node("n2", cpu="1"),
        preempted(running("web-1", "n1", priority=10)), running("web-2", "n2"),
        nominated(b.pod("critical-x", cpu="1", priority=1000), "n1"))
    actions = plan_scheduling(snap, FakeClock())
    assert victims(actions) == {}
    assert waiting_for(actions, "critical-x") == "n1"
    assert verdict(actions, "critical-x").reason == (
        "0/2 nodes are available: 2 Insufficient cpu. preemption: nominated to node n1, "
        "waiting for 1 lower-priority pod there to terminate (default/web-1).")


def test_the_same_verdict_in_the_next_round_is_no_change() -> None:
    snap = b.snapshot(b.node("n1", cpu="1"), running("web-1", "n1"),
                      b.pod("critical-x", cpu="1", priority=1000))
    first = plan_scheduling(snap, FakeClock())
    again = plan_scheduling(snap.with_actions(first), FakeClock())
    assert [(a.kind, a.is_change) for a in again] == [(ActionKind.UNSCHEDULABLE, False)]
    assert again[0].reason == verdict(first, "critical-x").reason


def test_a_bound_pod_is_nominated_nowhere() -> None:
    snap = b.snapshot(b.node("n1", cpu="1"), nominated(b.pod("critical-x", cpu="1"), "n1"))
    [bind] = plan_scheduling(snap, FakeClock())
    assert bind.kind is ActionKind.BIND and bind.node == "n1"
    assert isinstance(bind.obj, core.Pod) and bind.obj.status.nominated_node_name is None


# -- nominated pods keep their room -------------------------------------------------------------


def test_the_room_of_a_nominated_pod_goes_to_it() -> None:
    """n1's victim is gone: its room is free. An older pod of equal priority (that may not
    preempt) and a low one come first in the queue or fit there, but the room is held."""
    snap = b.snapshot(
        b.node("n1", cpu="2"),
        b.pod("older", cpu="2", priority_class="critical", created=0), _never(),
        nominated(b.pod("critical-x", cpu="2", priority=1000, created=5), "n1"),
        b.pod("low", cpu="1", created=1))
    actions = plan_scheduling(snap, FakeClock())
    assert verdict(actions, "critical-x").node == "n1"
    assert verdict(actions, "older").kind is ActionKind.UNSCHEDULABLE
    assert verdict(actions, "low").kind is ActionKind.UNSCHEDULABLE


def test_pods_after_a_preemption_do_not_take_the_room_it_needs() -> None:
    """critical-x needs n1's free 1 cpu plus its victim's 2; "low" would fit the free cpu."""
    snap = b.snapshot(
        b.node("n1", cpu="3"), running("web-1", "n1", cpu="2"),
        b.pod("critical-x", cpu="3", priority=1000), b.pod("low", cpu="1", priority=-1))
    actions = plan_scheduling(snap, FakeClock())
    assert set(victims(actions)) == {"web-1"}
    assert verdict(actions, "low").reason == "0/1 nodes are available: 1 Insufficient cpu."


def test_lower_pods_nominated_to_the_chosen_node_lose_their_nomination() -> None:
    snap = b.snapshot(
        b.node("n1", cpu="2"), running("web-1", "n1", cpu="2"),
        b.pod("critical-x", cpu="2", priority=1000),
        nominated(b.pod("middle", cpu="2", priority=500), "n1"))
    actions = plan_scheduling(snap, FakeClock())
    assert waiting_for(actions, "critical-x") == "n1"
    assert waiting_for(actions, "middle") is None


def test_a_dry_run_leaves_the_node_as_it_was() -> None:
    snap = b.snapshot(
        b.node("n1", cpu="4"), *(running(f"p{i}", "n1", priority=i, start=i, host_ports=[80 + i])
                                for i in range(4)))
    state = cluster.build(snap)
    node = state.by_name["n1"]
    before = (node.req_cpu, node.req_mem, node.nz_cpu, list(node.pods),
              {k: set(v) for k, v in node.ports.items()})
    chooser = preemption.Preemptor(cycle.Scheduler(state), b.START)
    pod = cluster.pod_info(b.pod("x", cpu="2", priority=3))
    chosen, status = chooser.select_victims(pod, node)
    assert status is None
    assert [p.name for p in chosen] == ["p1", "p0"]
    assert (node.req_cpu, node.req_mem, node.nz_cpu, list(node.pods),
            {k: set(v) for k, v in node.ports.items()}) == before


# -- over passes: a full cluster, then a critical pod --------------------------------------------


def _deployment() -> apps.Deployment:
    return apps.Deployment.model_validate({
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-web",
                     "creationTimestamp": "2026-01-01T00:00:00Z", "generation": 1},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                     {"name": "web", "image": "busybox:1",
                      "resources": {"requests": {"cpu": "1"}}}]}}},
    })


def _node(name: str) -> node_api.Node:
    return node_api.Node.model_validate({
        "metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                   "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                   "addresses": [{"type": "InternalIP", "address": "127.0.0.2"}],
                   "conditions": [{"type": "Ready", "status": "True",
                                   "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                                   "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
    })


def _pass(snap: Snapshot, clock: FakeClock) -> tuple[Snapshot, list[Action]]:
    """One pass in which both nodes answer, running the pods bound to them (not deleted)."""
    pods = [p for p in snap.of_kind(core.Pod) if not p.metadata.deletion_timestamp]
    observed = {node: factories.running_report(
        snap, node, [p for p in pods if p.spec.node_name == node]) for node in ("node-1", "node-2")}
    actions = fixpoint.plan_pass(replace(snap, observed=observed), clock)
    assert not any("without settling" in a.reason for a in actions)
    return snap.with_actions(actions), actions


def _pods(snap: Snapshot) -> dict[str, core.Pod]:
    return {p.name: p for p in snap.of_kind(core.Pod)}


def test_a_critical_pod_preempts_a_full_cluster_over_passes() -> None:
    clock = FakeClock(b.START)
    objects = [_deployment(), _node("node-1"), _node("node-2")]
    snap = Snapshot(revision=1, objects={o.key: Stored(o, 1) for o in objects}, cluster="test")
    snap, _ = _pass(snap, clock)
    clock.advance(10)
    snap, _ = _pass(snap, clock)
    web = sorted(p.name for p in snap.of_kind(core.Pod))
    placed = {p.name: p.spec.node_name or "" for p in snap.of_kind(core.Pod)}
    assert len(web) == 4 and sorted(placed.values()) == ["node-1", "node-1", "node-2", "node-2"]

    # A priority-1000 pod arrives: one web pod is preempted, critical-x waits for it.
    clock.advance(10)
    critical = b.pod("critical-x", cpu="1", priority_class="critical", created=20)
    critical.metadata.uid = "uid-critical-x"
    high = scheduling.PriorityClass(metadata=ObjectMeta(name="critical"), value=1000)
    snap = snap.with_actions([Action(ActionKind.CREATE, ObjectRef.of(o), "pushed", obj=o)
                              for o in (high, critical)])
    snap, actions = _pass(snap, clock)
    [(victim, reason)] = victims([a for a in actions if a.source == "scheduler"]).items()
    node = placed[victim]
    assert reason == f"Preempted by default/critical-x on node {node}"
    pods = _pods(snap)
    assert pods[victim].metadata.deletion_timestamp is not None
    [stop] = [a for a in actions if a.kind.value == "stop" and a.target.name == victim]
    assert (stop.node, stop.reason) == (node, "preempted: its room was given to a "
                                              "higher-priority pod")
    said = [(e["reason"], e["type"], e["message"]) for e in events.from_actions(actions)
            if e["involvedObject"]["name"] == victim]
    assert ("Preempted", "Normal", reason) in said
    assert pods["critical-x"].status.nominated_node_name == node
    condition = pods["critical-x"].status.condition("PodScheduled")
    assert condition is not None and condition.message == (
        f"0/2 nodes are available: 2 Insufficient cpu. preemption: nominated to node {node}, "
        f"waiting for 1 lower-priority pod there to terminate (default/{victim}).")
    [replacement] = [name for name in pods if name not in web and name != "critical-x"]
    assert pods[replacement].spec.node_name is None

    # The node stopped the victim: it is gone, and critical-x takes its place.
    clock.advance(10)
    snap, actions = _pass(snap, clock)
    pods = _pods(snap)
    assert victim not in pods
    assert pods["critical-x"].spec.node_name == node
    assert pods["critical-x"].status.nominated_node_name is None
    waiting = pods[replacement].status.condition("PodScheduled")
    assert pods[replacement].spec.node_name is None
    assert waiting is not None and waiting.reason == "Unschedulable"
    assert waiting.message == "0/2 nodes are available: 2 Insufficient cpu."

    # Settled: another pass changes nothing about them.
    clock.advance(10)
    _, actions = _pass(snap, clock)
    assert not [a for a in actions if a.is_change and a.source == "scheduler"]



def test_describe_counts_the_room_held_for_a_nominated_pod() -> None:
    low = b.pod("low", cpu="1")
    snap = b.snapshot(b.node("n1", cpu="2"), low,
                      nominated(b.pod("critical-x", cpu="2", priority=1000), "n1"))
    assert explain(snap, low) == [("n1", False, ["Insufficient cpu"])]
    critical = nominated(b.pod("critical-x", cpu="2", priority=1000), "n1")
    assert explain(snap, critical) == [("n1", True, [])]


def test_a_nomination_to_a_node_that_left_is_dropped() -> None:
    snap = b.snapshot(b.node("n1", cpu="1"), running("web-1", "n1"), _never(),
                      nominated(b.pod("critical-x", cpu="1", priority_class="critical"), "gone"))
    actions = plan_scheduling(snap, FakeClock())
    assert victims(actions) == {}
    assert waiting_for(actions, "critical-x") is None
