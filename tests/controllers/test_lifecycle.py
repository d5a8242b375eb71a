"""Node lifecycle on a fake clock: NotReady after the grace period, eviction after the pods'
tolerations, replacements elsewhere, fencing when the node answers again, drift."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gitkube.api import core
from gitkube.api import node as node_api
from gitkube.clock import Clock, FakeClock
from gitkube.controllers import evictions, podstatus
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot
from gitkube.reconcile import fixpoint

from . import factories as f

GRACE = 40
TOLERATION = 300


def ready_node_scheduler(snapshot: Snapshot, clock: Clock) -> list[Action]:
    """A stand-in scheduler: unbound pods go to the first node whose Ready is True."""
    ready = sorted(n.name for n in snapshot.of_kind(node_api.Node) if n.ready)
    actions = []
    for pod in snapshot.of_kind(core.Pod):
        if pod.spec.node_name or pod.metadata.deletion_timestamp or not ready:
            continue
        bound = pod.model_copy(update={"spec": pod.spec.model_copy(update={"node_name": ready[0]})})
        actions.append(Action(ActionKind.BIND, ObjectRef.of(pod), f"bound to {ready[0]}",
                              obj=bound, node=ready[0], source="scheduler"))
    return actions


def _node(name: str, *, grace: float = GRACE, toleration: float = TOLERATION,
          taints: list[dict[str, Any]] | None = None) -> node_api.Node:
    node = f.node(name, heartbeat=0)
    annotations = {**node.metadata.annotations, podstatus.GRACE_ANNOTATION: f"{grace:g}",
                   evictions.EVICTION_TIMEOUT_ANNOTATION: f"{toleration:g}"}
    return node.model_copy(update={
        "metadata": node.metadata.model_copy(update={"annotations": annotations}),
        "spec": node_api.NodeSpec.model_validate({"taints": taints or []}),
    })


def _pod(name: str, node: str, tolerations: list[dict[str, Any]] | None = None,
         **kw: Any) -> core.Pod:
    pod = f.pod(name, node=node, phase="Running", **kw)
    if tolerations is None:
        return pod
    spec = pod.spec.model_copy(update={
        "tolerations": [core.Toleration.model_validate(t) for t in tolerations]})
    return pod.model_copy(update={"spec": spec})


def _pass(snap: Snapshot, clock: FakeClock, answering: list[str]) -> tuple[Snapshot, list[Action]]:
    """One pass in which only ``answering`` nodes report (the pods bound to them, running)."""
    observed = {name: f.running_report(snap, name, [
        p for p in snap.of_kind(core.Pod)
        if p.spec.node_name == name and not p.metadata.deletion_timestamp])
        for name in answering}
    snap = replace(snap, desired=None, observed=observed)
    actions = fixpoint.plan_pass(snap, clock, schedule=ready_node_scheduler)
    return snap.with_actions(actions), actions


def _ready(snap: Snapshot, name: str) -> str:
    node = next(n for n in snap.of_kind(node_api.Node) if n.name == name)
    condition = node.status.condition("Ready")
    return condition.status if condition else "?"


def _pods(snap: Snapshot) -> dict[str, core.Pod]:
    return {p.name: p for p in snap.of_kind(core.Pod)}


@pytest.mark.parametrize(
    ("silent_for", "node_ready", "phase", "reason"),
    [
        pytest.param(GRACE - 1, "True", "Running", None, id="within-grace"),
        pytest.param(GRACE + 1, "Unknown", "Unknown", "NodeLost", id="past-grace"),
    ],
)
def test_a_silent_node_becomes_not_ready_after_the_grace_period(
    silent_for: float, node_ready: str, phase: str, reason: str | None,
) -> None:
    snap = f.snapshot(_node("node-1"), _pod("web-1", "node-1", ready=True))
    snap, _ = _pass(snap, f.clock(silent_for), answering=[])
    assert _ready(snap, "node-1") == node_ready
    pod = _pods(snap)["web-1"]
    assert (pod.status.phase, pod.status.reason) == (phase, reason)
    if reason:
        ready = pod.status.condition("Ready")
        assert ready is not None and ready.status == "False"
        assert pod.metadata.deletion_timestamp is None, "not evicted before the toleration"


@pytest.mark.parametrize(
    ("tolerations", "default", "evicted_after"),
    [
        pytest.param(None, TOLERATION, TOLERATION, id="default-300s"),
        pytest.param(None, 30, 30, id="inventory-setting"),
        pytest.param([{"key": evictions.UNREACHABLE_TAINT, "operator": "Exists",
                       "effect": "NoExecute", "tolerationSeconds": 5}], TOLERATION, 5,
                     id="pod-toleration-seconds"),
        pytest.param([{"key": evictions.UNREACHABLE_TAINT, "operator": "Exists",
                       "effect": "NoExecute"}], 10, None, id="tolerated-for-ever"),
        pytest.param([{"operator": "Exists"}], 10, None, id="tolerates-everything"),
        pytest.param([{"key": evictions.NOT_READY_TAINT, "operator": "Exists",
                       "effect": "NoExecute", "tolerationSeconds": 1}], 20, 20,
                     id="other-taint-toleration-ignored"),
    ],
)
def test_eviction_waits_for_the_pods_toleration(
    tolerations: list[dict[str, Any]] | None, default: float, evicted_after: float | None,
) -> None:
    snap = f.snapshot(_node("node-1", toleration=default), _node("node-2"),
                      _pod("web-1", "node-1", tolerations))
    clock = f.clock(GRACE + 1)
    snap, _ = _pass(snap, clock, answering=["node-2"])  # node-1 goes Unknown now
    assert _ready(snap, "node-1") == "Unknown"
    if evicted_after is not None and evicted_after > 0:
        clock.advance(evicted_after - 1)
        snap, _ = _pass(snap, clock, answering=["node-2"])
        assert _pods(snap)["web-1"].metadata.deletion_timestamp is None
        clock.advance(1)
    else:
        clock.advance(3600)
    snap, actions = _pass(snap, clock, answering=["node-2"])
    evicted = _pods(snap)["web-1"]
    if evicted_after is None:
        assert evicted.metadata.deletion_timestamp is None
        return
    assert evicted.metadata.deletion_timestamp == f.at(clock.now().timestamp()
                                                       - f.START.timestamp())
    disruption = evicted.status.condition("DisruptionTarget")
    assert disruption is not None and disruption.reason == "DeletionByTaintManager"
    [action] = [a for a in actions if a.target.name == "web-1" and a.kind is ActionKind.UPDATE
                and not a.status_only]
    assert action.reason.startswith("evicted from node/node-1")


def test_a_declared_no_execute_taint_evicts_at_once() -> None:
    taint = {"key": "dedicated", "value": "db", "effect": "NoExecute"}
    snap = f.snapshot(_node("node-1", taints=[taint]), _pod("web-1", "node-1"),
                      _pod("db-1", "node-1", [{"key": "dedicated", "operator": "Equal",
                                               "value": "db", "effect": "NoExecute"}]))
    snap, _ = _pass(snap, f.clock(1), answering=["node-1"])
    pods = _pods(snap)
    assert pods["web-1"].metadata.deletion_timestamp is not None
    assert pods["db-1"].metadata.deletion_timestamp is None


def test_replaced_elsewhere_then_fenced_when_the_node_answers_again() -> None:
    dep = f.deployment(replicas=2)
    snap = f.snapshot(dep, _node("node-1", toleration=10), _node("node-2"))
    clock = f.clock(1)
    snap, _ = _pass(snap, clock, answering=["node-1", "node-2"])
    snap, _ = _pass(snap, clock, answering=["node-1", "node-2"])
    first = {p.name: p.spec.node_name for p in snap.of_kind(core.Pod)}
    assert len(first) == 2 and set(first.values()) == {"node-1"}

    clock.advance(GRACE + 1)
    snap, _ = _pass(snap, clock, answering=["node-2"])
    assert _ready(snap, "node-1") == "Unknown"
    assert all(p.status.phase == "Unknown" for p in snap.of_kind(core.Pod))
    clock.advance(10)
    snap, actions = _pass(snap, clock, answering=["node-2"])
    live = [p for p in snap.of_kind(core.Pod) if not p.metadata.deletion_timestamp]
    assert len(live) == 2 and {p.spec.node_name for p in live} == {"node-2"}
    assert len([a for a in actions if a.kind is ActionKind.START and a.node == "node-2"]) == 2

    # node-1 answers again, still running the evicted pods: they are stopped first.
    observed = {"node-1": f.running_report(snap, "node-1", [
        p for p in snap.of_kind(core.Pod) if p.spec.node_name == "node-1"]),
        "node-2": f.running_report(snap, "node-2", live)}
    clock.advance(5)
    back = replace(snap, observed=observed)
    actions = fixpoint.plan_pass(back, clock, schedule=ready_node_scheduler)
    stops = [a for a in actions if a.kind is ActionKind.STOP]
    assert sorted(a.target.name for a in stops) == sorted(first)
    assert all(a.node == "node-1" and a.reason.startswith("fencing") for a in stops)
    assert not [a for a in actions if a.kind is ActionKind.START]
    assert not [a for a in actions if a.kind is ActionKind.DELETE], "gone only once confirmed"

    # After the converge the node reports them gone: the objects go too.
    after = replace(back.with_actions(actions),
                    observed={**observed, "node-1": f.running_report(snap, "node-1", [])})
    final = fixpoint.plan_pass(after, clock, schedule=ready_node_scheduler)
    deletes = [a for a in final if a.kind is ActionKind.DELETE]
    assert sorted(a.target.name for a in deletes) == sorted(first)
    assert all(a.status_only for a in deletes)
    done = after.with_actions(final)
    assert len(done.of_kind(core.Pod)) == 2 and _ready(done, "node-1") == "True"


def test_cron_passes_far_apart_decide_like_a_daemon() -> None:
    """One pass after a long silence marks the node; the eviction clock starts there."""
    snap = f.snapshot(_node("node-1", toleration=60), _node("node-2"), _pod("web-1", "node-1"))
    clock = f.clock(3600)
    snap, _ = _pass(snap, clock, answering=["node-2"])
    assert _ready(snap, "node-1") == "Unknown"
    assert _pods(snap)["web-1"].metadata.deletion_timestamp is None
    clock.advance(60)
    snap, _ = _pass(snap, clock, answering=["node-2"])
    assert _pods(snap)["web-1"].metadata.deletion_timestamp is not None


def test_a_container_removed_by_hand_is_drift() -> None:
    pod = _pod("web-1", "node-1")
    status = pod.status.container_statuses[0].model_copy(update={
        "container_id": "podman://abc",
        "state": core.ContainerState(running=core.ContainerStateRunning())})
    pod = pod.model_copy(update={"status": pod.status.model_copy(update={
        "container_statuses": [status]})})
    snap = f.snapshot(_node("node-1"), pod)
    report = f.running_report(snap, "node-1", [pod])
    report["pods"][0]["containers"] = [{"name": "web", "state": "waiting",
                                        "reason": "ContainerCreating"}]
    actions = fixpoint.plan_pass(replace(snap, observed={"node-1": report}), f.clock(5),
                               schedule=ready_node_scheduler)
    [start] = [a for a in actions if a.kind is ActionKind.START]
    assert start.reason == "drift: container web missing on node"
