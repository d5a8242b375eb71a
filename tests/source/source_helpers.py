"""Helpers for the source tests: real Git repositories made with the git command line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.corpus import CORPUS  # noqa: F401  (re-exported for the source tests)

INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: test
nodes:
  - name: node-1
    transport: local
"""

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
    - name: main
      image: busybox
"""

# Person-like identity for commits the tests make, separate from gitkube's own.
_ENV = {
    "GIT_AUTHOR_NAME": "Tester",
    "GIT_AUTHOR_EMAIL": "tester@example.invalid",
    "GIT_COMMITTER_NAME": "Tester",
    "GIT_COMMITTER_EMAIL": "tester@example.invalid",
}


class WorkRepo:
    """A non-bare repository a test edits and commits in, like a person would.

    Its first commit holds ``INVENTORY`` too (a revision without inventory.yaml is invalid),
    unless the test removes the file first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch=main")
        self.write("inventory.yaml", INVENTORY)

    def git(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | _ENV
        done = subprocess.run(
            ["git", "-C", str(self.path), *args],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    def write(self, path: str, text: str) -> None:
        target = self.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message: str = "change", files: dict[str, str] | None = None) -> str:
        for path, text in (files or {}).items():
            self.write(path, text)
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")
