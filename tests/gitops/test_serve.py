"""`gitkube serve --follow URL` and `gitkube status --watch`, on clusters without nodes."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

from rich.console import Console

from gitkube import clock
from gitkube.api.inventory import InventoryNode, RuntimeSettings
from gitkube.cli import context, watch
from gitkube.reconcile import face
from tests.gitops.harness import LocalRepo
from tests.processes import agent_sessions


def config_map(value: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"},
            "data": {"value": value}}


def test_serve_follows_a_remote_branch_and_stops_on_sigterm(tmp_path):
    upstream = LocalRepo(tmp_path / "upstream", "follow", [])
    upstream.write("app.yaml", config_map("1"))
    upstream.commit("First")
    mirror = tmp_path / "mirror.git"
    gitkube = [sys.executable, "-m", "gitkube"]
    assert subprocess.run([*gitkube, "init", "--bare", str(mirror)], capture_output=True,
                          check=False).returncode == 0
    log = (tmp_path / "serve.log").open("w")
    daemon = subprocess.Popen(
        [*gitkube, "--repo", str(mirror), "serve", "--follow", str(upstream.path),
         "--fetch-interval", "0.2", "--interval", "300"],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))

    def value() -> str | None:
        done = subprocess.run([*gitkube, "--repo", str(mirror), "get", "configmaps", "app",
                               "-o", "json"], capture_output=True, text=True, check=False)
        return json.loads(done.stdout)["data"]["value"] if done.returncode == 0 else None

    def until(want: str) -> None:
        deadline = time.monotonic() + 60  # a bound for a broken daemon, not a measurement
        while value() != want:
            assert daemon.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)

    try:
        until("1")
        upstream.write("app.yaml", config_map("2"))
        upstream.commit("Second")
        until("2")
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert code == 0, text
    assert f"following {upstream.path}" in text
    assert "pass ok (new revision" in text and text.rstrip().endswith("stopped")


def test_status_watch_redraws_from_the_store(tmp_path):
    repo = LocalRepo(tmp_path / "watched", "watched", [])
    repo.write("app.yaml", config_map("1"))
    repo.commit("Add app")
    assert repo.gitkube("reconcile").code == 0
    out = Console(file=io.StringIO(), width=100, color_system=None)
    ctx = context.Context(out=out, err=out, clock=clock.SystemClock(), interactive=False)
    looks = iter([True, True, False])
    with face.open_cluster(repo.path) as cluster:
        watch.watch(cluster, ctx, keep_going=lambda: next(looks), poll=0)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert "Cluster watched" in text
    assert "Last pass" in text and ", ok," in text
    assert "Watching; Ctrl-C to stop." in text


def test_serve_keeps_one_agent_per_node_across_passes(tmp_path):
    """No interpreter start-up per request: the daemon's passes share one agent per node,
    and stopping the daemon ends it."""
    node = InventoryNode(name="here", transport="local", runtime=RuntimeSettings(kind="sim"),
                         state_dir=str(tmp_path / "node"))
    repo = LocalRepo(tmp_path / "kept", "kept", [node])
    repo.write("app.yaml", config_map("1"))
    repo.commit("Add app")
    log = (tmp_path / "serve.log").open("w")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "gitkube", "--repo", str(repo.path), "serve", "--interval", "0.2"],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))

    def passes_logged() -> int:
        return (tmp_path / "serve.log").read_text().count(" pass ok (")

    def after_passes(count: int) -> list[int]:
        deadline = time.monotonic() + 60  # a bound for a broken daemon, not a measurement
        while passes_logged() < count:
            assert daemon.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.05)
        return agent_sessions(daemon.pid)

    try:
        first = after_passes(2)
        later = after_passes(5)
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()
    assert len(first) == 1 and later == first, (first, later)
    assert not os.path.exists(f"/proc/{first[0]}"), "the daemon ended its agent on the way out"
