"""plan_replicasets: ReplicaSet → Pods, deterministic names, Kubernetes' deletion order."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import apps, core
from gitkube.controllers import replicasets
from gitkube.planning.actions import Action, ActionKind

from . import factories as f

RS3 = f.replicaset("web-abc", 3, uid="rs-uid")


def _pods(rs: apps.ReplicaSet, count: int, **kw: Any) -> list[core.Pod]:
    return [f.pod(f"{rs.name}-{i}", owner=rs, **kw) for i in range(count)]


def _with_replicas(rs: apps.ReplicaSet, replicas: int) -> apps.ReplicaSet:
    return rs.model_copy(update={"spec": rs.spec.model_copy(update={"replicas": replicas})})


@pytest.mark.parametrize(
    ("replicas", "existing", "creates", "deletes"),
    [
        pytest.param(3, 0, 3, 0, id="empty-creates-3"),
        pytest.param(3, 1, 2, 0, id="scale-up-by-2"),
        pytest.param(3, 3, 0, 0, id="steady"),
        pytest.param(1, 3, 0, 2, id="scale-down-by-2"),
        pytest.param(0, 2, 0, 2, id="scale-to-zero"),
    ],
)
def test_replica_counts(replicas: int, existing: int, creates: int, deletes: int) -> None:
    rs = _with_replicas(RS3, replicas)
    pods = _pods(rs, existing, node="node-1", phase="Running")
    actions = replicasets.plan_replicasets(f.snapshot(rs, *pods), f.clock())
    assert len(f.of(actions, ActionKind.CREATE, "Pod")) == creates
    assert len(f.of(actions, ActionKind.DELETE, "Pod")) == deletes


OWNER = f.replicaset("web-abc", 1, uid="rs-uid")


@pytest.mark.parametrize(
    ("pods", "deleted_first"),
    [
        pytest.param([f.pod("a", owner=OWNER, node="n1", phase="Running"),
                      f.pod("b", owner=OWNER, phase="Pending")], "b",
                     id="unassigned-before-assigned"),
        pytest.param([f.pod("a", owner=OWNER, node="n1", phase="Running"),
                      f.pod("b", owner=OWNER, node="n2", phase="Pending")], "b",
                     id="pending-before-running"),
        pytest.param([f.pod("a", owner=OWNER, node="n1", phase="Running"),
                      f.pod("b", owner=OWNER, node="n2", phase="Unknown", ready=False)], "b",
                     id="unknown-before-running"),
        pytest.param([f.pod("a", owner=OWNER, node="n1", phase="Running", ready=True),
                      f.pod("b", owner=OWNER, node="n2", phase="Running", ready=False)], "b",
                     id="not-ready-before-ready"),
        pytest.param([f.pod("a", owner=OWNER, node="n1", phase="Running", created=0),
                      f.pod("b", owner=OWNER, node="n1", phase="Running", created=5),
                      f.pod("c", owner=OWNER, node="n2", phase="Running", created=50)], "b",
                     id="doubled-up-node-before-newer-pod"),
        pytest.param([f.pod("a", owner=OWNER, node="n1", phase="Running", ready_at=10),
                      f.pod("b", owner=OWNER, node="n2", phase="Running", ready_at=50)], "b",
                     id="ready-more-recently-first"),
        pytest.param([f.pod("a", owner=OWNER, node="n1", phase="Running", restarts=0),
                      f.pod("b", owner=OWNER, node="n2", phase="Running", restarts=4)], "b",
                     id="more-restarts-first"),
        pytest.param([f.pod("a", owner=OWNER, node="n1", phase="Running", created=100),
                      f.pod("b", owner=OWNER, node="n2", phase="Running", created=10)], "a",
                     id="newer-first"),
    ],
)
def test_deletion_order(pods: list[core.Pod], deleted_first: str) -> None:
    actions = replicasets.plan_replicasets(f.snapshot(OWNER, *pods), f.clock(1000))
    deleted = [a.target.name for a in f.of(actions, ActionKind.DELETE)]
    assert deleted[0] == deleted_first
    assert len(deleted) == len(pods) - 1


def test_new_pods_follow_the_template_and_are_owned() -> None:
    actions = replicasets.plan_replicasets(f.snapshot(RS3), f.clock(7))
    pod = f.of(actions, ActionKind.CREATE)[0].obj
    assert isinstance(pod, core.Pod)
    assert pod.name.startswith("web-abc-") and len(pod.name) == len("web-abc-") + 5
    assert set(pod.name.removeprefix("web-abc-")) <= set("bcdfghjkmnpqrstvwxz2456789")
    assert pod.metadata.labels == {"app": "web"}
    assert pod.namespace == "default"
    ref = pod.controller_ref()
    assert ref is not None and (ref.kind, ref.name, ref.uid) == ("ReplicaSet", "web-abc", "rs-uid")
    assert pod.spec.node_name is None
    assert pod.metadata.creation_timestamp == f.at(7)


def test_names_are_deterministic_and_planning_again_after_applying_adds_nothing() -> None:
    snap = f.snapshot(RS3)
    first = replicasets.plan_replicasets(snap, f.clock())
    second = replicasets.plan_replicasets(snap, f.clock())
    names = sorted(a.target.name for a in f.of(first, ActionKind.CREATE))
    assert names == sorted(a.target.name for a in f.of(second, ActionKind.CREATE))
    assert len(set(names)) == 3
    assert [a.obj.metadata.uid for a in first if a.obj] == [a.obj.metadata.uid for a in second
                                                           if a.obj]
    applied = snap.with_actions(first)
    again = replicasets.plan_replicasets(applied, f.clock())
    assert f.of(again, ActionKind.CREATE) == []
    assert f.of(again, ActionKind.DELETE) == []


def test_a_freed_slot_is_reused_by_the_next_pod() -> None:
    snap = f.snapshot(RS3)
    created = f.of(replicasets.plan_replicasets(snap, f.clock()), ActionKind.CREATE)
    applied = snap.with_actions(created)
    lost = created[1]
    after_loss = applied.with_actions([Action(ActionKind.DELETE, lost.target, "gone")])
    [replacement] = f.of(replicasets.plan_replicasets(after_loss, f.clock()), ActionKind.CREATE)
    assert replacement.target.name == lost.target.name


def test_failed_pod_is_deleted_and_replaced() -> None:
    pods = [f.pod("web-abc-0", owner=RS3, node="n1", phase="Running"),
            f.pod("web-abc-1", owner=RS3, node="n1", phase="Running"),
            f.pod("web-abc-2", owner=RS3, node="n1", phase="Failed")]
    actions = replicasets.plan_replicasets(f.snapshot(RS3, *pods), f.clock())
    [deleted] = f.of(actions, ActionKind.DELETE)
    assert deleted.target.name == "web-abc-2"
    assert "pod failed" in deleted.reason
    [created] = f.of(actions, ActionKind.CREATE)
    assert created.target.name != "web-abc-2"


def test_status_counts_and_is_written_only_when_it_changes() -> None:
    pods = [f.pod("web-abc-0", owner=RS3, node="n1", phase="Running"),
            f.pod("web-abc-1", owner=RS3, node="n1", phase="Running", ready=False),
            f.pod("web-abc-2", owner=RS3, node="n1", phase="Pending")]
    snap = f.snapshot(RS3, *pods)
    [update] = f.of(replicasets.plan_replicasets(snap, f.clock()), ActionKind.UPDATE)
    assert update.status_only
    assert isinstance(update.obj, apps.ReplicaSet)
    status = update.obj.status
    assert (status.replicas, status.fully_labeled_replicas, status.ready_replicas,
            status.available_replicas, status.observed_generation) == (3, 3, 1, 1, 1)
    assert replicasets.plan_replicasets(snap.with_actions([update]), f.clock()) == []
