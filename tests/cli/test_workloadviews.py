"""``get daemonsets|statefulsets|controllerrevisions|pvc|pv|storageclasses`` as kubectl prints
them, from objects the controllers made."""

from __future__ import annotations

import datetime as dt

from gitkube.api import core, daemonsets, registry, statefulsets
from gitkube.cli import describe, status, tables
from gitkube.planning.snapshot import Snapshot
from gitkube.reconcile import summaries
from tests.controllers import factories as f
from tests.workloads import builders as b

NOW = f.START + dt.timedelta(minutes=5)


def _table(snap: Snapshot, word: str, *, wide: bool = False) -> list[str]:
    plural = tables.resolve_kind(word)
    cls = registry.model_for_plural(plural)
    return tables.render_table(plural, snap.of_kind(cls), NOW, wide=wide).splitlines()


def _cluster() -> Snapshot:
    snap = b.snapshot(b.daemonset(nodeSelector={"role": "edge"}),
                      b.statefulset(replicas=2, policy="Parallel"),
                      b.node("n1", labels={"role": "edge"}), b.node("n2"))
    for step in range(3):
        snap, _ = b.settle(snap, seconds=step)
    return snap


def test_daemonsets_and_statefulsets() -> None:
    snap = _cluster()
    assert _table(snap, "daemonsets", wide=True) == [
        "NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR   AGE"
        "   CONTAINERS   IMAGES      SELECTOR",
        "agent   1         1         1       1            1           role=edge       5m "
        "   agent        busybox:1   app=agent"]
    assert _table(snap, "sts", wide=True) == [
        "NAME   READY   AGE   CONTAINERS   IMAGES",
        "web    2/2     5m    web          busybox:1"]
    [header, *rows] = _table(snap, "controllerrevisions")
    assert header.split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert sorted(row.split()[1:3] for row in rows) == [["daemonset.apps/agent", "1"],
                                                        ["statefulset.apps/web", "1"]]


def test_status_and_the_ledger_count_them_as_workloads() -> None:
    """``gitkube status``'s Workloads table and a status commit's ``N/M ready``."""
    snap = _cluster()
    rows = status.workload_rows(s.obj for s in snap.objects.values())
    assert rows == [
        status.WorkloadRow("default", "agent", desired=1, ready=1, up_to_date=1, available=1,
                           kind="daemonset"),
        status.WorkloadRow("default", "web", desired=2, ready=2, up_to_date=2, available=2,
                           kind="statefulset")]
    assert summaries.readiness(snap) == {"daemonset/agent": "1/1 ready",
                                         "statefulset/web": "2/2 ready"}


def test_describe_statefulset_and_daemonset() -> None:
    snap = _cluster()
    [sts], [ds] = snap.of_kind(statefulsets.StatefulSet), snap.of_kind(daemonsets.DaemonSet)
    pods = snap.of_kind(core.Pod)
    members = [p for p in pods if p.name.startswith("web-")]
    assert describe.describe_statefulset(sts, members, NOW)[5:] == [
        "Replicas:        2 desired | 2 total",
        "Service:         web",
        "Pod Policy:      Parallel",
        "Update Strategy: RollingUpdate",
        "Pods Status:     2 Running / 0 Waiting / 0 Succeeded / 0 Failed",
        "Pod Template:", "  web:", "    Image:       busybox:1",
        "Volume Claims:", "  Name:          data", "  StorageClass:  <none>",
        "  Capacity:      1Gi", "  Access Modes:  ReadWriteOnce"]
    [mine] = [p for p in pods if p.name.startswith("agent")]
    lines = describe.describe_daemonset(ds, [mine], NOW)
    assert lines[4:] == [
        "Node-Selector:   role=edge", "Labels:          <none>",
        "Desired Number of Nodes Scheduled: 1", "Current Number of Nodes Scheduled: 1",
        "Number of Nodes Scheduled with Up-to-date Pods: 1",
        "Number of Nodes Scheduled with Available Pods: 1", "Number of Nodes Misscheduled: 0",
        "Update Strategy: RollingUpdate", "  Max Unavailable:  1", "  Max Surge:  0",
        "Pods Status:     1 Running / 0 Waiting / 0 Succeeded / 0 Failed",
        "Pod Template:", "  agent:", "    Image:       busybox:1"]


def test_claims_volumes_and_classes() -> None:
    snap = _cluster()
    [header, *claims] = _table(snap, "pvc")
    assert header.split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES",
                              "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert [c.split()[:2] + c.split()[3:] for c in claims] == [
        ["data-web-0", "Bound", "1Gi", "RWO", "local-path", "<unset>", "5m"],
        ["data-web-1", "Bound", "1Gi", "RWO", "local-path", "<unset>", "5m"]]
    [header, *volumes] = _table(snap, "pv")
    assert header.split()[:7] == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY",
                                  "STATUS"]
    assert sorted(v.split()[1:6] for v in volumes) == [
        ["1Gi", "RWO", "Delete", "Bound", "default/data-web-0"],
        ["1Gi", "RWO", "Delete", "Bound", "default/data-web-1"]]
    assert _table(snap, "sc") == [
        "NAME                   PROVISIONER             RECLAIMPOLICY   VOLUMEBINDINGMODE      "
        "ALLOWVOLUMEEXPANSION   AGE",
        "local-path (default)   rancher.io/local-path   Delete          WaitForFirstConsumer   "
        "false                  5m"]


def test_kubectl_short_names() -> None:
    assert [registry.plural_for(w) for w in ("ds", "sts", "pvc", "pv", "sc")] == [
        "daemonsets", "statefulsets", "persistentvolumeclaims", "persistentvolumes",
        "storageclasses"]
