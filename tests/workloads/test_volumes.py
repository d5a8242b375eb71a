"""plan_volumes: default class, local-path provisioning on the chosen node, binding, release,
reclaim, and claims kept while pods use them."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import core, storage
from gitkube.controllers import volumes
from gitkube.planning import claims
from gitkube.planning.actions import ActionKind
from gitkube.planning.snapshot import Snapshot
from gitkube.reconcile import fixpoint
from tests.controllers import factories as f

from . import builders as b

CHOSEN = {claims.SELECTED_NODE_ANNOTATION: "n1"}


def _after(snap: Snapshot) -> Snapshot:
    return snap.with_actions(volumes.plan_volumes(snap, f.clock()))


def _claim(snap: Snapshot, name: str = "data") -> storage.PersistentVolumeClaim:
    found = claims.claim(snap, "default", name)
    assert found is not None
    return found


def _class(pvc: storage.PersistentVolumeClaim, name: str | None) -> Any:
    return pvc.model_copy(update={"spec": pvc.spec.model_copy(
        update={"storage_class_name": name})})


@pytest.mark.parametrize(("extra", "expected"), [
    pytest.param((), "local-path", id="builtin-local-path-is-the-default"),
    pytest.param((b.storage_class("fast", default=True, created=10),), "fast",
                 id="a-class-marked-default-in-git-wins"),
    pytest.param((b.storage_class("fast", default=True, created=0),
                  storage.builtin_local_path().model_copy(update={"metadata": (
                      storage.builtin_local_path().metadata.model_copy(update={
                          "creation_timestamp": f.at(100)}))})), "fast",
                 id="git-default-wins-over-a-builtin-stored-later"),
    pytest.param((b.storage_class("local-path", default=False),), None,
                 id="git-local-path-not-default-means-no-default"),
])
def test_default_class(extra: tuple[Any, ...], expected: str | None) -> None:
    snap = _after(b.snapshot(b.pvc("data"), *extra))
    assert _claim(snap).spec.storage_class_name == expected


def test_first_consumer_node_gets_the_volume() -> None:
    pvc = _class(b.pvc("data", annotations=CHOSEN), "local-path")
    snap = _after(b.snapshot(pvc, b.node("n1")))
    bound = _claim(snap)
    [pv] = snap.of_kind(storage.PersistentVolume)
    assert pv.name == f"pvc-{pvc.metadata.uid}" == bound.spec.volume_name
    assert pv.path == f"{b.ROOT}/pvc-{pvc.metadata.uid}_default_data"
    assert pv.spec.persistent_volume_reclaim_policy == "Delete"
    assert pv.spec.node_affinity is not None and pv.spec.node_affinity.required is not None
    [term] = pv.spec.node_affinity.required.node_selector_terms
    assert [e.to_dict() for e in term.match_expressions] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]
    assert pv.spec.claim_ref is not None and pv.spec.claim_ref.uid == pvc.metadata.uid
    assert bound.status.phase == "Bound" and bound.status.capacity == {"storage": "1Gi"}
    assert bound.metadata.annotations[volumes.BIND_COMPLETED] == "yes"
    assert bound.metadata.annotations[volumes.STORAGE_PROVISIONER] == "rancher.io/local-path"


def test_class_node_path_is_where_the_directory_goes() -> None:
    pvc = _class(b.pvc("data", annotations=CHOSEN), "disks")
    sc = b.storage_class("disks", parameters={"nodePath": "/mnt/disk1"}, reclaimPolicy="Retain")
    [pv] = _after(b.snapshot(pvc, sc, b.node("n1", root=None))).of_kind(
        storage.PersistentVolume)
    assert pv.path.startswith("/mnt/disk1/pvc-")
    assert pv.spec.persistent_volume_reclaim_policy == "Retain"


@pytest.mark.parametrize(("pvc", "extra", "reason"), [
    pytest.param(_class(b.pvc("data"), "local-path"), (),
                 "waiting for first consumer to be created before binding",
                 id="no-pod-scheduled-yet"),
    pytest.param(_class(b.pvc("data"), "my-storage-class"), (),
                 'storageclass.storage.k8s.io "my-storage-class" not found',
                 id="class-not-found"),
    pytest.param(_class(b.pvc("data"), "ebs"), (b.storage_class("ebs", "ebs.csi.aws.com"),),
                 "waiting for a volume to be created either by the external provisioner "
                 "'ebs.csi.aws.com' or manually by the system administrator (gitkube runs "
                 "only the local-path provisioner: rancher.io/local-path)",
                 id="external-provisioner"),
    pytest.param(_class(b.pvc("data"), "now"), (b.storage_class("now", mode="Immediate"),),
                 "configuration error, no node was specified (the local-path provisioner "
                 "needs volumeBindingMode: WaitForFirstConsumer)", id="immediate-local-path"),
    pytest.param(_class(b.pvc("data", annotations=CHOSEN), "local-path"),
                 (b.node("n1", root=None),),
                 "waiting for node n1 to report where its agent keeps volumes",
                 id="node-has-not-reported-its-storage-root"),
    pytest.param(_class(b.pvc("data", annotations=CHOSEN), "local-path"), (),
                 "the selected node n1 is not in the inventory", id="node-gone"),
])
def test_what_keeps_a_claim_pending(pvc: Any, extra: tuple[Any, ...], reason: str) -> None:
    snap = b.snapshot(pvc, *extra)
    assert volumes.waiting_for(snap, pvc, claims.classes(snap)) == reason
    assert _claim(_after(snap)).status.phase == "Pending"
    assert not _after(snap).of_kind(storage.PersistentVolume)


def _bound(reclaim: str = "Delete") -> Snapshot:
    sc = b.storage_class("local-path", default=True, reclaimPolicy=reclaim)
    pvc = _class(b.pvc("data", annotations=CHOSEN), "local-path")
    return _after(b.snapshot(pvc, sc, b.node("n1")))


def _user(name: str = "db") -> core.Pod:
    return f.pod(name, node="n1", phase="Running", volumes=[
        {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}])


def test_a_claim_removed_from_git_waits_for_its_pods() -> None:
    snap = b.replaced(_bound(), _user())
    kept = {s.obj.key: f.git(s.obj) for s in snap.objects.values()
            if s.obj.kind in ("Node", "StorageClass")}
    snap = snap.with_actions(fixpoint.plan_pass(
        Snapshot(revision=snap.revision, objects=snap.objects, desired=kept, cluster="test"),
        f.clock(5)))
    assert _claim(snap).metadata.deletion_timestamp  # terminating, still there
    gone = b.snapshot(*(s.obj for s in snap.objects.values() if s.obj.kind != "Pod"))
    assert claims.claim(_after(gone), "default", "data") is None


def _released(reclaim: str, observed: dict[str, Any] | None = None,
              nodes: tuple[Any, ...] = (b.node("n1"),)) -> Snapshot:
    [pv] = _bound(reclaim).of_kind(storage.PersistentVolume)
    snap = b.snapshot(pv, *nodes, observed=observed)
    return _after(snap)


def test_released_volume_of_a_retain_class_keeps_its_data() -> None:
    snap = _released("Retain")
    [pv] = snap.of_kind(storage.PersistentVolume)
    assert pv.status.phase == "Released" and pv.status.message == "claim default/data is gone"
    assert volumes.plan_removals(snap, "n1") == []


def test_released_volume_of_a_delete_class_is_removed_by_its_node() -> None:
    snap = _released("Delete")
    [pv] = snap.of_kind(storage.PersistentVolume)
    assert volumes.plan_removals(snap, "n1") == [pv.path]
    still = _after(b.snapshot(pv, b.node("n1"), observed={"n1": {
        volumes.REPORT_KEY: [pv.path]}}))
    assert still.of_kind(storage.PersistentVolume)
    done = [a for a in volumes.plan_volumes(b.snapshot(pv, b.node("n1"), observed={"n1": {
        volumes.REPORT_KEY: []}}), f.clock()) if a.target.kind == "PersistentVolume"]
    assert [(a.kind, a.reason) for a in done] == [(
        ActionKind.DELETE, f"claim default/data is gone and node/n1 removed {pv.path} "
                           "(reclaimPolicy Delete)")]


def test_a_volume_whose_node_left_goes_at_once() -> None:
    assert not _released("Delete", nodes=()).of_kind(storage.PersistentVolume)


def test_a_claim_whose_volume_vanished_is_lost() -> None:
    pvc = _claim(_bound())
    snap = _after(b.snapshot(pvc, b.node("n1")))
    assert _claim(snap).status.phase == "Lost"


def test_git_does_not_undo_the_binding() -> None:
    declared = _class(b.pvc("data"), None)
    snap = _bound()
    desired = {declared.key: f.git(declared)}
    plan = fixpoint.plan_pass(Snapshot(revision=snap.revision, objects=snap.objects,
                                       desired=desired, cluster="test"), f.clock())
    assert [a for a in plan if a.is_change and a.target.kind == "PersistentVolumeClaim"] == []


def test_the_builtin_class_is_stored_with_the_first_claim() -> None:
    assert not _after(b.snapshot(b.node("n1"))).of_kind(storage.StorageClass)
    [made] = _after(b.snapshot(b.pvc("data"))).of_kind(storage.StorageClass)
    assert (made.name, made.provisioner, made.volume_binding_mode, made.is_default) == (
        "local-path", "rancher.io/local-path", "WaitForFirstConsumer", True)
    declared = b.storage_class("local-path", reclaimPolicy="Retain")
    [kept] = _after(b.snapshot(b.pvc("data"), declared)).of_kind(storage.StorageClass)
    assert kept.reclaim_policy == "Retain"
