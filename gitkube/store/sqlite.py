"""The SQLite store: gitkube's embedded default, one file holding the etcd data model.

The engine keeps desired and observed state here between passes (cron runs one
pass per process), so two ``gitkube`` processes may share the file. Every
transaction is one SQLite ``BEGIN IMMEDIATE`` transaction: it takes the file's
write lock, reads the global revision, checks every compare and applies the
operations, so compare-and-swap holds across threads and processes alike. WAL
mode lets readers go on while one process writes.

Tables: ``kv`` (current keys), ``history`` (one row per event, for ``watch``;
``compact`` trims it), ``meta`` (revision, compacted revision, schema) and
``leases``. Lease deadlines are wall-clock seconds, not ``time.monotonic``: the
file outlives processes and reboots, and the monotonic clock restarts at boot,
which would keep a dead process's lease alive for as long as the machine had
been up. ``watch`` polls the history table with short sleeps.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from gitkube import errors
from gitkube.store import base

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    create_revision INTEGER NOT NULL,
    mod_revision INTEGER NOT NULL,
    version INTEGER NOT NULL,
    lease INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_lease ON kv (lease) WHERE lease != 0;
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    revision INTEGER NOT NULL,
    key TEXT NOT NULL,
    type TEXT NOT NULL,
    value TEXT,
    create_revision INTEGER NOT NULL,
    version INTEGER NOT NULL,
    lease INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS history_revision ON history (revision);
CREATE TABLE IF NOT EXISTS leases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ttl REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS leases_expiry ON leases (expires_at);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0), ('schema', 1);
"""

_PUT = """
INSERT INTO kv (key, value, create_revision, mod_revision, version, lease)
VALUES (?1, ?2, ?3, ?3, 1, ?4)
ON CONFLICT (key) DO UPDATE SET
    value = excluded.value, mod_revision = excluded.mod_revision,
    version = kv.version + 1, lease = excluded.lease
RETURNING create_revision, version
"""

_KV_COLUMNS = "key, value, create_revision, mod_revision, version, lease"

#: ``watch`` polls the history table, backing off between these bounds (seconds).
_POLL_FIRST, _POLL_MAX = 0.005, 0.1


class SQLiteStore:
    """A :class:`~gitkube.store.base.Store` in one SQLite file, safe across processes.

    One connection per object, guarded by a lock, so an object may be shared by
    threads; a process that forks must open its own store in the child.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        if not self.path.parent.is_dir():
            raise errors.ConfigError(
                f"Cannot open the store {self.path}: the directory {self.path.parent} does not "
                "exist; create it or point gitkube at another store path."
            )
        with self._guard("open the store"):
            self._db = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        try:
            self._prepare()
        except BaseException:
            self._db.close()
            raise

    def _prepare(self) -> None:
        with self._guard("open the store"):
            self._db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            with self._transaction("BEGIN IMMEDIATE") as db:
                _create_schema(db)
            schema = _meta(self._db, "schema")
        if schema != SCHEMA_VERSION:
            raise errors.ConfigError(
                f"The store {self.path} has schema version {schema}, but this gitkube reads "
                f"version {SCHEMA_VERSION}; use the gitkube version that wrote it, or move the "
                "file aside so that a fresh store is made."
            )

    # -- reads ---------------------------------------------------------------------------------

    def get(self, key: str) -> base.KeyValue | None:
        with self._lock, self._guard("read a key"):
            self._expire_leases()
            row = self._db.execute(f"SELECT {_KV_COLUMNS} FROM kv WHERE key = ?", (key,)).fetchone()
            return None if row is None else _key_value(row)

    def range(self, prefix: str) -> tuple[list[base.KeyValue], int]:
        where, params = _prefix_where(prefix)
        with self._lock, self._guard("read keys"):
            self._expire_leases()
            with self._transaction("BEGIN") as db:
                revision = _meta(db, "revision")
                rows = db.execute(
                    f"SELECT {_KV_COLUMNS} FROM kv WHERE {where} ORDER BY key", params
                ).fetchall()
        return [_key_value(row) for row in rows], revision

    def revision(self) -> int:
        with self._lock, self._guard("read the revision"):
            self._expire_leases()
            return _meta(self._db, "revision")

    # -- writes --------------------------------------------------------------------------------

    def txn(
        self,
        compares: Sequence[base.Compare],
        success: Sequence[base.Op],
        failure: Sequence[base.Op] = (),
    ) -> base.TxnResult:
        with self._lock, self._guard("run a transaction"):
            self._expire_leases()
            with self._transaction("BEGIN IMMEDIATE") as db:
                conflicts = tuple(
                    c.key for c in compares if _mod_revision(db, c.key) != c.mod_revision
                )
                ops = failure if conflicts else success
                self._check_leases(db, ops)
                revision = _apply(db, ops)
        return base.TxnResult(not conflicts, revision, conflicts)

    def compact(self, revision: int) -> None:
        with self._lock, self._guard("compact the history"):
            self._expire_leases()
            with self._transaction("BEGIN IMMEDIATE") as db:
                revision = min(revision, _meta(db, "revision"))
                if revision <= _meta(db, "compacted"):
                    return
                db.execute("DELETE FROM history WHERE revision <= ?", (revision,))
                db.execute("UPDATE meta SET value = ? WHERE name = 'compacted'", (revision,))

    # -- watch ---------------------------------------------------------------------------------

    def watch(self, prefix: str, since_revision: int, timeout: float = 0.0) -> list[base.Event]:
        where, params = _prefix_where(prefix)
        deadline = time.monotonic() + timeout
        delay = _POLL_FIRST
        while True:
            with self._lock, self._guard("watch for changes"):
                self._expire_leases()
                with self._transaction("BEGIN") as db:
                    compacted = _meta(db, "compacted")
                    rows = db.execute(
                        "SELECT revision, key, type, value, create_revision, version, lease "
                        f"FROM history WHERE revision > ? AND {where} ORDER BY revision, id",
                        (since_revision, *params),
                    ).fetchall()
            if since_revision < compacted:
                raise errors.StoreConflict(
                    f"The history of the store {self.path} up to revision {compacted} was "
                    f"compacted, so changes since revision {since_revision} are gone; read the "
                    "keys again with range() and watch from the revision it returns."
                )
            remaining = deadline - time.monotonic()
            if rows or remaining <= 0:
                return [_event(row) for row in rows]
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, _POLL_MAX)

    # -- leases --------------------------------------------------------------------------------

    def grant_lease(self, ttl_seconds: float) -> int:
        with self._lock, self._guard("grant a lease"):
            self._expire_leases()
            with self._transaction("BEGIN IMMEDIATE") as db:
                cursor = db.execute(
                    "INSERT INTO leases (ttl, expires_at) VALUES (?, ?)",
                    (ttl_seconds, time.time() + ttl_seconds),
                )
                assert cursor.lastrowid is not None
                return cursor.lastrowid

    def keepalive(self, lease: int) -> None:
        with self._lock, self._guard("keep a lease alive"):
            self._expire_leases()
            with self._transaction("BEGIN IMMEDIATE") as db:
                now = time.time()
                cursor = db.execute(
                    "UPDATE leases SET expires_at = ? + ttl WHERE id = ? AND expires_at > ?",
                    (now, lease, now),
                )
                if cursor.rowcount == 0:
                    raise errors.StoreConflict(base.lease_gone(lease))

    def revoke_lease(self, lease: int) -> None:
        with self._lock, self._guard("revoke a lease"):
            self._expire_leases()
            with self._transaction("BEGIN IMMEDIATE") as db:
                if db.execute("DELETE FROM leases WHERE id = ?", (lease,)).rowcount:
                    _delete_lease_keys(db, [lease])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- internals -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        self._db.execute(begin)
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Translate SQLite's failures into gitkube's errors, naming the file."""
        try:
            yield
        except (sqlite3.ProgrammingError, sqlite3.IntegrityError):
            raise  # gitkube's own bug, not the file's or another process's
        except sqlite3.DatabaseError as exc:
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                raise errors.StoreConflict(
                    f"The store {self.path} stayed locked by another writer for "
                    f"{self._busy_timeout:g} s while trying to {doing}; try again.",
                    retry_after=1.0,
                ) from exc
            raise errors.ConfigError(
                f"Could not {doing} in {self.path}: {exc}. Check that the file is a gitkube "
                "store, that it and its directory are writable and that the disk has room; if "
                "the file is damaged, move it aside and a fresh store is made from Git on the "
                "next pass."
            ) from exc

    def _check_leases(self, db: sqlite3.Connection, ops: Sequence[base.Op]) -> None:
        now = time.time()
        for lease in {op.lease for op in ops if isinstance(op, base.Put) and op.lease}:
            row = db.execute(
                "SELECT 1 FROM leases WHERE id = ? AND expires_at > ?", (lease, now)
            ).fetchone()
            if row is None:
                raise errors.StoreConflict(base.lease_gone(lease))

    def _expire_leases(self) -> None:
        """Delete the keys of every expired lease, in one write; cheap when none expired."""
        now = time.time()
        probe = "SELECT 1 FROM leases WHERE expires_at <= ? LIMIT 1"
        if self._db.execute(probe, (now,)).fetchone() is None:
            return
        with self._transaction("BEGIN IMMEDIATE") as db:
            expired = [
                row[0] for row in db.execute("SELECT id FROM leases WHERE expires_at <= ?", (now,))
            ]
            db.execute("DELETE FROM leases WHERE expires_at <= ?", (now,))
            _delete_lease_keys(db, expired)


def _create_schema(db: sqlite3.Connection) -> None:
    # executescript() would COMMIT the caller's transaction first; run the statements one by one.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def _apply(db: sqlite3.Connection, ops: Sequence[base.Op]) -> int:
    """Apply ``ops`` at one new revision; return the store's revision afterwards."""
    current = _meta(db, "revision")
    revision = current + 1
    history: list[tuple[int, str, str, str | None, int, int, int]] = []
    for op in ops:
        if isinstance(op, base.Put):
            text = json.dumps(op.value, separators=(",", ":"))
            created, version = db.execute(_PUT, (op.key, text, revision, op.lease)).fetchone()
            history.append((revision, op.key, "put", text, created, version, op.lease))
        else:
            if op.prefix:
                where, params = _prefix_where(op.key)
            else:
                where, params = "key = ?", (op.key,)
            deleted = db.execute(f"DELETE FROM kv WHERE {where} RETURNING key", params).fetchall()
            history.extend((revision, key, "delete", None, 0, 0, 0) for (key,) in sorted(deleted))
    if not history:
        return current
    db.executemany(
        "INSERT INTO history (revision, key, type, value, create_revision, version, lease) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        history,
    )
    db.execute("UPDATE meta SET value = ? WHERE name = 'revision'", (revision,))
    return revision


def _delete_lease_keys(db: sqlite3.Connection, leases: Sequence[int]) -> None:
    marks = ", ".join("?" for _ in leases)
    rows = db.execute(f"SELECT key FROM kv WHERE lease IN ({marks}) ORDER BY key", tuple(leases))
    _apply(db, [base.Delete(key) for (key,) in rows.fetchall()])


def _meta(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


def _mod_revision(db: sqlite3.Connection, key: str) -> int:
    row = db.execute("SELECT mod_revision FROM kv WHERE key = ?", (key,)).fetchone()
    return 0 if row is None else int(row[0])


def _prefix_where(prefix: str) -> tuple[str, tuple[str, ...]]:
    """A range condition on ``key`` (uses the primary-key index, unlike LIKE)."""
    end = prefix_end(prefix)
    if end is None:
        return "key >= ?", (prefix,)
    return "key >= ? AND key < ?", (prefix, end)


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (etcd's
    range end), or None when there is none (empty prefix, or only U+10FFFF characters).
    SQLite compares UTF-8 bytes, which orders like Python compares code points."""
    chars = list(prefix)
    while chars:
        code = ord(chars[-1]) + 1
        if code == 0xD800:  # surrogates cannot be encoded; skip past them
            code = 0xE000
        if code <= 0x10FFFF:
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None


def _key_value(row: tuple[str, str, int, int, int, int]) -> base.KeyValue:
    key, text, created, modified, version, lease = row
    return base.KeyValue(key, json.loads(text), created, modified, version, lease)


def _event(row: tuple[int, str, str, str | None, int, int, int]) -> base.Event:
    revision, key, kind, text, created, version, lease = row
    if kind == base.EventType.DELETE or text is None:
        return base.Event(base.EventType.DELETE, base.KeyValue(key, {}, 0, revision, 0))
    kv = base.KeyValue(key, json.loads(text), created, revision, version, lease)
    return base.Event(base.EventType.PUT, kv)

