"""The namespace nodes keep their promises: SSH lands inside the node, the nodes share a wire
that only they are on, each has its own podman, and nothing is left behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gitkube.nodes import client as node_client
from tests.fixtures import netns as netns_fixtures
from tests.fixtures.netns import NetnsNode

pytestmark = [pytest.mark.ssh, pytest.mark.podman]


def _namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}


def test_ssh_lands_in_the_nodes_own_namespace(netns_nodes: list[NetnsNode]) -> None:
    first, second, _ = netns_nodes

    transport = node_client.connect(first.inventory)
    try:
        shown = transport.run(["ip", "-4", "-o", "addr", "show", "dev", "eth0"])
    finally:
        transport.close()

    assert f"inet {first.wire_address}/24" in shown.stdout.decode()
    assert first.wire_address != second.wire_address
    # The wire's addresses exist only inside the session's namespaces.
    mine = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    assert netns_fixtures.WIRE_PREFIX not in mine


def test_nodes_reach_each_other_over_the_wire(netns_nodes: list[NetnsNode]) -> None:
    first, second, third = netns_nodes

    for target in (second, third):
        pinged = first.run("busybox", "ping", "-c", "1", "-W", "2", target.wire_address,
                           check=False)
        assert pinged.returncode == 0, pinged.stdout + pinged.stderr


def test_each_node_has_its_own_podman_networks(netns_nodes: list[NetnsNode]) -> None:
    first, second, _ = netns_nodes
    name = f"gk-fixture-{os.getpid()}"

    first.podman("network", "create", "--disable-dns", "--subnet", "10.244.250.0/24", name)
    try:
        assert name in first.podman("network", "ls", "--format", "{{.Name}}").stdout.split()
        assert name not in second.podman("network", "ls", "--format", "{{.Name}}").stdout.split()
        ran = first.podman("run", "--rm", "--network", name, "localhost/gitkube-test/busybox:v1",
                           "ip", "-4", "-o", "addr", "show", "eth0")
        assert "inet 10.244.250." in ran.stdout
    finally:
        first.podman("network", "rm", "-f", name)


def test_nothing_is_left_behind(tmp_path_factory: pytest.TempPathFactory,
                                containers_conf: Path) -> None:
    prefix = f"gitkube-netns-{os.getpid()}-left"
    base = tmp_path_factory.mktemp("left")  # short: podman refuses a runroot over 50 chars
    made = netns_fixtures.NetnsCluster(base, prefix)
    try:
        (node,) = made.create(1)
        node.podman("run", "-d", "--name", "sleeper", "localhost/gitkube-test/busybox:v1",
                    "sleep", "600")
        assert {f"{prefix}-wire", f"{prefix}-n1"} <= _namespaces()
    finally:
        made.close()

    assert not {name for name in _namespaces() if name.startswith(prefix)}
    assert not base.exists()
