"""Fixtures for the agent tests: one throwaway podman storage per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

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
