"""plan_pass: the planners to a fixpoint, merged writes, node actions and no-ops."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gitkube.api import apps, batch, core
from gitkube.api import node as node_api
from gitkube.clock import Clock, FakeClock
from gitkube.planning.actions import STORE_KINDS, Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot
from gitkube.reconcile import fixpoint
from tests.batch import builders
from tests.controllers import factories as f


def first_node_scheduler(snapshot: Snapshot, clock: Clock) -> list[Action]:
    """A stand-in scheduler: every unbound pod goes to the first node, alphabetically."""
    nodes = sorted(n.name for n in snapshot.of_kind(node_api.Node))
    actions = []
    for pod in snapshot.of_kind(core.Pod):
        if pod.spec.node_name or not nodes:
            continue
        bound = pod.model_copy(update={"spec": pod.spec.model_copy(
            update={"node_name": nodes[0]})})
        actions.append(Action(ActionKind.BIND, ObjectRef.of(pod), f"bound to {nodes[0]}",
                              obj=bound, node=nodes[0], source="scheduler"))
    return actions


def _pass(snap: Snapshot, clock: FakeClock) -> list[Action]:
    return fixpoint.plan_pass(snap, clock, schedule=first_node_scheduler)


def _observe(snap: Snapshot, **kw: object) -> Snapshot:
    """The next pass's snapshot: Git unchanged, node-1 reports the pods bound to it running."""
    pods = [p for p in snap.of_kind(core.Pod) if p.spec.node_name == "node-1"]
    return replace(snap, desired=None,
                   observed={"node-1": f.running_report(snap, "node-1", pods, **kw)})  # type: ignore[arg-type]


GIT = [f.git(f.deployment(replicas=3)), f.git(f.node("node-1"))]
EMPTY_REPORT = {"node-1": {"node": "node-1", "facts": {"cpus": 2}, "pods": []}}


def test_fixpoint_from_an_empty_store_to_steady_state() -> None:
    clock = f.clock()
    snap = f.snapshot(desired=GIT, observed=EMPTY_REPORT)
    actions = _pass(snap, clock)
    assert [(a.kind.value, a.target.kind) for a in f.changes(actions)] == [
        ("create", "Deployment"), ("create", "Node"), ("create", "ReplicaSet"),
        ("create", "Pod"), ("create", "Pod"), ("create", "Pod"),
        ("start", "Pod"), ("start", "Pod"), ("start", "Pod"),
    ]
    pods = [a.obj for a in f.of(actions, ActionKind.CREATE, "Pod")]
    assert len(pods) == 3 and len(f.of(actions, ActionKind.START)) == 3
    assert all(isinstance(p, core.Pod) and p.spec.node_name == "node-1" for p in pods)
    assert all(a.node == "node-1" for a in f.of(actions, ActionKind.CREATE, "Pod"))
    assert all(a.expected_revision == 0 for a in actions if a.kind is ActionKind.CREATE)
    assert len(f.of(actions, ActionKind.CREATE, "ReplicaSet")) == 1

    clock.advance(5)
    snap = _observe(snap.with_actions(actions))
    second = _pass(snap, clock)
    assert f.changes(second) == [], f.kinds(f.changes(second))
    noops = [a.reason for a in f.of(second, ActionKind.NOOP)]
    assert noops == ["deployment/web: 3/3 replicas ready"]

    clock.advance(1)
    third = _pass(_observe(snap.with_actions(second)), clock)
    assert [a for a in third if a.kind is not ActionKind.NOOP] == []


def test_the_same_snapshot_plans_the_same_actions() -> None:
    snap = f.snapshot(desired=GIT, observed=EMPTY_REPORT)
    one = [(a.kind, a.target, a.reason, a.obj and a.obj.to_dict()) for a in _pass(snap, f.clock())]
    two = [(a.kind, a.target, a.reason, a.obj and a.obj.to_dict()) for a in _pass(snap, f.clock())]
    assert one == two


def test_after_the_converge_only_the_status_the_reports_show_is_written() -> None:
    clock = f.clock()
    snap = f.snapshot(desired=GIT, observed=EMPTY_REPORT)
    written = snap.with_actions(_pass(snap, clock))
    reported = _observe(written)  # the converge started the pods: they run, and are ready

    status = fixpoint.plan_status(reported, clock)

    assert status and all(a.status_only and a.kind is ActionKind.UPDATE for a in status)
    assert sorted(a.target.kind for a in status) == [
        "Deployment", "Node", "Pod", "Pod", "Pod", "ReplicaSet"]
    deployment = next(a.obj for a in status if isinstance(a.obj, apps.Deployment))
    assert deployment.status.ready_replicas == 3
    # What the whole fixpoint would write as status is the same, and nothing more.
    whole = [a for a in _pass(reported, clock) if a.kind in STORE_KINDS and a.status_only]
    assert {a.target: a.obj and a.obj.to_dict() for a in status} == {
        a.target: a.obj and a.obj.to_dict() for a in whole}


def test_after_the_converge_a_finished_job_pod_is_counted_not_replaced() -> None:
    clock = f.clock()
    job = f.git(builders.job(completions=2, parallelism=1))
    snap = f.snapshot(desired=[job, GIT[1]], observed=EMPTY_REPORT)
    written = snap.with_actions(_pass(snap, clock))
    (pod,) = written.of_kind(core.Pod)
    finished = replace(written, observed={"node-1": f.running_report(
        written, "node-1", [pod], phase="Succeeded", ready=False)})

    status = fixpoint.plan_status(finished, clock)

    assert all(a.status_only for a in status)
    assert not [a for a in status if a.kind is ActionKind.CREATE]
    counted = next(a.obj for a in status if isinstance(a.obj, batch.Job))
    assert counted.status.succeeded == 1
    # The whole fixpoint would also make the next pod: that is the next pass's to plan.
    assert f.of(_pass(finished, clock), ActionKind.CREATE, "Pod")


def _steady() -> tuple[Snapshot, FakeClock]:
    clock = f.clock()
    snap = f.snapshot(desired=GIT, observed=EMPTY_REPORT)
    snap = snap.with_actions(_pass(snap, clock))
    clock.advance(5)
    snap = _observe(snap)
    snap = snap.with_actions(_pass(snap, clock))
    # as the store would hold them: every object with a real revision
    return replace(snap, objects={k: replace(s, mod_revision=i + 10)
                                  for i, (k, s) in enumerate(sorted(snap.objects.items()))}), clock


def test_deployment_leaving_git_cascades_to_pods_and_stops_them() -> None:
    snap, clock = _steady()
    actions = _pass(replace(_observe(snap), desired={GIT[1].key: GIT[1]}), clock)
    deleted = {(a.target.kind, a.reason.split(" (")[0]) for a in f.of(actions, ActionKind.DELETE)}
    assert deleted == {("Deployment", "removed from Git"),
                       ("ReplicaSet", "owner deployment/web is gone"),
                       ("Pod", "owner replicaset/" + snap.of_kind(apps.ReplicaSet)[0].name
                        + " is gone")}
    assert len(f.of(actions, ActionKind.DELETE, "Pod")) == 3
    assert [a.reason for a in f.of(actions, ActionKind.STOP)] == ["deleted"] * 3
    for action in f.of(actions, ActionKind.DELETE):
        assert action.expected_revision == snap.objects[_key(snap, action)].mod_revision > 0


def _key(snap: Snapshot, action: Action) -> str:
    return next(k for k, s in snap.objects.items()
                if (s.obj.kind, s.obj.name) == (action.target.kind, action.target.name))


def test_template_change_rolls_pods_over_several_passes() -> None:
    snap, clock = _steady()
    new_git = f.git(f.deployment(replicas=3, image="busybox:2"))
    snap = replace(_observe(snap), desired={new_git.key: new_git, GIT[1].key: GIT[1]})
    for _ in range(8):
        clock.advance(5)
        actions = _pass(snap, clock)
        snap = _observe(snap.with_actions(actions))
        pods = snap.of_kind(core.Pod)
        # maxSurge 1 (25% of 3 rounded up), maxUnavailable 0: never fewer than 3 ready
        assert len(pods) <= 4
        snap = replace(snap, desired=None)
    images = {p.spec.containers[0].image for p in snap.of_kind(core.Pod)}
    assert images == {"busybox:2"} and len(snap.of_kind(core.Pod)) == 3
    sets = {rs.name: rs.spec.replicas for rs in snap.of_kind(apps.ReplicaSet)}
    assert sorted(sets.values()) == [0, 3]


@pytest.mark.parametrize(
    ("first", "then", "expected"),
    [
        pytest.param(ActionKind.CREATE, ActionKind.UPDATE, "create", id="create-then-update"),
        pytest.param(ActionKind.CREATE, ActionKind.BIND, "create", id="create-then-bind"),
        pytest.param(ActionKind.CREATE, ActionKind.DELETE, None, id="create-then-delete"),
        pytest.param(ActionKind.UPDATE, ActionKind.DELETE, "delete", id="update-then-delete"),
        pytest.param(ActionKind.UPDATE, ActionKind.BIND, "bind", id="update-then-bind"),
    ],
)
def test_actions_on_one_key_merge_into_one_write(
    first: ActionKind, then: ActionKind, expected: str | None
) -> None:
    existing = f.pod("solo", source="p.yaml:1")
    snap = f.snapshot(existing) if first is not ActionKind.CREATE else f.snapshot()
    one = existing.model_copy(update={"status": core.PodStatus(phase="Pending", message="one")})
    two = one.model_copy(update={"spec": one.spec.model_copy(update={"node_name": "node-1"})})
    merger = fixpoint._Merger(snap)
    merger.add([Action(first, ObjectRef.of(one), "first", obj=one)])
    merger.add([Action(then, ObjectRef.of(two), "then", obj=two,
                       node="node-1" if then is ActionKind.BIND else None)])
    merged = merger.actions()
    if expected is None:
        assert merged == []
        return
    [action] = merged
    assert action.kind.value == expected
    assert action.expected_revision == (0 if first is ActionKind.CREATE else 1)
    if expected != "delete":
        assert action.obj == two
    if then is ActionKind.BIND:
        assert action.node == "node-1"


def test_what_a_planner_leaves_undone_is_said_once_in_the_plan() -> None:
    # "api" holds 10.96.0.40; Git adds "web" asking for it too: web is not created, and the
    # plan says why at web's file:line, once however many rounds the pass took.
    api = f.service("api", clusterIP="10.96.0.40")
    web = f.service("web", clusterIP="10.96.0.40")
    snap = f.snapshot(f.node("node-1"), api, desired=[f.node("node-1"), api, f.git(web)])
    actions = _pass(snap, FakeClock())
    assert not [a for a in actions if a.target.name == "web" and a.kind is not ActionKind.NOOP]
    assert [a.reason for a in actions if a.kind is ActionKind.NOOP and a.source == "desired"] == [
        "web.yaml:1: Service default/web asks for clusterIP 10.96.0.40, which Service "
        "default/api already holds; it is not applied until the address is free: choose "
        "another or leave the field out"]
