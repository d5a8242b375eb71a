"""The StatefulSet and claim examples of the Kubernetes website, read as Git reads them and
planned pass after pass on three nodes: where they land, and what they wait for."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import core, daemonsets, statefulsets, storage
from gitkube.api.meta import SOURCE_ANNOTATION
from gitkube.planning.snapshot import Snapshot
from gitkube.reconcile import fixpoint, rootcause
from gitkube.source import manifests, yamlload
from tests.controllers import factories as f
from tests.corpus import CORPUS

from . import builders as b

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not present")

NODES = (b.node("n1"), b.node("n2"), b.node("n3"))


def _read(*paths: str) -> list[Any]:
    out = []
    for path in paths:
        documents, problems = yamlload.parse_documents((CORPUS / path).read_bytes(), path)
        objects, invalid = manifests.validate_documents(documents)
        assert not problems and not invalid, [str(p) for p in problems + invalid]
        out += objects
    return out


def _first_pass(*paths: str) -> tuple[Snapshot, list[Any]]:
    declared = {o.key: o for o in _read(*paths)}
    for node in NODES:
        declared[node.key] = node
    snap = Snapshot(revision=1, objects={}, desired=declared, cluster="test")
    actions = fixpoint.plan_pass(snap, f.clock())
    return snap.with_actions(actions), actions


def _pending(snap: Snapshot, pod: str) -> str:
    """What ``gitkube describe pod`` shows: the PodScheduled condition's message."""
    [found] = [p for p in snap.of_kind(core.Pod) if p.name == pod]
    condition = found.status.condition("PodScheduled")
    assert condition is not None and condition.status == "False" and condition.message
    return condition.message


def test_mysql_comes_up_in_order_each_replica_with_its_volume() -> None:
    snap, _ = _first_pass("application/mysql/mysql-configmap.yaml",
                          "application/mysql/mysql-services.yaml",
                          "application/mysql/mysql-statefulset.yaml")
    snap = b.snapshot(*(s.obj for s in snap.objects.values()), revision=2)
    for step in range(3):
        snap, _ = b.settle(snap, seconds=10 * (step + 1))
    pods = {p.name: p.spec.node_name for p in snap.of_kind(core.Pod)}
    assert sorted(pods) == ["mysql-0", "mysql-1", "mysql-2"]
    volumes = {v.spec.claim_ref.name if v.spec.claim_ref else "": v
               for v in snap.of_kind(storage.PersistentVolume)}
    assert sorted(volumes) == ["data-mysql-0", "data-mysql-1", "data-mysql-2"]
    for ordinal in range(3):
        volume = volumes[f"data-mysql-{ordinal}"]
        assert volume.metadata.annotations["local.path.provisioner/selected-node"] == pods[
            f"mysql-{ordinal}"]
        assert volume.spec.capacity == {"storage": "10Gi"}


def test_a_claim_of_a_class_nobody_declared_keeps_its_pod_pending() -> None:
    snap, _ = _first_pass("controllers/statefulset.yaml")
    assert _pending(snap, "web-0") == (
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.")
    [claim] = snap.of_kind(storage.PersistentVolumeClaim)
    assert claim.name == "www-web-0" and claim.status.phase == "Pending"
    assert SOURCE_ANNOTATION not in claim.metadata.annotations  # the controller's, not Git's
    assert [p.name for p in snap.of_kind(core.Pod)] == ["web-0"]  # web-1 waits for web-0
    # gitkube status walks the set down to that sentence.
    assert rootcause.causes(snap.of_kind(statefulsets.StatefulSet), snap.of_kind(core.Pod),
                            NODES) == [
        "default/web (statefulset): 0/3 ready: pod web-0: not scheduled: 0/3 nodes are "
        "available: pod has unbound immediate PersistentVolumeClaims."]


def test_a_daemonset_names_its_pod_on_a_failing_node() -> None:
    snap, _ = _first_pass("controllers/daemonset.yaml")
    [ds] = snap.of_kind(daemonsets.DaemonSet)
    pods = [b.ready(p, p.spec.node_name or "", is_ready=p.spec.node_name != "n2")
            for p in snap.of_kind(core.Pod)]
    ds = ds.model_copy(update={"status": ds.status.model_copy(update={"number_ready": 2})})
    on_n2 = next(p.name for p in pods if p.spec.node_name == "n2")
    failing = {n.name: n for n in (b.node("n1"), b.node("n2", ready="Unknown"), b.node("n3"))}
    assert rootcause.workload_cause(ds, pods, failing) == (
        f"2/3 ready: pod {on_n2}: node n2 is unreachable")
