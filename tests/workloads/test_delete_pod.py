"""``gitkube delete pod`` on a simulated node: how an OnDelete StatefulSet takes a new template,
one pod at a time, and how a pod Git declares comes back from Git (a restart)."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from gitkube.api import core
from gitkube.cli import main
from gitkube.reconcile import face

INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: deletes
nodes:
  - name: sim-1
    transport: local
    runtime: {{kind: sim}}
    stateDir: {state}
"""

STATEFULSET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: web}}
spec:
  replicas: 2
  podManagementPolicy: Parallel
  updateStrategy: {{type: OnDelete}}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: main, image: "{image}"}}]
"""

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: lone}
spec:
  containers: [{name: main, image: "lone:1"}]
"""


def _commit(repo: Path, message: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for args in (["add", "-A"], ["commit", "-qm", message]):
        subprocess.run(["git", "-C", str(repo), *args], env=env, check=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "cluster"
    face.init_cluster(path)
    (path / "inventory.yaml").write_text(INVENTORY.format(state=tmp_path / "node"))
    (path / "web.yaml").write_text(STATEFULSET.format(image="web:1"))
    (path / "lone.yaml").write_text(POD)
    _commit(path, "web and a lone pod")
    return path


def _apply(repo: Path) -> dict[str, str]:
    """One pass; the image each pod runs."""
    with face.open_cluster(repo) as cluster:
        assert cluster.apply().ok
        return {p.name: p.spec.containers[0].image for p in cluster.objects("pods")
                if isinstance(p, core.Pod)}


def _gitkube(repo: Path, *argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main.main([*argv, "--repo", str(repo)], out=Console(file=out, width=200),
                     err=Console(file=err, width=200))
    return code, (out.getvalue() + err.getvalue()).strip()


def test_on_delete_takes_the_new_template_pod_by_pod(repo: Path) -> None:
    assert _apply(repo) == {"web-0": "web:1", "web-1": "web:1", "lone": "lone:1"}
    (repo / "web.yaml").write_text(STATEFULSET.format(image="web:2"))
    _commit(repo, "web:2")
    assert _apply(repo)["web-1"] == "web:1", "OnDelete: nothing rolls by itself"
    code, said = _gitkube(repo, "describe", "sts", "web")
    assert code == 0 and "Update Strategy: OnDelete" in said.splitlines()

    assert _gitkube(repo, "delete", "pod", "web-1") == (0, (
        'pod "web-1" deleted: the next pass stops it on sim-1 and removes it once gone; '
        "statefulset/web makes another"))
    assert _gitkube(repo, "delete", "pod", "web-1") == (0, 'pod "web-1" is already being deleted')
    _apply(repo)  # stopped and gone
    assert _apply(repo) == {"web-0": "web:1", "web-1": "web:2", "lone": "lone:1"}


def test_a_pod_git_declares_comes_back_from_git(repo: Path) -> None:
    _apply(repo)
    before = _uid(repo, "lone")
    assert _gitkube(repo, "delete", "pod", "lone") == (0, (
        'pod "lone" deleted: the next pass stops it on sim-1 and removes it once gone; Git '
        "declares it (lone.yaml:1), so the pass after makes it again: remove it from Git to "
        "delete it for good"))
    with face.open_cluster(repo) as cluster:
        stops = [(a.target.name, a.node, a.reason) for a in cluster.plan().actions
                 if a.kind is face.ActionKind.STOP]
    assert stops == [("lone", "sim-1", "terminating: deleted")]
    assert "lone" not in _apply(repo), "stopped on its node and removed"
    assert _apply(repo)["lone"] == "lone:1", "made again from Git"
    assert _uid(repo, "lone") != before


def test_a_pod_nowhere_is_a_sentence(repo: Path) -> None:
    code, said = _gitkube(repo, "delete", "pod", "nothing")
    assert code == 1 and 'There is no pod named "nothing" in namespace "default"' in said


def _uid(repo: Path, name: str) -> str:
    with face.open_cluster(repo) as cluster:
        pod = next(p for p in cluster.objects("pods") if p.name == name)
        return pod.metadata.uid or ""
