"""A frozen node (its sshd stopped with SIGSTOP) is one line in the output, never library noise.

The TCP handshake still succeeds (the kernel answers for the stopped sshd), so only the SSH
banner never comes: the pass must end within the observe bound, say in one sentence that the
node did not answer within its connect timeout, print nothing of paramiko's (no "Exception
(client)", no traceback), and converge the other node as if nothing happened.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

from gitkube.reconcile import fleet
from tests.e2e.harness import ClusterRepo, running

pytestmark = [pytest.mark.podman, pytest.mark.ssh]

CONNECT_TIMEOUT = 3


def _pinned(name: str, replicas: int, image: str, node: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "terminationGracePeriodSeconds": 0,
                         "nodeSelector": {"kubernetes.io/hostname": node},
                         "containers": [{"name": "main", "image": image,
                                         "command": ["sleep", "3600"]}]}}}}


def test_a_frozen_node_is_one_line_and_the_other_node_converges(
        tmp_path, two_nodes, busybox_image) -> None:
    alive, stuck = two_nodes
    nodes = [n.inventory.model_copy(update={"ssh": n.ssh.model_copy(
        update={"connect_timeout_seconds": CONNECT_TIMEOUT})}) for n in two_nodes]
    repo = ClusterRepo(tmp_path / "cluster", "frozen", nodes)
    repo.write("a.yaml", _pinned("a", 1, busybox_image, alive.name))
    repo.write("b.yaml", _pinned("b", 1, busybox_image, stuck.name))
    repo.commit("One pod on each node")
    repo.apply()
    assert len(running(repo.pods())) == 2

    repo.write("a.yaml", _pinned("a", 2, busybox_image, alive.name))
    repo.commit("Scale a, on the node that still answers")
    with stuck.frozen():
        began = time.monotonic()
        # The bound is a hang detector, not a timing: a pass waits at most the observe bound
        # for a node, and this one should give up after its connect timeout.
        done = subprocess.run([sys.executable, "-m", "gitkube", "apply", "--yes"],
                              cwd=repo.path, capture_output=True, text=True,
                              timeout=fleet.OBSERVE_TIMEOUT + 60, stdin=subprocess.DEVNULL)
        took = time.monotonic() - began
    output = done.stdout + done.stderr

    assert done.returncode == 1, output
    assert "Traceback" not in output and "Exception (client)" not in output, output
    assert "paramiko" not in output and "No existing session" not in output, output
    about_stuck = [line for line in output.splitlines()
                   if stuck.name in line and not line.startswith("Apply failed")]
    assert len(about_stuck) == 1, output
    assert (f"Node {stuck.name} ({stuck.address} port {stuck.ssh.port}) did not answer within "
            f"{CONNECT_TIMEOUT} s") in about_stuck[0], output
    pods = repo.pods()
    on_alive = [p for p in running(pods) if p["metadata"]["name"].startswith("a-")]
    assert len(on_alive) == 2, (took, output)
