"""plan_deployments: ReplicaSets per template, rollout steps, history, status."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import apps, core
from gitkube.controllers import deployments
from gitkube.planning.actions import Action, ActionKind
from gitkube.planning.snapshot import Snapshot

from . import factories as f


def _rs_for(dep: apps.Deployment, replicas: int, *, revision: int = 1,
            created: float = 0) -> apps.ReplicaSet:
    """The ReplicaSet the controller makes for ``dep``'s current template."""
    [create] = f.of(deployments.plan_deployments(f.snapshot(dep), f.clock(created)),
                    ActionKind.CREATE)
    assert isinstance(create.obj, apps.ReplicaSet)
    rs = create.obj
    meta = rs.metadata.model_copy(update={
        "annotations": {deployments.REVISION_ANNOTATION: str(revision)}})
    return rs.model_copy(update={"metadata": meta,
                                 "spec": rs.spec.model_copy(update={"replicas": replicas})})


def _ready_pods(rs: apps.ReplicaSet, count: int) -> list[core.Pod]:
    return [f.pod(f"{rs.name}-{i}", owner=rs, node="n1", phase="Running") for i in range(count)]


def _scales(actions: list[Action]) -> dict[str, int]:
    return {a.target.name: a.obj.spec.replicas for a in actions  # type: ignore[union-attr]
            if a.kind is ActionKind.UPDATE and not a.status_only}


def test_first_rollout_creates_the_replicaset_of_the_template() -> None:
    dep = f.deployment(replicas=3)
    [create] = f.of(deployments.plan_deployments(f.snapshot(dep), f.clock()), ActionKind.CREATE)
    rs = create.obj
    assert isinstance(rs, apps.ReplicaSet)
    pod_hash = deployments.template_hash(dep)
    assert rs.name == f"web-{pod_hash}"
    assert rs.spec.replicas == 3
    assert rs.spec.template.metadata.labels == {"app": "web", "pod-template-hash": pod_hash}
    assert rs.spec.selector.match_labels == {"app": "web", "pod-template-hash": pod_hash}
    assert rs.metadata.annotations[deployments.REVISION_ANNOTATION] == "1"
    # Sized for 3 replicas, at most 3 + 25% surge (rounded up) = 4 during a rollout.
    assert rs.metadata.annotations[deployments.DESIRED_REPLICAS_ANNOTATION] == "3"
    assert rs.metadata.annotations[deployments.MAX_REPLICAS_ANNOTATION] == "4"
    ref = rs.controller_ref()
    assert ref is not None and (ref.kind, ref.name, ref.uid) == ("Deployment", "web", "uid-web")


OLD_DEP = f.deployment(replicas=10, image="busybox:1")
NEW_DEP = f.deployment(replicas=10, image="busybox:2", generation=2)


@pytest.mark.parametrize(
    ("dep", "strategy", "expected_new", "expected_scales"),
    [
        pytest.param(NEW_DEP, None, 3, {}, id="rolling-25%-new-gets-surge"),
        pytest.param(NEW_DEP, {"type": "RollingUpdate",
                               "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 2}},
                     0, {"web-old": 8}, id="rolling-no-surge-old-down-first"),
        pytest.param(NEW_DEP, {"type": "Recreate"}, None, {"web-old": 0},
                     id="recreate-old-to-zero-no-new-yet"),
        pytest.param(NEW_DEP.model_copy(update={"spec": NEW_DEP.spec.model_copy(
            update={"paused": True})}), None, None, {}, id="paused-no-rollout"),
    ],
)
def test_template_change(
    dep: apps.Deployment, strategy: dict[str, Any] | None, expected_new: int | None,
    expected_scales: dict[str, int],
) -> None:
    if strategy is not None:
        spec = dep.spec.model_copy(update={"strategy": apps.DeploymentStrategy.model_validate(
            strategy)})
        dep = dep.model_copy(update={"spec": spec})
    old = f.replicaset("web-old", 10, owner=dep, image="busybox:1", uid="old-uid")
    snap = f.snapshot(dep, old, *_ready_pods(old, 10))
    actions = deployments.plan_deployments(snap, f.clock())
    creates = f.of(actions, ActionKind.CREATE)
    if expected_new is None:
        assert creates == []
    else:
        [create] = creates
        assert isinstance(create.obj, apps.ReplicaSet)
        assert create.obj.spec.replicas == expected_new
        assert create.obj.metadata.annotations[deployments.REVISION_ANNOTATION] == "2"
    assert _scales(actions) == expected_scales


def _condition(snap: Snapshot, kind: str) -> apps.DeploymentCondition | None:
    status = snap.of_kind(apps.Deployment)[0].status
    return next((c for c in status.conditions if c.type == kind), None)


def _step(snap: Snapshot, seconds: float) -> tuple[Snapshot, list[Action]]:
    actions = deployments.plan_deployments(snap, f.clock(seconds))
    return snap.with_actions(actions), actions


def test_recreate_starts_new_pods_only_when_old_ones_are_gone() -> None:
    dep = f.deployment(replicas=3, image="busybox:2", strategy={"type": "Recreate"})
    old = f.replicaset("web-old", 0, owner=dep, uid="old-uid")
    lingering = f.pod("web-old-0", owner=old, node="n1", phase="Running")
    actions = deployments.plan_deployments(f.snapshot(dep, old, lingering), f.clock())
    assert f.of(actions, ActionKind.CREATE) == []
    actions = deployments.plan_deployments(f.snapshot(dep, old), f.clock())
    [create] = f.of(actions, ActionKind.CREATE)
    assert create.obj is not None and create.obj.spec.replicas == 3  # type: ignore[attr-defined]


def test_rollback_to_an_old_template_reuses_its_replicaset() -> None:
    dep = f.deployment(replicas=2, image="busybox:1")
    current = _rs_for(dep, 0, revision=1)
    newer = f.replicaset("web-newer", 2, owner=dep, image="busybox:2", revision=2, uid="n-uid")
    snap = f.snapshot(dep, current, newer, *_ready_pods(newer, 2))
    actions = deployments.plan_deployments(snap, f.clock())
    assert f.of(actions, ActionKind.CREATE) == []
    assert _scales(actions) == {current.name: 1}
    [write] = [a for a in actions if a.target.name == current.name]
    assert isinstance(write.obj, apps.ReplicaSet)
    assert write.obj.metadata.annotations[deployments.REVISION_ANNOTATION] == "3", (
        "one write: the revision bump and the scale together")
    assert write.reason.startswith("deployment/web: template of revision 1 is back (revision 3)"
                                   "; scaled up")


@pytest.mark.parametrize(
    ("idle", "limit", "deleted"),
    [
        pytest.param(3, 1, ["web-r1", "web-r2"], id="keep-1-delete-oldest-revisions"),
        pytest.param(2, 10, [], id="within-limit"),
        pytest.param(2, 0, ["web-r1", "web-r2"], id="limit-0-keeps-none"),
    ],
)
def test_history_cleanup(idle: int, limit: int, deleted: list[str]) -> None:
    dep = f.deployment(replicas=1, history=limit)
    current = _rs_for(dep, 1, revision=idle + 1)
    olds = [f.replicaset(f"web-r{i}", 0, owner=dep, image=f"busybox:{i}", revision=i,
                         uid=f"r{i}") for i in range(1, idle + 1)]
    snap = f.snapshot(dep, current, *olds, *_ready_pods(current, 1))
    actions = deployments.plan_deployments(snap, f.clock())
    assert [a.target.name for a in f.of(actions, ActionKind.DELETE)] == deleted


def test_status_of_a_complete_rollout_and_no_rewrite() -> None:
    dep = f.deployment(replicas=3)
    rs = _rs_for(dep, 3)
    snap = f.snapshot(dep, rs, *_ready_pods(rs, 3))
    [update] = deployments.plan_deployments(snap, f.clock(60))
    assert update.status_only
    assert isinstance(update.obj, apps.Deployment)
    status = update.obj.status
    assert (status.replicas, status.updated_replicas, status.ready_replicas,
            status.available_replicas, status.unavailable_replicas,
            status.observed_generation) == (3, 3, 3, 3, 0, 1)
    conditions = {c.type: (c.status, c.reason) for c in status.conditions}
    assert conditions == {"Available": ("True", "MinimumReplicasAvailable"),
                          "Progressing": ("True", "NewReplicaSetAvailable")}
    assert deployments.plan_deployments(snap.with_actions([update]), f.clock(90)) == []


def test_progress_deadline_exceeded_when_nothing_moves() -> None:
    dep = f.deployment(replicas=3)
    rs = _rs_for(dep, 3)
    stuck = [f.pod(f"{rs.name}-{i}", owner=rs, node="n1", phase="Pending") for i in range(3)]
    snap, _ = _step(f.snapshot(dep, rs, *stuck), 0)
    progressing = _condition(snap, "Progressing")
    assert progressing is not None and progressing.reason == "ReplicaSetUpdated"
    assert deployments.plan_deployments(snap, f.clock(300)) == []
    snap, _ = _step(snap, 601)
    progressing = _condition(snap, "Progressing")
    assert progressing is not None
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")
    available = _condition(snap, "Available")
    assert available is not None and available.status == "False"


def test_a_rollout_step_records_what_it_sized_each_replicaset_for() -> None:
    dep = NEW_DEP.model_copy(update={"spec": NEW_DEP.spec.model_copy(update={
        "strategy": apps.DeploymentStrategy.model_validate(
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 2}})})})
    old = f.replicaset("web-old", 10, owner=dep, image="busybox:1", uid="old-uid")
    snap = f.snapshot(dep, old, *_ready_pods(old, 10))
    [scale] = [a for a in deployments.plan_deployments(snap, f.clock())
               if a.kind is ActionKind.UPDATE and not a.status_only]
    assert isinstance(scale.obj, apps.ReplicaSet)
    assert scale.obj.spec.replicas == 8
    annotations = scale.obj.metadata.annotations
    assert (annotations[deployments.DESIRED_REPLICAS_ANNOTATION],
            annotations[deployments.MAX_REPLICAS_ANNOTATION]) == ("10", "10")
    assert scale.reason == ("deployment/web: scaled down replicaset/web-old from 10 to 8 "
                            "(RollingUpdate)")
