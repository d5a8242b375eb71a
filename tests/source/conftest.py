"""Fixtures for the source tests: real Git repositories in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .source_helpers import WorkRepo


@pytest.fixture
def work_repo(tmp_path: Path) -> WorkRepo:
    return WorkRepo(tmp_path / "cluster")


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], WorkRepo]:
    return lambda name: WorkRepo(tmp_path / name)
