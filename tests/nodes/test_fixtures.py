"""The shared node fixtures keep their promises: loopback only, own storage, working image."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from tests.fixtures import podman as podman_fixtures
from tests.fixtures.nodes import NodeFactory

pytestmark = [pytest.mark.ssh, pytest.mark.podman]


def _listening(port: int) -> list[str]:
    """Addresses with a TCP socket listening on ``port`` (IPv4 and IPv6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.append(str(ipaddress.ip_address(words)))
    return found


def test_each_node_listens_on_its_own_loopback_address_only(ssh_nodes: NodeFactory) -> None:
    nodes = ssh_nodes(2, prefix="lo")

    for node in nodes:
        assert _listening(node.ssh.port) == [node.address]
    assert len({node.address for node in nodes}) == 2
    assert all(ipaddress.ip_address(node.address).is_loopback for node in nodes)


def test_the_busybox_image_runs_in_a_nodes_own_storage(ssh_nodes: NodeFactory) -> None:
    (node,) = ssh_nodes(1, prefix="img-own")

    ref = podman_fixtures.build_busybox_image(**node.storage)
    ran = node.podman(
        "run", "--rm", ref, "sh", "-c", "echo hi from $(basename $(readlink -f /bin/wget))"
    )

    assert ran.stdout == "hi from busybox\n"
    assert not podman_fixtures.image_exists("localhost/gitkube-test/never-built:v0", **node.storage)
