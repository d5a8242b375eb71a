"""Deployment status over a rollout on a fake clock: the deadline says why, a finished rollout
stays finished, a stuck one leaves the old pods serving, a rollback bumps the revision."""

from __future__ import annotations

import pytest

from gitkube.api import apps, core
from gitkube.controllers import deployments
from gitkube.planning.actions import ActionKind
from gitkube.planning.snapshot import Snapshot

from . import factories as f
from .test_deployments import _condition, _ready_pods, _rs_for, _step

ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}


def _crash_looping(rs: apps.ReplicaSet, name: str) -> core.Pod:
    pod = f.pod(name, owner=rs, node="n1", phase="Running", ready=False, restarts=4)
    status = pod.status.container_statuses[0].model_copy(update={
        "state": core.ContainerState(waiting=core.ContainerStateWaiting(
            reason="CrashLoopBackOff"))})
    return pod.model_copy(update={"status": pod.status.model_copy(update={
        "container_statuses": [status]})})


def _settle(snap: Snapshot, at: float) -> Snapshot:
    for _ in range(5):
        snap, actions = _step(snap, at)
        if not actions:
            break
    return snap


@pytest.mark.parametrize(
    ("new_pod", "why"),
    [
        pytest.param("crash", "0 of 1 new pods available (web-new-0: container web "
                     "CrashLoopBackOff, restarted 4 times)", id="crash-loop"),
        pytest.param("unready", "0 of 1 new pods available (web-new-0: container web not "
                     "ready)", id="never-ready"),
    ],
)
def test_a_stuck_rollout_stops_at_the_deadline_and_says_why(new_pod: str, why: str) -> None:
    dep = f.deployment(replicas=3, image="busybox:2", strategy=ROLLING)
    old = f.replicaset("web-old", 2, owner=dep, uid="old-uid", revision=1)
    new = _rs_for(dep, 1, revision=2)
    pod = (_crash_looping(new, "web-new-0") if new_pod == "crash" else
           f.pod("web-new-0", owner=new, node="n1", phase="Running", ready=False))
    snap = _settle(f.snapshot(dep, old, new, pod, *_ready_pods(old, 2)), 0)
    assert _condition(snap, "Progressing").reason == "ReplicaSetUpdated"  # type: ignore[union-attr]
    assert deployments.plan_deployments(snap, f.clock(600)) == [], "within the deadline"
    snap, actions = _step(snap, 601)
    assert not [a for a in actions if not a.status_only], "the rollout stops there"
    progressing = _condition(snap, "Progressing")
    assert progressing is not None
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")
    assert progressing.message == f'ReplicaSet "{new.name}" has timed out progressing: {why}'
    status = snap.of_kind(apps.Deployment)[0].status
    assert status.available_replicas == 2, "the old pods beyond maxUnavailable keep serving"
    assert deployments.plan_deployments(snap, f.clock(900)) == [], "no rewrite every pass"


def test_a_finished_rollout_stays_finished_when_a_pod_is_lost() -> None:
    dep = f.deployment(replicas=3)
    rs = _rs_for(dep, 3)
    snap = _settle(f.snapshot(dep, rs, *_ready_pods(rs, 3)), 0)
    assert _condition(snap, "Progressing").reason == "NewReplicaSetAvailable"  # type: ignore[union-attr]
    one_lost = Snapshot(revision=snap.revision, cluster=snap.cluster, objects={
        k: v for k, v in snap.objects.items() if not k.endswith(f"{rs.name}-2")})
    after = _settle(one_lost, 2000)
    progressing = _condition(after, "Progressing")
    assert progressing is not None and progressing.reason == "NewReplicaSetAvailable"


def test_a_template_back_in_git_becomes_the_newest_revision() -> None:
    dep = f.deployment(replicas=2, image="busybox:1")
    old_template = _rs_for(dep, 0, revision=1)
    newer = f.replicaset("web-newer", 2, owner=dep, image="busybox:2", revision=2, uid="n-uid")
    snap = f.snapshot(dep, old_template, newer, *_ready_pods(newer, 2))
    snap = snap.__class__(**{**snap.__dict__, "source_revision": "c0ffee"})
    actions = deployments.plan_deployments(snap, f.clock())
    bumped = next(a.obj for a in actions if a.kind is ActionKind.UPDATE
                  and a.target.name == old_template.name and not a.status_only)
    assert isinstance(bumped, apps.ReplicaSet)
    annotations = bumped.metadata.annotations
    assert annotations[deployments.REVISION_ANNOTATION] == "3"
    assert annotations[deployments.REVISION_HISTORY_ANNOTATION] == "1"
    assert annotations[deployments.SOURCE_REVISION_ANNOTATION] == "c0ffee"
