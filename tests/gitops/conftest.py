"""Fixtures for the GitOps tests: one local node with its own podman storage, and its image."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitkube.api.inventory import InventoryNode
from tests.fixtures import podman as podman_fixtures
from tests.gitops import harness


@pytest.fixture(scope="session")
def gitops_node(tmp_path_factory: pytest.TempPathFactory,
                containers_conf: Path) -> Iterator[InventoryNode]:
    node = harness.local_node(tmp_path_factory.mktemp("gitops-node"), containers_conf)
    podman_fixtures.build_busybox_image(root=node.runtime.root, runroot=node.runtime.runroot)
    try:
        yield node
    finally:
        harness.clean_node(node)


@pytest.fixture
def node(gitops_node: InventoryNode) -> Iterator[InventoryNode]:
    """The session's node, emptied after each test."""
    yield gitops_node
    harness.clean_node(gitops_node)


@pytest.fixture
def push_repo(tmp_path: Path, node: InventoryNode) -> Iterator[Callable[[str], harness.PushRepo]]:
    """``push_repo(cluster)`` → a bare cluster repository on ``node`` and a clone of it.

    At the end, passes the hooks started in the background are waited for (the cluster
    lock), so that the node is emptied only once nothing converges it any more."""
    made: list[harness.PushRepo] = []

    def make(cluster: str) -> harness.PushRepo:
        repo = harness.PushRepo(tmp_path / cluster, cluster, [node])
        made.append(repo)
        return repo

    yield make
    for repo in made:
        repo.settle()
