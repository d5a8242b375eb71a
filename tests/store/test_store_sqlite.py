"""What only the SQLite store (and opening a store) promises: files, processes, errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.store import base, memory, open_store, sqlite
from gitkube.store.base import Delete, EventType, Put
from tests.store import race

REPO = Path(__file__).resolve().parents[2]

def test_data_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = sqlite.SQLiteStore(path)
    first.txn([], [Put("/a", {"n": 1}), Put("/b", {"n": 2})])
    first.txn([], [Put("/a", {"n": 3}), Delete("/b")])
    first.compact(1)
    first.close()

    again = sqlite.SQLiteStore(path)

    assert again.revision() == 2
    assert again.get("/a") == base.KeyValue("/a", {"n": 3}, 1, 2, 2)
    assert [(e.type, e.kv.key) for e in again.watch("/", 1)] == [
        (EventType.PUT, "/a"),
        (EventType.DELETE, "/b"),
    ]
    with pytest.raises(errors.StoreConflict):
        again.watch("/", 0)
    again.close()


def test_compare_and_swap_holds_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    sqlite.SQLiteStore(path).close()  # made once, so the workers race on data, not on schema

    assert race.race(str(path), tmp_path, processes=4, wins_each=100) == 0


def test_a_new_store_starts_at_revision_zero(tmp_path: Path) -> None:
    for store in (memory.MemoryStore(), sqlite.SQLiteStore(tmp_path / "s.db")):
        assert (store.revision(), store.range("")) == (0, ([], 0))
        assert store.txn([], [Put("/k", {})]).revision == 1
        store.close()


def test_a_writer_holding_the_file_too_long_is_a_store_conflict(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = sqlite.SQLiteStore(path, busy_timeout=0.1)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(errors.StoreConflict, match="locked by another writer") as caught:
            store.txn([], [Put("/k", {})])
        assert caught.value.retry_after is not None
        assert store.get("/k") is None  # readers go on while another process writes
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.txn([], [Put("/k", {})]).succeeded
    store.close()


def test_a_file_that_is_not_a_store_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the pages you are looking for\n" * 100)

    with pytest.raises(errors.ConfigError, match=r"notes\.txt") as caught:
        sqlite.SQLiteStore(path)
    assert "move it aside" in str(caught.value)


def test_a_store_in_a_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError, match="does not exist"):
        sqlite.SQLiteStore(tmp_path / "nowhere" / "s.db")


def test_a_store_from_a_newer_gitkube_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    sqlite.SQLiteStore(path).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE meta SET value = 2 WHERE name = 'schema'")
    raw.commit()
    raw.close()

    with pytest.raises(errors.ConfigError, match="schema version 2"):
        sqlite.SQLiteStore(path)


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    sqlite.SQLiteStore(tmp_path / "s.db").close()
    raw = sqlite3.connect(tmp_path / "s.db")
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        ("/registry/pods/", "/registry/pods0"),
        ("a", "b"),
        ("", None),
        ("a\U0010ffff", "b"),
        ("\U0010ffff", None),
        ("x\ud7ff", "x\ue000"),
    ],
    ids=["slash", "letter", "empty", "max-char-carries", "only-max-char", "skips-surrogates"],
)
def test_prefix_end(prefix: str, end: str | None) -> None:
    assert sqlite.prefix_end(prefix) == end


def test_range_finds_keys_with_non_ascii_names(tmp_path: Path) -> None:
    store = sqlite.SQLiteStore(tmp_path / "s.db")
    keys = ["/cfg/é", "/cfg/z", "/cfg/\U0001f600", "/cfg\U0010ffff"]
    store.txn([], [Put(k, {}) for k in keys])

    assert [kv.key for kv in store.range("/cfg/")[0]] == ["/cfg/z", "/cfg/é", "/cfg/\U0001f600"]
    store.close()


def test_open_store_picks_the_backend(tmp_path: Path) -> None:
    by_path = open_store(tmp_path / "a.db")
    by_text = open_store(str(tmp_path / "b.db"))
    by_url = open_store(f"sqlite://{tmp_path / 'c.db'}")
    in_memory = open_store("memory://")

    assert isinstance(by_path, sqlite.SQLiteStore) and by_path.path == tmp_path / "a.db"
    assert isinstance(by_text, sqlite.SQLiteStore) and by_text.path == tmp_path / "b.db"
    assert isinstance(by_url, sqlite.SQLiteStore) and by_url.path == tmp_path / "c.db"
    assert isinstance(in_memory, memory.MemoryStore)
    for store in (by_path, by_text, by_url, in_memory):
        store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("etcd://127.0.0.1", "not host:port"),
        ("etcd://", "not host:port"),
        ("postgres://db/gitkube", "unknown scheme 'postgres'"),
        ("sqlite://", "names no file"),
    ],
    ids=["etcd-without-port", "etcd-without-endpoint", "unknown-scheme", "sqlite-without-path"],
)
def test_open_store_refuses_what_it_cannot_open(url: str, message: str) -> None:
    with pytest.raises(errors.ConfigError, match=message):
        open_store(url)


def test_watch_polling_sees_a_write_from_another_process(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = sqlite.SQLiteStore(path)
    since = store.revision()
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from gitkube.store import sqlite, base; time.sleep(0.2); "
            "sqlite.SQLiteStore(sys.argv[1]).txn([], [base.Put('/k', {'from': 'child'})])",
            str(path),
        ],
        cwd=REPO,
    )
    try:
        events = store.watch("/", since, timeout=60)
    finally:
        assert writer.wait(timeout=60) == 0
    assert [e.kv.value for e in events] == [{"from": "child"}]
    store.close()
