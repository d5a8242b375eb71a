"""Whole passes on a simulated node: a claim is provisioned where its pod goes, held by the
node, kept while a pod uses it, and its volume removed by the node once the claim is gone."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from gitkube.api import core, storage
from gitkube.cli import main
from gitkube.reconcile import face

INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: vols
nodes:
  - name: sim-1
    transport: local
    runtime: {{kind: sim}}
    stateDir: {state}
"""

CLAIM = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: db}
spec:
  containers: [{name: main, image: "db:1", volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
"""


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "-C", str(repo), *args], env=env, check=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "cluster"
    face.init_cluster(path)
    (path / "inventory.yaml").write_text(INVENTORY.format(state=tmp_path / "node"))
    (path / "claim.yaml").write_text(CLAIM)
    (path / "db.yaml").write_text(POD)
    _git(path, "add", "-A")
    _git(path, "commit", "-qm", "db with its claim")
    return path


def _apply(repo: Path) -> list[storage.PersistentVolume]:
    """One pass; the volumes stored after it."""
    with face.open_cluster(repo) as cluster:
        result = cluster.apply()
        assert result.ok, result.errors
        return [v for v in cluster.objects("persistentvolumes")
                if isinstance(v, storage.PersistentVolume)]


def _describe(repo: Path, claim: str) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    code = main.main(["describe", "pvc", claim, "--repo", str(repo)],
                     out=Console(file=out, width=100), err=Console(file=err, width=100))
    assert code == 0, err.getvalue()
    return out.getvalue().splitlines()


def test_describe_says_why_a_claim_waits(repo: Path) -> None:
    (repo / "fast.yaml").write_text(CLAIM.replace("name: data", "name: fast")
                                    + "  storageClassName: fast\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "a claim of a class nobody declared")
    _apply(repo)
    shown = _describe(repo, "fast")
    assert shown[3:6] == ["Status:        Pending",
                          'Waiting for:   storageclass.storage.k8s.io "fast" not found',
                          "Volume:        <none>"]


def _held(tmp_path: Path) -> list[str]:
    """The claim directories the node's agent keeps (its volumes.json)."""
    held: list[str] = json.loads((tmp_path / "node" / "volumes.json").read_text())
    return held


def test_a_claim_lives_on_its_node_and_goes_with_git(repo: Path, tmp_path: Path) -> None:
    [volume] = _apply(repo)
    assert volume.status.phase == "Bound"
    assert _held(tmp_path) == [volume.path]
    assert volume.path == (f"{tmp_path}/node/storage/pvc-{volume.spec.claim_ref.uid}"  # type: ignore[union-attr]
                           "_default_data")
    with face.open_cluster(repo) as cluster:
        pod = cluster.get("pods", "db")
        assert isinstance(pod, core.Pod) and pod.status.phase == "Running"
        assert cluster.explain(pod) == [("sim-1", True, [])]

    # The claim leaves Git first: it stays (terminating) while the pod uses it.
    _git(repo, "rm", "-q", "claim.yaml")
    _git(repo, "commit", "-qm", "no claim")
    [volume] = _apply(repo)
    shown = _describe(repo, "data")
    assert shown[:3] == ["Name:          data", "Namespace:     default",
                         "StorageClass:  local-path"]
    assert shown[3].startswith("Status:        Terminating (lasts ")
    assert shown[4] == f"Volume:        {volume.name}"
    assert "Used By:       db" in shown

    _git(repo, "rm", "-q", "db.yaml")
    _git(repo, "commit", "-qm", "no pod")
    volumes = _apply(repo)
    assert volumes == [], "the volume went in the pass its node removed the directory"
    assert _held(tmp_path) == []
