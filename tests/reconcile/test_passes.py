"""One pass on a simulated node: the store is read once and planned once, and the snapshot
the ledger is committed from is exactly what the store holds after the pass."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitkube.api import keys
from gitkube.planning.snapshot import Snapshot
from gitkube.reconcile import cluster as cluster_mod
from gitkube.reconcile import face, fixpoint, planner, records, sources
from gitkube.reconcile import home as home_mod
from gitkube.store import base as store_base

INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: once
nodes:
  - name: sim-1
    transport: local
    runtime: {{kind: sim}}
    stateDir: {state}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: "web:1"}]
"""


class CountingStore:
    """The store, counting whole-registry reads."""

    def __init__(self, store: store_base.Store) -> None:
        self._store = store
        self.registry_reads = 0

    def range(self, prefix: str) -> tuple[list[store_base.KeyValue], int]:
        if prefix == keys.REGISTRY:
            self.registry_reads += 1
        return self._store.range(prefix)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "cluster"
    face.init_cluster(path)
    (path / "inventory.yaml").write_text(INVENTORY.format(state=tmp_path / "node"))
    (path / "web.yaml").write_text(DEPLOYMENT)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for args in (["add", "-A"], ["commit", "-qm", "web"]):
        subprocess.run(["git", "-C", str(path), *args], env=env, check=True)
    return path


def _open(repo: Path) -> tuple[cluster_mod.Cluster, CountingStore]:
    opened = cluster_mod.Cluster.open(repo)
    counting = CountingStore(opened.home.store)
    home = dataclasses.replace(opened.home, store=counting)  # type: ignore[arg-type]
    return cluster_mod.Cluster(home), counting


def test_a_pass_reads_the_store_once_and_plans_once(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plans: list[int] = []
    plan_pass = fixpoint.plan_pass

    def counted(snapshot: Snapshot, clock: Any, **kw: Any) -> Any:
        plans.append(snapshot.revision)
        return plan_pass(snapshot, clock, **kw)

    monkeypatch.setattr(fixpoint, "plan_pass", counted)
    for _ in range(2):  # the first pass starts the pods, the second finds them running
        cluster, counting = _open(repo)
        with cluster:
            result = cluster.apply()
        assert result.ok, result.errors
        assert counting.registry_reads == 1
    assert len(plans) == 2
    assert result.summary == "web: 2/2 ready"


def test_the_ledger_is_committed_from_what_the_store_holds(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Snapshot] = []
    commit_status = records.commit_status

    def keep(repo_path: Path, state_dir: Path, source: Any, after: Snapshot,
             *args: Any, **kw: Any) -> str | None:
        seen.append(after)
        return commit_status(repo_path, state_dir, source, after, *args, **kw)

    monkeypatch.setattr(records, "commit_status", keep)
    with face.open_cluster(repo) as cluster:
        result = cluster.apply()
        assert result.ok and result.changed, result.errors
        home: home_mod.Home = cluster.home
        stored = planner.read_snapshot(home.store, sources.read(home), {})
    (after,) = seen  # (the pass record and the events were written after it)
    assert {k: (s.obj.to_dict(), s.mod_revision) for k, s in after.objects.items()} == {
        k: (s.obj.to_dict(), s.mod_revision) for k, s in stored.objects.items()}
    assert {s.obj.kind for s in after.objects.values()} >= {"Deployment", "ReplicaSet", "Pod"}
