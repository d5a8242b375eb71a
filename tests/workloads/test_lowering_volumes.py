"""Lowering claim and hostPath volumes: the node directory a pod mounts, or why it waits."""

from __future__ import annotations

import pytest

from gitkube.api import core
from gitkube.controllers import lowering
from gitkube.planning.snapshot import Snapshot
from tests.controllers import factories as f

from . import builders as b
from .test_volumes import _bound

MOUNT = [{"name": "c", "image": "busybox:1",
          "volumeMounts": [{"name": "data", "mountPath": "/data"},
                           {"name": "logs", "mountPath": "/var/log", "readOnly": True}]}]


def _pod(claim: str = "data", read_only: bool = False) -> core.Pod:
    pod = f.pod("db", node="n1", containers=MOUNT, volumes=[
        {"name": "data", "persistentVolumeClaim": {"claimName": claim, "readOnly": read_only}},
        {"name": "logs", "hostPath": {"path": "/var/log", "type": "Directory"}}])
    return pod


def _lower(pod: core.Pod, snap: Snapshot) -> lowering.protocol.PodRun:
    return lowering.lower_pod(pod, b.replaced(snap, pod))


def test_a_bound_claim_is_its_volume_directory_on_the_node() -> None:
    snap = _bound()
    run = _lower(_pod(), snap)
    [pv] = [s.obj for s in snap.objects.values() if s.obj.kind == "PersistentVolume"]
    assert run["volumes"] == [
        {"name": "data", "kind": "hostPath", "path": pv.spec.host_path.path,
         "type": "DirectoryOrCreate", "claim": True},
        {"name": "logs", "kind": "hostPath", "path": "/var/log", "type": "Directory"}]
    assert run["containers"][0]["mounts"] == [
        {"volume": "data", "mountPath": "/data"},
        {"volume": "logs", "mountPath": "/var/log", "readOnly": True}]
    assert "files" not in run["containers"][0]


def test_a_claim_mounted_read_only_is_read_only() -> None:
    run = _lower(_pod(read_only=True), _bound())
    assert run["containers"][0]["mounts"][0]["readOnly"] is True


@pytest.mark.parametrize(("snap", "message"), [
    pytest.param(b.snapshot(b.node("n1")), 'persistentvolumeclaim "data" not found',
                 id="no-claim"),
    pytest.param(b.snapshot(b.node("n1"), b.pvc("data")),
                 'persistentvolumeclaim "data" is not bound to a volume yet', id="unbound"),
])
def test_a_pod_waits_for_its_volume_in_container_creating(snap: Snapshot, message: str) -> None:
    with pytest.raises(lowering.LoweringError) as caught:
        _lower(_pod(), snap)
    assert (caught.value.reason, caught.value.message) == ("ContainerCreating", message)


def test_the_node_path_is_part_of_the_spec_hash() -> None:
    snap = _bound()
    first = _lower(_pod(), snap)
    assert _lower(_pod(), snap)["hash"] == first["hash"]
    other = _pod()
    other.spec.volumes[1].host_path.path = "/srv/logs"  # type: ignore[union-attr]
    assert _lower(other, snap)["hash"] != first["hash"]
