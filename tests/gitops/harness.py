"""A cluster people push to: a bare repository made by `gitkube init --bare`, a clone, real git.

The GitOps tests use this to do what a person does: edit files in a clone, commit, `git push`,
and read what git printed; then ask the cluster with the gitkube CLI. The node is this
machine (transport local) with podman in its own storage root, so nothing of the machine's
own podman is touched.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from gitkube.api.inventory import Inventory, InventoryNode, RuntimeSettings
from gitkube.cli import main
from gitkube.source import locks
from tests.e2e import harness as e2e_harness
from tests.e2e.harness import ClusterRepo, Run
from tests.fixtures import podman as podman_fixtures

PYTHON = sys.executable
GITKUBE = [PYTHON, "-m", "gitkube"]
IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def local_node(base: Path, containers_conf: Path, name: str = "local-1") -> InventoryNode:
    """This machine as a node, with its own podman storage under ``base``."""
    for sub in ("storage", "run", "state"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    runtime = RuntimeSettings(kind="podman", root=str(base / "storage"),
                              runroot=str(base / "run"), containers_conf=str(containers_conf))
    return InventoryNode(name=name, transport="local", runtime=runtime,
                         state_dir=str(base / "state"))


def clean_node(node: InventoryNode) -> None:
    """Remove every pod and container of the node's own storage (it holds nothing else)."""
    if node.state_dir:
        # The agent leaves a supervisor on the node while pods are desired; it is ours to stop.
        with contextlib.suppress(ImportError, OSError):
            from gitkube.agent import daemons, supervisor

            daemons.stop(Path(node.state_dir), supervisor.NAME)
    storage = {"root": node.runtime.root, "runroot": node.runtime.runroot}
    for what in (("pod", "rm", "-af", "-t", "0"), ("rm", "-af", "-t", "0")):
        with contextlib.suppress(subprocess.SubprocessError):
            podman_fixtures.podman(*what, check=False, **storage)  # type: ignore[arg-type]


def node_containers(node: InventoryNode, cluster: str) -> list[str]:
    listing = podman_fixtures.podman(
        "ps", "-a", "--format", "json", "--filter", f"label=io.gitkube.cluster={cluster}",
        root=node.runtime.root, runroot=node.runtime.runroot).stdout
    return sorted(c["Names"][0] for c in json.loads(listing or "[]") if not c.get("IsInfra"))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The gitkube CLI in this process (``main(argv)`` with consoles on strings): the same
    output a terminal gets, without a Python start-up per command."""
    out = Console(file=io.StringIO(), width=200, color_system=None, highlight=False)
    err = Console(file=io.StringIO(), width=200, color_system=None, highlight=False)
    code = main.main(list(args), out=out, err=err)
    return subprocess.CompletedProcess(list(args), code, _text(out), _text(err))


def _text(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


class LocalRepo(ClusterRepo):
    """``tests.e2e.harness.ClusterRepo`` (a work-tree cluster repository) with the CLI run
    in-process (see ``cli``)."""

    def gitkube(self, *args: str, cwd: Path | None = None, timeout: float = 240) -> Run:
        repo = [] if args[0] == "init" else ["--repo", str(self.path)]
        done = cli(*repo, *args)
        return Run(done.returncode, done.stdout, done.stderr)


def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **IDENTITY, **(env or {})},
                          stdin=subprocess.DEVNULL)


class PushRepo:
    """``server``: the bare cluster repository; ``work``: a clone that pushes to it."""

    def __init__(self, base: Path, cluster: str, nodes: list[InventoryNode]) -> None:
        base.mkdir(parents=True, exist_ok=True)
        #: Processes of the passes post-receive started; ``settle`` waits for them.
        self.started: list[int] = []
        self.server = base / "cluster.git"
        self.work = base / "work"
        self.cluster = cluster
        made = self.gitkube("init", "--bare", str(self.server))
        assert made.returncode == 0, made.stderr
        done = run("git", "clone", "-q", str(self.server), str(self.work), cwd=base)
        assert done.returncode == 0, done.stderr
        self.write("inventory.yaml", Inventory(
            cluster=cluster, nodes=nodes, settings=e2e_harness.SETTINGS).model_dump(
            mode="json", by_alias=True, exclude_none=True))
        self.commit("Use the test node")
        pushed = self.push()
        assert pushed.returncode == 0, pushed.stderr

    @property
    def state(self) -> Path:
        return self.server / "gitkube"

    def settle(self) -> None:
        """Wait until the passes post-receive started (named in git's output) have ended."""
        for pid in self.started:
            deadline = time.monotonic() + 120
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        self.started.clear()
        with locks.cluster_lock(self.state, wait=True):
            pass

    def write(self, name: str, data: Any) -> None:
        e2e_harness.write_file(self.work, name, data)

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = run("git", *args, cwd=self.work, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def commit(self, message: str, *sign: str) -> str:
        self.git("add", "-A")
        self.git(*sign, "commit", "-q", *(["-S"] if sign else []), "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def push(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = run("git", "push", "origin", *(args or ("HEAD:main",)), cwd=self.work)
        found = re.search(r"started one pass \(process (\d+)\)", done.stderr)
        if found:
            self.started.append(int(found.group(1)))
        return done

    def server_head(self) -> str:
        return run("git", "rev-parse", "main", cwd=self.server).stdout.strip()

    def gitkube(self, *args: str) -> subprocess.CompletedProcess[str]:
        repo = [] if args[0] == "init" else ["--repo", str(self.server)]
        return cli(*repo, *args)

    def pods(self) -> list[dict[str, Any]]:
        done = self.gitkube("get", "pods", "-o", "json")
        assert done.returncode == 0, done.stderr
        items: list[dict[str, Any]] = json.loads(done.stdout)["items"]
        return items

    def wait_for(self, predicate: Any, timeout: float = 60.0) -> None:
        """Poll the cluster (not timing it): an upper bound so a broken pass fails the test."""
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "the cluster did not get there in time"
            time.sleep(0.2)

    @contextlib.contextmanager
    def serving(self, *args: str) -> Iterator[subprocess.Popen[str]]:
        """``gitkube serve`` in the background, stopped with SIGTERM (by its pid) after."""
        log = (self.server.parent / "serve.log").open("w")
        process = subprocess.Popen([*GITKUBE, "--repo", str(self.server), "serve", *args],
                                   stdout=log, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, **IDENTITY})
        try:
            self.wait_for(lambda: "serving" in self.serve_log() or process.poll() is not None,
                          timeout=30)
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()

    def serve_log(self) -> str:
        path = self.server.parent / "serve.log"
        return path.read_text() if path.exists() else ""


def deployment(name: str, replicas: int, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
                    "name": "main", "image": image, "command": ["/bin/sleep", "3600"],
                    "resources": {"requests": {"cpu": "10m", "memory": "8Mi"}}}]},
            },
        },
    }


def running(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if p.get("status", {}).get("phase") == "Running"]


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
