"""Fixtures for the agent tests: one throwaway podman storage per session, and an agent
speaking for one test's cluster in it (its pods removed and its supervisor stopped after)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitkube.agent import daemons, handler, supervisor

from . import storage


@pytest.fixture(scope="session")
def podman_storage() -> Iterator[storage.Storage]:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    made = storage.create_storage()
    try:
        yield made
    finally:
        made.destroy()


@pytest.fixture
def agent(podman_storage: storage.Storage, tmp_path: Path,
          request: pytest.FixtureRequest) -> Iterator[object]:
    from .test_podman import Agent

    cluster = request.node.name.replace("_", "-")[:40]
    made = Agent(podman_storage, cluster, tmp_path / "state")
    yield made
    handler.handle({**made.base, "op": "converge", "pods": []})
    daemons.stop(made.state_dir, supervisor.NAME)
