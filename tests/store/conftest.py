"""The ``store`` fixture: each test that takes it runs once per backend (memory, SQLite, etcd)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitkube.store import base, memory, sqlite


@pytest.fixture(params=["memory", "sqlite", pytest.param("etcd", marks=pytest.mark.etcd)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[base.Store]:
    if request.param == "etcd":
        yield request.getfixturevalue("etcd_store")
        return
    made: base.Store
    if request.param == "memory":
        made = memory.MemoryStore()
    else:
        made = sqlite.SQLiteStore(tmp_path / "s.db")
    yield made
    made.close()
