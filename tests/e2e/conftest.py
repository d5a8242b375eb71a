"""Fixtures for the end-to-end tests: two loopback SSH nodes and a look into their podman."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tests.fixtures.nodes import LoopbackNode


@pytest.fixture
def two_nodes(ssh_nodes: Callable[..., list[LoopbackNode]]) -> Iterator[list[LoopbackNode]]:
    nodes = ssh_nodes(2)
    yield nodes
    # A test's nodes are not used again: their supervisors would only keep polling podman.
    for node in nodes:
        node.stop_supervisor()


@pytest.fixture
def node_containers(two_nodes: list[LoopbackNode]) -> Callable[[str], dict[str, str]]:
    """``node_containers(cluster)`` → {container name: id} of that cluster's workload containers
    on every node (pods' infra containers left out)."""

    def look(cluster: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for node in two_nodes:
            listing = node.podman("ps", "-a", "--format", "json", "--filter",
                                  f"label=io.gitkube.cluster={cluster}").stdout
            for container in json.loads(listing or "[]"):
                if container.get("IsInfra"):
                    continue
                found[container["Names"][0]] = container["Id"]
        return found

    return look
