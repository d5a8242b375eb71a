"""Scaling a Deployment as Kubernetes does: a paused one still resizes, and a change of replicas
in the middle of a rollout is shared among the active ReplicaSets in proportion to their size.

Expected numbers follow ``pkg/controller/deployment/sync.go: scale()`` and
``util/deployment_util.go: GetProportion / getReplicaSetFraction``: with ``allowed =
replicas + maxSurge`` and ``toAdd = allowed - sum(active sizes)``, each active ReplicaSet,
largest first, gets ``round(size * allowed / its max-replicas annotation) - size`` (never past
what is left of ``toAdd``), and the rounding leftover goes to the first (largest) one.
"""

from __future__ import annotations

from collections import Counter

import pytest

from gitkube.api import apps, core, podstate
from gitkube.clock import Clock
from gitkube.controllers import deployments, replicasets, rollout
from gitkube.controllers.rollout import ReplicaSetState as RS
from gitkube.controllers.rollout import Strategy
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

from . import factories as f

DOCS = Strategy("RollingUpdate", 3, 2)  # the Kubernetes documentation's proportional example
ROLLING_25 = Strategy("RollingUpdate", "25%", "25%")
NO_SURGE = Strategy("RollingUpdate", 0, 1)
RECREATE = Strategy("Recreate")
T1, T2, T3 = "2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z", "2026-01-01T00:00:03Z"


def _rs(name: str, replicas: int, created: str, *, desired: int | None = 10,
        max_replicas: int | None = 13, available: int = 0) -> RS:
    return RS(name, replicas, available, created=created, desired_replicas=desired,
              max_replicas=max_replicas)


@pytest.mark.parametrize(
    ("strategy", "desired", "new", "olds", "expected"),
    [
        # allowed 15+3=18, toAdd 18-13=5. old: round(8*18/13=11.08)-8=3; new:
        # round(5*18/13=6.92)-5=2 → the documentation's 11 and 7.
        pytest.param(DOCS, 15, _rs("new", 5, T2), [_rs("old", 8, T1, available=8)],
                     {"old": 11, "new": 7}, id="docs-10-to-15-old-11-new-7"),
        # maxSurge 25% of 15 rounds up to 4: allowed 19, toAdd 6. old: round(8*19/13=11.69)-8=4;
        # new: round(5*19/13=7.31)-5=2.
        pytest.param(ROLLING_25, 15, _rs("new", 5, T2), [_rs("old", 8, T1, available=8)],
                     {"old": 12, "new": 7}, id="25%-10-to-15-surge-grows-too"),
        # allowed 5+3=8, toAdd -5, older first on ties. old: round(8*8/13=4.92)-8=-3;
        # new: round(5*8/13=3.08)-5=-2.
        pytest.param(DOCS, 5, _rs("new", 5, T2), [_rs("old", 8, T1, available=8)],
                     {"old": 5, "new": 3}, id="docs-10-to-5-both-shrink"),
        # allowed 11, toAdd 1: a round(4.4)-4=0, c round(3.3)-3=0, b 0; leftover 1 → largest.
        pytest.param(NO_SURGE, 11, _rs("c", 3, T3, max_replicas=10),
                     [_rs("b", 3, T2, max_replicas=10), _rs("a", 4, T1, max_replicas=10)],
                     {"a": 5, "b": 3, "c": 3}, id="leftover-to-the-largest"),
        # Equal sizes, scaling up: the newer grows first; round(5*11/10=5.5) is 6 (half up).
        pytest.param(NO_SURGE, 11, _rs("b", 5, T2, max_replicas=10),
                     [_rs("a", 5, T1, max_replicas=10)], {"b": 6, "a": 5},
                     id="tie-up-newer-first"),
        # Equal sizes, scaling down: round(4.5)=5 → no share; the leftover -1 → the older.
        pytest.param(NO_SURGE, 9, _rs("b", 5, T2, max_replicas=10),
                     [_rs("a", 5, T1, max_replicas=10)], {"a": 4, "b": 5},
                     id="tie-down-older-first"),
        # No max-replicas annotation: the proportion is taken against status.replicas (13).
        pytest.param(DOCS, 15, _rs("new", 5, T2, max_replicas=None),
                     [_rs("old", 8, T1, max_replicas=None)], {"old": 11, "new": 7},
                     id="no-annotation-uses-status-replicas"),
        pytest.param(DOCS, 0, _rs("new", 5, T2), [_rs("old", 8, T1)], {"old": 0, "new": 0},
                     id="to-zero-all-go"),
        pytest.param(ROLLING_25, 5, None, [_rs("old", 3, T1, desired=3, max_replicas=4)],
                     {"old": 5}, id="one-active-takes-the-count"),
        pytest.param(ROLLING_25, 3, None, [_rs("old", 3, T1)], {},
                     id="one-active-already-right"),
        pytest.param(ROLLING_25, 4, None, [_rs("b", 0, T2), _rs("a", 0, T1)], {"b": 4},
                     id="none-active-newest-takes-it"),
        pytest.param(ROLLING_25, 4, _rs("new", 0, T1), [_rs("b", 0, T2)], {"new": 4},
                     id="none-active-new-one-first"),
        pytest.param(ROLLING_25, 10, _rs("new", 10, T2, available=10),
                     [_rs("old", 2, T1)], {"old": 0}, id="saturated-new-old-to-zero"),
        pytest.param(RECREATE, 15, _rs("new", 5, T2), [_rs("old", 8, T1)], {},
                     id="recreate-does-not-share"),
    ],
)
def test_plan_scale(
    strategy: Strategy, desired: int, new: RS | None, olds: list[RS], expected: dict[str, int],
) -> None:
    assert rollout.plan_scale(strategy, desired, new, olds, observed_replicas=13) == expected


@pytest.mark.parametrize(
    ("desired", "sets", "expected"),
    [
        pytest.param(15, [_rs("a", 8, T1)], True, id="active-sized-for-10"),
        pytest.param(10, [_rs("a", 8, T1)], False, id="same-count"),
        pytest.param(15, [_rs("a", 0, T1)], False, id="inactive-says-nothing"),
        pytest.param(15, [_rs("a", 8, T1, desired=None)], False, id="no-annotation"),
    ],
)
def test_is_scaling_event(desired: int, sets: list[RS], expected: bool) -> None:
    assert rollout.is_scaling_event(desired, sets) is expected


# -- scenarios: rounds of the deployment and ReplicaSet planners, with a stand-in kubelet ----


def _kubelet(snap: Snapshot, clock: Clock, pullable: set[str]) -> list[Action]:
    """Pending pods whose image can be pulled start and become ready; others stay Pending."""
    now = objects.now_text(clock)
    out = []
    for pod in snap.of_kind(core.Pod):
        image = pod.spec.containers[0].image
        if pod.status.phase != "Pending" or image not in pullable:
            continue
        status = core.PodStatus.model_validate({
            "phase": "Running", "startTime": now,
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
            "containerStatuses": [{"name": c.name, "image": c.image, "ready": True,
                                   "restartCount": 0} for c in pod.spec.containers]})
        out.append(Action(ActionKind.UPDATE, ObjectRef.of(pod), "started",
                          obj=pod.model_copy(update={"status": status})))
    return out


def _settle(snap: Snapshot, pullable: set[str], seconds: float = 0) -> Snapshot:
    """Rounds of planners until nothing changes any more."""
    clock = f.clock(seconds)
    for _ in range(60):
        before = {k: s.obj.to_dict() for k, s in snap.objects.items()}
        for planner in (deployments.plan_deployments, replicasets.plan_replicasets):
            snap = snap.with_actions(planner(snap, clock))
        snap = snap.with_actions(_kubelet(snap, clock, pullable))
        if {k: s.obj.to_dict() for k, s in snap.objects.items()} == before:
            return snap
    raise AssertionError("the planners did not settle")


def _images(snap: Snapshot) -> Counter[str]:
    """Active pods by image: what a user would see running (or trying to)."""
    return Counter(p.spec.containers[0].image for p in snap.of_kind(core.Pod)
                   if podstate.is_active(p))


def _sizes(snap: Snapshot) -> dict[str, int]:
    """spec.replicas by the image of each ReplicaSet's template."""
    return {rs.spec.template.spec.containers[0].image: rs.spec.replicas
            for rs in snap.of_kind(apps.ReplicaSet)}


def _edit(snap: Snapshot, *, image: str | None = None, **spec: object) -> Snapshot:
    """The Deployment as a push to Git would change it (new generation)."""
    [dep] = snap.of_kind(apps.Deployment)
    if image is not None:
        template = dep.spec.template.model_copy(deep=True)
        template.spec.containers[0].image = image
        spec["template"] = template
    meta = dep.metadata.model_copy(update={"generation": (dep.metadata.generation or 1) + 1})
    updated = dep.model_copy(update={"spec": dep.spec.model_copy(update=spec), "metadata": meta})
    return snap.with_actions([Action(ActionKind.UPDATE, ObjectRef.of(dep), "push",
                                     obj=updated)])


def _progressing(snap: Snapshot) -> tuple[str, str | None]:
    [dep] = snap.of_kind(apps.Deployment)
    cond = next(c for c in dep.status.conditions if c.type == "Progressing")
    return cond.status, cond.reason


def test_a_paused_deployment_scales_without_rolling_out() -> None:
    snap = _settle(f.snapshot(f.deployment(replicas=3)), {"busybox:1", "busybox:2"})
    assert _images(snap) == {"busybox:1": 3}

    # Paused, then a new image and 3 → 5 in one push: 5 pods, all of the old template.
    snap = _settle(_edit(snap, paused=True), {"busybox:1", "busybox:2"})
    snap = _settle(_edit(snap, image="busybox:2", replicas=5), {"busybox:1", "busybox:2"})
    assert _images(snap) == {"busybox:1": 5}
    assert _sizes(snap) == {"busybox:1": 5}, "no ReplicaSet for the new template while paused"
    [rs] = snap.of_kind(apps.ReplicaSet)
    assert (rs.metadata.annotations[deployments.DESIRED_REPLICAS_ANNOTATION],
            rs.metadata.annotations[deployments.MAX_REPLICAS_ANNOTATION]) == ("5", "7")
    assert _progressing(snap) == ("Unknown", "DeploymentPaused")

    # Resumed: the new template rolls out to the 5 replicas.
    snap = _settle(_edit(snap, paused=False), {"busybox:1", "busybox:2"})
    assert _images(snap) == {"busybox:2": 5}
    assert _sizes(snap) == {"busybox:1": 0, "busybox:2": 5}


def test_scaling_mid_rollout_is_proportional_then_the_rollout_goes_on() -> None:
    """The Kubernetes documentation's example: 10 replicas, maxSurge 3, maxUnavailable 2,
    a new image that cannot be pulled, then scaled to 15."""
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    snap = _settle(f.snapshot(f.deployment(replicas=10, strategy=strategy)), {"busybox:1"})
    snap = _settle(_edit(snap, image="busybox:broken"), {"busybox:1"})
    # Stuck: new 3 (surge), old down by 2 (maxUnavailable), new up to 13 in all.
    assert _sizes(snap) == {"busybox:1": 8, "busybox:broken": 5}

    snap = _settle(_edit(snap, replicas=15), {"busybox:1"})
    # allowed 15+3=18, to add 5: old round(8*18/13)-8=3, new round(5*18/13)-5=2.
    assert _sizes(snap) == {"busybox:1": 11, "busybox:broken": 7}
    assert _images(snap) == {"busybox:1": 11, "busybox:broken": 7}
    for rs in snap.of_kind(apps.ReplicaSet):
        assert rs.metadata.annotations[deployments.DESIRED_REPLICAS_ANNOTATION] == "15"
        assert rs.metadata.annotations[deployments.MAX_REPLICAS_ANNOTATION] == "18"

    # The image can be pulled at last: the rollout goes on to 15 new pods.
    snap = _settle(snap, {"busybox:1", "busybox:broken"}, seconds=60)
    assert _sizes(snap) == {"busybox:1": 0, "busybox:broken": 15}
    assert _images(snap) == {"busybox:broken": 15}


def test_paused_mid_rollout_scales_both_replicasets() -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    snap = _settle(f.snapshot(f.deployment(replicas=10, strategy=strategy)), {"busybox:1"})
    snap = _settle(_edit(snap, image="busybox:broken"), {"busybox:1"})
    snap = _settle(_edit(snap, paused=True), {"busybox:1"})
    # allowed 5+3=8, to add -5, older first: old round(8*8/13)-8=-3, new round(5*8/13)-5=-2.
    snap = _settle(_edit(snap, replicas=5), {"busybox:1", "busybox:broken"})
    assert _sizes(snap) == {"busybox:1": 5, "busybox:broken": 3}
    assert _progressing(snap) == ("Unknown", "DeploymentPaused")


def test_a_new_template_with_new_replicas_scales_the_old_replicaset_first() -> None:
    """isScalingEvent comes before the rollout: the old ReplicaSet takes the new count in one
    step, and the new one is created in the next."""
    snap = _settle(f.snapshot(f.deployment(replicas=3)), {"busybox:1"})
    snap = _edit(snap, image="busybox:2", replicas=5)
    actions = deployments.plan_deployments(snap, f.clock())
    assert f.of(actions, ActionKind.CREATE) == []
    [scale] = [a for a in actions if not a.status_only]
    assert scale.reason.endswith("from 3 to 5 (replicas changed)")
    snap = snap.with_actions(actions)
    [create] = f.of(deployments.plan_deployments(snap, f.clock()), ActionKind.CREATE)
    assert isinstance(create.obj, apps.ReplicaSet) and create.obj.spec.replicas == 2
