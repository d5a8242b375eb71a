"""``gitkube history deployment/web`` and ``gitkube rollback``: revisions from the store, the
commits behind them from Git, and a rollback that is a commit (on a simulated node)."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from gitkube.cli import main
from gitkube.reconcile import face

MANIFEST = """\
# The web tier. Keep this comment: a rollback edits the file, it does not rewrite it.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: main
          image: {image}   # the version
"""

INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: hist
nodes:
  - name: sim-1
    transport: local
    runtime: {{kind: sim}}
    stateDir: {state}
"""


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env=env, check=True).stdout


def _commit(repo: Path, image: str, subject: str) -> None:
    (repo / "web.yaml").write_text(MANIFEST.format(image=image))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", subject)
    with face.open_cluster(repo) as cluster:
        assert cluster.apply().ok


def _run(repo: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main.main(["--repo", str(repo), *argv], out=Console(file=out, width=200),
                     err=Console(file=out, width=200))
    return code, out.getvalue()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "cluster"
    face.init_cluster(path)
    (path / "inventory.yaml").write_text(INVENTORY.format(state=tmp_path / "node"))
    _commit(path, "web:1", "Add web 1")
    _commit(path, "web:2", "Web 2, with the new cache")
    return path


def test_history_lists_revisions_with_the_commits_behind_them(repo: Path) -> None:
    code, out = _run(repo, "history", "deployment/web")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split() == ["REVISION", "REPLICASET", "IMAGES", "REPLICAS", "COMMIT",
                                "CHANGE-CAUSE"]
    assert lines[1].startswith("1 ") and "web:1" in lines[1] and "Add web 1" in lines[1]
    assert lines[2].startswith("2 (current)") and "Web 2, with the new cache" in lines[2]
    introduced = _git(repo, "log", "--format=%h", "-1", "--grep", "Web 2").strip()
    assert introduced[:7] in lines[2]


def test_rollback_commits_the_old_template_and_the_next_pass_rolls_it_out(repo: Path) -> None:
    code, out = _run(repo, "rollback")
    assert code == 0, out
    assert "back to revision 1 in web.yaml" in out
    subject = _git(repo, "log", "-1", "--format=%s").strip()
    assert subject == "Roll back deployment/web to revision 1"
    text = (repo / "web.yaml").read_text()
    assert text.startswith("# The web tier.") and "# the version" in text
    assert "image: web:1" in text and "web:2" not in text
    assert _git(repo, "status", "--porcelain") == "", "work tree and index follow the commit"

    with face.open_cluster(repo) as cluster:
        assert cluster.apply().ok
    code, out = _run(repo, "history", "deployment/web")
    lines = out.splitlines()[1:]
    current = next(line for line in lines if "(current)" in line)
    assert current.startswith("3 (current)") and "web:1" in current
    assert "Roll back deployment/web to revision 1" in current
    assert len(lines) == 2, "the old ReplicaSet is reused, not copied"


def test_rollback_to_a_revision_that_does_not_exist(repo: Path) -> None:
    code, out = _run(repo, "rollback", "deployment/web", "7")
    assert code != 0
    assert "has no revision 7; it has 1, 2" in out


def test_rollback_refuses_a_file_with_local_edits(repo: Path) -> None:
    (repo / "web.yaml").write_text((repo / "web.yaml").read_text() + "# wip\n")
    code, out = _run(repo, "rollback", "deployment/web")
    assert code != 0 and "web.yaml has changes not committed" in out
