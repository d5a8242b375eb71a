"""plan_statefulsets: ordinals in order, claims per pod, rolling updates from the top down."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import core, revisions, statefulsets, storage
from gitkube.api.meta import OwnerReference
from gitkube.controllers import statefulpods
from gitkube.controllers import statefulsets as controller
from gitkube.planning.actions import ActionKind
from gitkube.planning.snapshot import Snapshot
from gitkube.reconcile import fixpoint
from tests.controllers import factories as f

from . import builders as b

NODES = (b.node("n1"), b.node("n2"))


def _pods(snap: Snapshot) -> list[str]:
    return sorted(p.name for p in snap.of_kind(core.Pod))


def _sts(snap: Snapshot, name: str = "web") -> statefulsets.StatefulSet:
    found = snap.get(f"/registry/statefulsets/default/{name}")
    assert found is not None and isinstance(found.obj, statefulsets.StatefulSet)
    return found.obj


def _passes(snap: Snapshot, count: int, *, start: float = 10) -> list[Snapshot]:
    out = []
    for i in range(count):
        snap, _ = b.settle(snap, seconds=start + i * 10)
        out.append(snap)
    return out


def test_ordered_ready_makes_one_pod_after_another() -> None:
    seen = _passes(b.snapshot(b.statefulset(), *NODES), 3)
    assert [_pods(s) for s in seen] == [["web-0"], ["web-0", "web-1"],
                                       ["web-0", "web-1", "web-2"]]


def test_parallel_makes_them_all_at_once() -> None:
    [snap] = _passes(b.snapshot(b.statefulset(policy="Parallel"), *NODES), 1)
    assert _pods(snap) == ["web-0", "web-1", "web-2"]


def test_the_next_pod_waits_for_min_ready_seconds() -> None:
    snap = b.snapshot(b.statefulset(min_ready=30), *NODES)
    snap, _ = b.settle(snap, seconds=0)
    snap, _ = b.settle(snap, seconds=10)
    assert _pods(snap) == ["web-0"]
    snap, _ = b.settle(snap, seconds=40)
    assert _pods(snap) == ["web-0", "web-1"]


def test_identity_and_storage_of_a_member() -> None:
    [snap] = _passes(b.snapshot(b.statefulset(), *NODES), 1)
    pod = next(p for p in snap.of_kind(core.Pod) if p.name == "web-0")
    assert (pod.spec.hostname, pod.spec.subdomain) == ("web-0", "web")
    assert pod.metadata.labels[statefulpods.POD_NAME_LABEL] == "web-0"
    assert pod.metadata.labels[statefulpods.POD_INDEX_LABEL] == "0"
    assert pod.metadata.labels[revisions.REVISION_HASH_LABEL] == _sts(snap).status.update_revision
    [volume] = pod.spec.volumes
    assert volume.persistent_volume_claim is not None
    assert volume.persistent_volume_claim.claim_name == "data-web-0"
    [claim] = snap.of_kind(storage.PersistentVolumeClaim)
    assert claim.name == "data-web-0" and claim.metadata.labels == {"app": "web"}
    assert claim.status.phase == "Bound" and claim.spec.storage_class_name == "local-path"


def test_ordinals_start_where_asked() -> None:
    seen = _passes(b.snapshot(b.statefulset(replicas=2, start=5, policy="Parallel"), *NODES), 1)
    assert _pods(seen[-1]) == ["web-5", "web-6"]


def _running(replicas: int = 3, *, policy: str | None = "Parallel", **kw: Any) -> Snapshot:
    """A set whose pods run (made all at once; ``policy`` is what it has from then on)."""
    snap = b.snapshot(b.statefulset(replicas=replicas, policy="Parallel", **kw), *NODES)
    snap, _ = b.settle(snap)
    return _with(snap, podManagementPolicy=policy or "OrderedReady")


def _with(snap: Snapshot, **spec: Any) -> Snapshot:
    sts = _sts(snap)
    data = sts.to_dict()
    data["spec"].update(spec)
    data["metadata"]["generation"] = (sts.metadata.generation or 1) + 1
    return b.replaced(snap, statefulsets.StatefulSet.model_validate(data))


def _image(snap: Snapshot, image: str) -> Snapshot:
    template = _sts(snap).spec.template.to_dict()
    template["spec"]["containers"][0]["image"] = image
    return _with(snap, template=template)


def _images(snap: Snapshot) -> dict[str, str]:
    return {p.name: p.spec.containers[0].image for p in snap.of_kind(core.Pod)}


def test_scale_down_takes_the_highest_ordinal_first_one_at_a_time() -> None:
    snap = _with(_running(policy=None), replicas=1)
    snap, actions = b.settle(snap, seconds=10)
    assert b.summary(actions) == ["terminate pod/web-2"]
    snap, actions = b.settle(snap, seconds=20)
    assert b.summary(actions) == ["terminate pod/web-1"]
    assert _pods(snap) == ["web-0"]
    assert len(snap.of_kind(storage.PersistentVolumeClaim)) == 3  # Retain: claims stay


def test_rolling_update_goes_from_the_highest_ordinal_down() -> None:
    snap = _image(_running(policy=None), "busybox:2")
    order = []
    for step in range(7):
        snap, actions = b.settle(snap, seconds=10 + step * 10)
        order += [a.split("/")[1] for a in b.summary(actions) if a.startswith("terminate")]
    assert order == ["web-2", "web-1", "web-0"]
    assert set(_images(snap).values()) == {"busybox:2"}
    status = _sts(snap).status
    assert status.current_revision == status.update_revision
    assert (status.current_replicas, status.updated_replicas) == (3, 3)


def test_partition_keeps_the_lower_ordinals_at_the_current_revision() -> None:
    snap = _image(_with(_running(), updateStrategy={
        "type": "RollingUpdate", "rollingUpdate": {"partition": 2}}), "busybox:2")
    for step in range(4):
        snap, _ = b.settle(snap, seconds=10 + step * 10)
    assert _images(snap) == {"web-0": "busybox:1", "web-1": "busybox:1", "web-2": "busybox:2"}
    status = _sts(snap).status
    assert status.current_revision != status.update_revision
    assert (status.current_replicas, status.updated_replicas) == (2, 1)
    # A pod below the partition that goes comes back at the current revision.
    snap = b.snapshot(*(s.obj for s in snap.objects.values() if s.obj.name != "web-0"))
    snap, _ = b.settle(snap, seconds=100)
    assert _images(snap)["web-0"] == "busybox:1"


def test_on_delete_waits_and_a_deleted_pod_comes_back_updated() -> None:
    snap = _image(_with(_running(), updateStrategy={"type": "OnDelete"}), "busybox:2")
    snap, actions = b.settle(snap, seconds=10)
    assert not [a for a in b.summary(actions) if "pod/" in a]
    snap = b.snapshot(*(s.obj for s in snap.objects.values() if s.obj.name != "web-1"))
    snap, _ = b.settle(snap, seconds=20)
    assert _images(snap) == {"web-0": "busybox:1", "web-1": "busybox:2", "web-2": "busybox:1"}


def test_max_unavailable_rolls_several_at_once() -> None:
    snap = _image(_with(_running(), updateStrategy={
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}), "busybox:2")
    snap, actions = b.settle(snap, seconds=10)
    assert b.summary(actions)[-2:] == ["terminate pod/web-2", "terminate pod/web-1"]


def test_a_failed_pod_is_made_again() -> None:
    snap = _running()
    failed = next(p for p in snap.of_kind(core.Pod) if p.name == "web-1")
    snap = b.replaced(snap, b.ready(failed, "n1", phase="Failed", is_ready=False))
    snap, actions = b.settle(snap, seconds=10)
    assert "bind pod/web-1" in b.summary(actions)  # deleted, made again and bound: one write
    made = next(p for p in snap.of_kind(core.Pod) if p.name == "web-1")
    assert made.metadata.uid != failed.metadata.uid


@pytest.mark.parametrize(("retention", "scaled_owner", "set_owner"), [
    pytest.param({}, False, False, id="retain-retain"),
    pytest.param({"whenScaled": "Delete"}, True, False, id="scaled-delete"),
    pytest.param({"whenDeleted": "Delete"}, False, True, id="deleted-delete"),
    pytest.param({"whenScaled": "Delete", "whenDeleted": "Delete"}, True, True,
                 id="delete-delete"),
])
def test_claim_owners_follow_the_retention_policy(
        retention: dict[str, str], scaled_owner: bool, set_owner: bool) -> None:
    snap = _running(retention=retention)
    owners = {c.name: {r.kind for r in c.metadata.owner_references}
              for c in snap.of_kind(storage.PersistentVolumeClaim)}
    assert owners["data-web-0"] == ({"StatefulSet"} if set_owner else set())
    snap = _with(snap, replicas=2)
    snap, _ = b.settle(snap, seconds=10)
    claim = next(c for c in snap.of_kind(storage.PersistentVolumeClaim)
                 if c.name == "data-web-2")
    assert {r.kind for r in claim.metadata.owner_references} == (
        {"Pod"} if scaled_owner else set())


def test_scaled_delete_claim_goes_with_its_pod() -> None:
    snap = _with(_running(retention={"whenScaled": "Delete"}), replicas=2)
    for step in range(3):
        snap, _ = b.settle(snap, seconds=10 + step)
    assert sorted(c.name for c in snap.of_kind(storage.PersistentVolumeClaim)) == [
        "data-web-0", "data-web-1"]


def test_a_claim_of_an_earlier_pod_is_waited_for() -> None:
    snap = b.snapshot(b.statefulset(replicas=1), *NODES)
    claim = b.pvc("data-web-0")
    earlier = OwnerReference(api_version="v1", kind="Pod", name="web-0", uid="an-older-web-0",
                             controller=True)
    stale = claim.model_copy(update={"metadata": claim.metadata.model_copy(update={
        "owner_references": [earlier]})})
    actions = controller.plan_statefulsets(b.replaced(snap, stale), f.clock())
    assert not [a for a in b.summary(actions) if "pod/" in a]


def test_a_steady_statefulset_says_so_in_the_plan() -> None:
    snap, _ = b.settle(_running(), seconds=10)
    noops = [a.reason for a in fixpoint.plan_pass(snap, f.clock(20))
             if a.kind is ActionKind.NOOP]
    assert noops == ["statefulset/web: 3/3 replicas ready"]


@pytest.mark.parametrize(("seconds", "web_1_ready", "counts"), [
    pytest.param(10, True, (3, 3, 0), id="ready-but-not-yet-available"),
    pytest.param(40, True, (3, 3, 3), id="available-after-min-ready-seconds"),
    pytest.param(40, False, (3, 2, 2), id="a-pod-not-ready-is-neither"),
])
def test_status_counts_as_kubectl_shows_them(seconds: float, web_1_ready: bool,
                                             counts: tuple[int, int, int]) -> None:
    """``updateStatus``: replicas, readyReplicas, availableReplicas (``minReadySeconds`` after
    Ready), and the generation the controller saw."""
    snap = _running(min_ready=30)
    pod = next(p for p in snap.of_kind(core.Pod) if p.name == "web-1")
    snap = b.replaced(snap, b.ready(pod, "n1", is_ready=web_1_ready))
    snap = _with(snap, replicas=3)  # a new generation, nothing else changed
    snap = snap.with_actions(controller.plan_statefulsets(snap, f.clock(seconds)))
    status = _sts(snap).status
    assert (status.replicas, status.ready_replicas, status.available_replicas) == counts
    assert status.observed_generation == _sts(snap).metadata.generation == 3
    assert (status.current_replicas, status.updated_replicas) == (3, 3)


@pytest.mark.parametrize(("retention", "left"), [
    pytest.param({}, ["data-web-0", "data-web-1", "data-web-2"], id="retain-keeps-every-claim"),
    pytest.param({"whenScaled": "Delete"}, ["data-web-0", "data-web-1", "data-web-2"],
                 id="scaled-delete-keeps-them-when-the-set-goes"),
    pytest.param({"whenDeleted": "Delete"}, [], id="deleted-delete-takes-them-along"),
])
def test_claims_when_the_set_is_deleted(retention: dict[str, str], left: list[str]) -> None:
    """The set deleted: its pods go, then (whenDeleted: Delete) its claims, once unused."""
    snap = _running(retention=retention)
    snap = b.snapshot(*(s.obj for s in snap.objects.values()
                        if not isinstance(s.obj, statefulsets.StatefulSet)))
    for step in range(3):
        snap, _ = b.settle(snap, seconds=10 + step * 10)
    assert _pods(snap) == []
    assert sorted(c.name for c in snap.of_kind(storage.PersistentVolumeClaim)) == left
