"""plan_daemonsets: pods per node, rolling updates, OnDelete, status — and a whole pass."""

from __future__ import annotations

from typing import Any

from gitkube.api import core, daemonsets, revisions
from gitkube.controllers import daemonsets as controller
from gitkube.planning.actions import Action, ActionKind
from gitkube.planning.snapshot import Snapshot
from gitkube.reconcile import fixpoint
from tests.controllers import factories as f

from . import builders as b


def _pods(actions: list[Action]) -> list[core.Pod]:
    return [a.obj for a in actions if a.kind is ActionKind.CREATE and isinstance(a.obj, core.Pod)]


def _of(snap: Snapshot, ds: Any) -> daemonsets.DaemonSet:
    found = snap.get(ds.key)
    assert found is not None and isinstance(found.obj, daemonsets.DaemonSet)
    return found.obj


def test_one_pod_per_node_pinned_and_tolerant() -> None:
    ds = b.daemonset(nodeSelector={"role": "edge"})
    snap = b.snapshot(ds, b.node("n1", labels={"role": "edge"}), b.node("n2"),
                      b.node("n3", labels={"role": "edge"}))
    actions = controller.plan_daemonsets(snap, f.clock())
    pods = _pods(actions)
    assert sorted(controller.daemonplacement.target_node(p.spec) for p in pods) == ["n1", "n3"]
    pod = pods[0]
    assert pod.name.startswith("agent-") and len(pod.name) == len("agent-") + 5
    assert pod.metadata.labels[revisions.REVISION_HASH_LABEL]
    assert pod.metadata.labels["pod-template-generation"] == "1"
    assert pod.spec.node_name is None  # the scheduler binds it
    assert {t.key for t in pod.spec.tolerations} >= {"node.kubernetes.io/not-ready",
                                                     "node.kubernetes.io/unschedulable"}
    assert b.summary(actions)[0].startswith("create controllerrevision/agent-")


def test_a_node_added_gets_its_pod_in_the_same_pass() -> None:
    ds = b.daemonset()
    snap, _ = b.settle(b.snapshot(ds, b.node("n1")))
    snap = b.snapshot(*(s.obj for s in snap.objects.values()), b.node("n2"))
    actions = fixpoint.plan_pass(snap, f.clock(10))
    placed = [a.node for a in actions if a.kind is ActionKind.CREATE and a.target.kind == "Pod"]
    assert placed == ["n2"]  # created and bound by the scheduler in one write
    status = _of(snap.with_actions(actions), ds).status
    assert (status.desired_number_scheduled, status.current_number_scheduled) == (2, 2)


def test_status_counts_as_kubectl_shows_them() -> None:
    ds = b.daemonset(nodeSelector={"role": "edge"})
    snap, _ = b.settle(b.snapshot(ds, b.node("n1", labels={"role": "edge"}),
                                 b.node("n2", labels={"role": "edge"})))
    # n2 loses its label: its pod is misscheduled until the pass deletes it.
    objs = [s.obj for s in snap.objects.values() if getattr(s.obj, "name", "") != "n2"]
    snap = b.snapshot(*objs, b.node("n2"))
    status = _of(snap.with_actions(controller.plan_daemonsets(snap, f.clock(5))), ds).status
    assert status.model_dump(include={
        "desired_number_scheduled", "current_number_scheduled", "number_ready",
        "updated_number_scheduled", "number_available", "number_misscheduled",
        "number_unavailable"}) == {
        "desired_number_scheduled": 1, "current_number_scheduled": 1, "number_ready": 1,
        "updated_number_scheduled": 1, "number_available": 1, "number_misscheduled": 1,
        "number_unavailable": 0}
    deleted = [a.target.name for a in controller.plan_daemonsets(snap, f.clock(5))
               if a.kind is ActionKind.DELETE]
    assert len(deleted) == 1


def _roll(ds: Any, image: str) -> Any:
    template = ds.spec.template.model_copy(deep=True)
    template.spec.containers[0].image = image
    spec = ds.spec.model_copy(update={"template": template})
    meta = ds.metadata.model_copy(update={"generation": 2})
    return ds.model_copy(update={"spec": spec, "metadata": meta})


def _images(snap: Snapshot) -> list[str]:
    return sorted(f"{p.spec.node_name}:{p.spec.containers[0].image}"
                  for p in snap.of_kind(core.Pod))


def test_rolling_update_replaces_one_node_at_a_time() -> None:
    ds = b.daemonset()
    snap, _ = b.settle(b.snapshot(ds, b.node("n1"), b.node("n2"), b.node("n3")))
    snap = b.snapshot(*(s.obj if s.obj.key != ds.key else _roll(_of(snap, ds), "busybox:2")
                        for s in snap.objects.values()))
    seen = []
    for step in range(1, 6):
        snap, _ = b.settle(snap, seconds=step * 10)
        seen.append(_images(snap))
    assert seen[0] == ["n1:busybox:2", "n2:busybox:1", "n3:busybox:1"]
    assert seen[1] == ["n1:busybox:2", "n2:busybox:2", "n3:busybox:1"]
    assert seen[2] == ["n1:busybox:2", "n2:busybox:2", "n3:busybox:2"]
    status = _of(snap, ds).status
    assert status.updated_number_scheduled == 3 and status.number_available == 3
    assert len(snap.of_kind(revisions.ControllerRevision)) == 2


def test_surge_starts_the_new_pod_beside_the_old() -> None:
    ds = b.daemonset(strategy={"type": "RollingUpdate",
                               "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    snap, _ = b.settle(b.snapshot(ds, b.node("n1"), b.node("n2")))
    snap = b.snapshot(*(s.obj if s.obj.key != ds.key else _roll(_of(snap, ds), "busybox:2")
                        for s in snap.objects.values()))
    snap, _ = b.settle(snap, seconds=10)
    assert _images(snap) == ["n1:busybox:1", "n1:busybox:2", "n2:busybox:1"]
    snap, _ = b.settle(snap, seconds=20)
    assert _images(snap) == ["n1:busybox:2", "n2:busybox:1", "n2:busybox:2"]


def test_on_delete_waits_until_a_pod_goes() -> None:
    ds = b.daemonset(strategy={"type": "OnDelete"})
    snap, _ = b.settle(b.snapshot(ds, b.node("n1"), b.node("n2")))
    snap = b.snapshot(*(s.obj if s.obj.key != ds.key else _roll(_of(snap, ds), "busybox:2")
                        for s in snap.objects.values()))
    snap, _ = b.settle(snap, seconds=10)
    assert _images(snap) == ["n1:busybox:1", "n2:busybox:1"]
    gone = next(p for p in snap.of_kind(core.Pod) if p.spec.node_name == "n1")
    snap = b.snapshot(*(s.obj for s in snap.objects.values() if s.obj.key != gone.key))
    snap, _ = b.settle(snap, seconds=20)
    assert _images(snap) == ["n1:busybox:2", "n2:busybox:1"]
    assert _of(snap, ds).status.updated_number_scheduled == 1


def test_a_second_plan_of_the_same_state_is_the_same() -> None:
    snap = b.snapshot(b.daemonset(), b.node("n1"), b.node("n2"))
    first = fixpoint.plan_pass(snap, f.clock())
    again = fixpoint.plan_pass(snap, f.clock())
    assert [a.to_dict() for a in first] == [a.to_dict() for a in again]


def test_old_revisions_beyond_the_limit_go() -> None:
    ds = b.daemonset()
    snap, _ = b.settle(b.snapshot(ds, b.node("n1")))
    for version in range(2, 5):
        limited = _roll(_of(snap, ds), f"busybox:{version}")
        limited = limited.model_copy(update={"spec": limited.spec.model_copy(
            update={"revision_history_limit": 1})})
        snap = b.snapshot(*(s.obj if s.obj.key != ds.key else limited
                            for s in snap.objects.values()))
        for step in range(3):
            snap, _ = b.settle(snap, seconds=version * 100 + step)
    names = [r.revision for r in snap.of_kind(revisions.ControllerRevision)]
    assert sorted(names) == [3, 4]


def test_a_steady_daemonset_says_so_in_the_plan() -> None:
    snap, _ = b.settle(b.snapshot(b.daemonset(), b.node("n1"), b.node("n2")))
    snap, _ = b.settle(snap, seconds=10)
    noops = [a.reason for a in fixpoint.plan_pass(snap, f.clock(20))
             if a.kind is ActionKind.NOOP]
    assert noops == ["daemonset/agent: 2/2 daemon pods ready"]
