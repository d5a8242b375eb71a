"""Shipping an image from this machine's podman into a node's own storage, no registry."""

from __future__ import annotations

import pytest

from gitkube.nodes import client as node_client
from gitkube.nodes import images, ssh
from tests.fixtures.nodes import NodeFactory

pytestmark = [pytest.mark.ssh, pytest.mark.podman]


def test_local_image_exists_asks_this_machines_podman(busybox_image: str) -> None:
    assert images.local_image_exists(busybox_image)
    assert not images.local_image_exists("localhost/gitkube-test/never-built:v0")


def test_an_image_is_shipped_into_each_nodes_storage(
    ssh_nodes: NodeFactory, busybox_image: str
) -> None:
    nodes = ssh_nodes(2, prefix="img")
    for node in nodes:
        assert node.podman("image", "exists", busybox_image, check=False).returncode == 1

    archives = set()
    for node in nodes:
        client = node_client.NodeClient(ssh.SSHTransport(node), node, "unit")
        answer = images.ship_image(client, busybox_image)
        client.close()
        archives.add(images.saved_archive(busybox_image))

        assert busybox_image in answer["loaded"]
        assert node.podman("image", "exists", busybox_image, check=False).returncode == 0
        assert list((node.home.parent / "state" / "images").iterdir()) == []

    assert len(archives) == 1, "the image was saved more than once"
