"""The in-memory store: the etcd data model in a dict, for tests and ``plan`` overlays.

It implements :class:`gitkube.store.base.Store` exactly as the SQLite backend
does (the contract tests run against both), so a planner tested against it sees
what production sees. One lock guards everything; a condition on that lock wakes
watchers when a transaction commits. Leases are timed with ``time.monotonic`` and
expire lazily: every call first deletes the keys of expired leases, as one write.
"""

from __future__ import annotations

import bisect
import itertools
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gitkube import errors
from gitkube.store import base

#: A watcher waiting on a lease's expiry wakes at least this often to expire it itself.
_MAX_WAIT_SLICE = 0.05


@dataclass(frozen=True)
class _Entry:
    text: str  # the value as JSON text, so callers can never alias stored state
    create_revision: int
    mod_revision: int
    version: int
    lease: int


@dataclass(frozen=True)
class _Change:
    """One event in the history; turned into a fresh ``Event`` for each watcher."""

    key: str
    entry: _Entry | None  # None: the key was deleted at ``deleted_at``
    deleted_at: int = 0

    def event(self) -> base.Event:
        if self.entry is None:
            kv = base.KeyValue(self.key, {}, 0, self.deleted_at, 0)
            return base.Event(base.EventType.DELETE, kv)
        return base.Event(base.EventType.PUT, _key_value(self.key, self.entry))


@dataclass
class _Lease:
    ttl: float
    expires_at: float


class MemoryStore:
    """A thread-safe, process-local :class:`~gitkube.store.base.Store`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._data: dict[str, _Entry] = {}
        self._revision = 0
        self._compacted = 0
        # Parallel lists: the revision of each event (sorted) and the event itself.
        self._history_revisions: list[int] = []
        self._history: list[_Change] = []
        self._leases: dict[int, _Lease] = {}
        self._lease_ids = itertools.count(1)

    # -- reads ---------------------------------------------------------------------------------

    def get(self, key: str) -> base.KeyValue | None:
        with self._lock:
            self._expire_leases()
            entry = self._data.get(key)
            return None if entry is None else _key_value(key, entry)

    def range(self, prefix: str) -> tuple[list[base.KeyValue], int]:
        with self._lock:
            self._expire_leases()
            keys = sorted(k for k in self._data if k.startswith(prefix))
            return [_key_value(k, self._data[k]) for k in keys], self._revision

    def revision(self) -> int:
        with self._lock:
            self._expire_leases()
            return self._revision

    # -- writes --------------------------------------------------------------------------------

    def txn(
        self,
        compares: Sequence[base.Compare],
        success: Sequence[base.Op],
        failure: Sequence[base.Op] = (),
    ) -> base.TxnResult:
        with self._lock:
            self._expire_leases()
            conflicts = tuple(
                c.key for c in compares if self._mod_revision(c.key) != c.mod_revision
            )
            ops = failure if conflicts else success
            self._check_leases(ops)
            self._apply(ops)
            return base.TxnResult(not conflicts, self._revision, conflicts)

    def compact(self, revision: int) -> None:
        with self._lock:
            self._expire_leases()
            revision = min(revision, self._revision)
            if revision <= self._compacted:
                return
            cut = bisect.bisect_right(self._history_revisions, revision)
            del self._history_revisions[:cut]
            del self._history[:cut]
            self._compacted = revision

    # -- watch ---------------------------------------------------------------------------------

    def watch(self, prefix: str, since_revision: int, timeout: float = 0.0) -> list[base.Event]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                self._expire_leases()
                if since_revision < self._compacted:
                    raise errors.StoreConflict(
                        f"The store's history up to revision {self._compacted} was compacted, "
                        f"so changes since revision {since_revision} are gone; read the keys "
                        "again with range() and watch from the revision it returns.",
                    )
                start = bisect.bisect_right(self._history_revisions, since_revision)
                events = [c.event() for c in self._history[start:] if c.key.startswith(prefix)]
                remaining = deadline - time.monotonic()
                if events or remaining <= 0:
                    return events
                # Wake in slices while leases are pending: their expiry is a write nobody signals.
                wait = min(remaining, _MAX_WAIT_SLICE) if self._leases else remaining
                self._changed.wait(wait)

    # -- leases --------------------------------------------------------------------------------

    def grant_lease(self, ttl_seconds: float) -> int:
        with self._lock:
            self._expire_leases()
            lease = next(self._lease_ids)
            self._leases[lease] = _Lease(ttl_seconds, time.monotonic() + ttl_seconds)
            return lease

    def keepalive(self, lease: int) -> None:
        with self._lock:
            self._expire_leases()
            found = self._leases.get(lease)
            if found is None:
                raise errors.StoreConflict(base.lease_gone(lease))
            found.expires_at = time.monotonic() + found.ttl

    def revoke_lease(self, lease: int) -> None:
        with self._lock:
            self._expire_leases()
            if self._leases.pop(lease, None) is not None:
                self._delete_lease_keys({lease})

    def close(self) -> None:
        """Nothing to release; the data lives as long as the object."""

    # -- internals (called with the lock held) -------------------------------------------------

    def _mod_revision(self, key: str) -> int:
        entry = self._data.get(key)
        return 0 if entry is None else entry.mod_revision

    def _check_leases(self, ops: Sequence[base.Op]) -> None:
        for op in ops:
            if isinstance(op, base.Put) and op.lease and op.lease not in self._leases:
                raise errors.StoreConflict(base.lease_gone(op.lease))

    def _apply(self, ops: Sequence[base.Op]) -> None:
        """Apply ``ops`` at one new revision; the revision moves only if something changed."""
        revision = self._revision + 1
        events: list[_Change] = []
        for op in ops:
            if isinstance(op, base.Put):
                events.append(self._put(op, revision))
            else:
                events.extend(self._delete(op, revision))
        if not events:
            return
        self._revision = revision
        self._history_revisions.extend(revision for _ in events)
        self._history.extend(events)
        self._changed.notify_all()

    def _put(self, op: base.Put, revision: int) -> _Change:
        text = json.dumps(op.value, separators=(",", ":"))
        old = self._data.get(op.key)
        if old is None:
            entry = _Entry(text, revision, revision, 1, op.lease)
        else:
            entry = _Entry(text, old.create_revision, revision, old.version + 1, op.lease)
        self._data[op.key] = entry
        return _Change(op.key, entry)

    def _delete(self, op: base.Delete, revision: int) -> list[_Change]:
        if op.prefix:
            keys = sorted(k for k in self._data if k.startswith(op.key))
        else:
            keys = [op.key] if op.key in self._data else []
        for key in keys:
            del self._data[key]
        return [_Change(key, None, revision) for key in keys]

    def _delete_lease_keys(self, leases: set[int]) -> None:
        keys = sorted(k for k, e in self._data.items() if e.lease in leases)
        self._apply([base.Delete(k) for k in keys])

    def _expire_leases(self) -> None:
        now = time.monotonic()
        expired = {lease for lease, found in self._leases.items() if found.expires_at <= now}
        if expired:
            for lease in expired:
                del self._leases[lease]
            self._delete_lease_keys(expired)


def _key_value(key: str, entry: _Entry) -> base.KeyValue:
    return base.KeyValue(
        key=key,
        value=json.loads(entry.text),
        create_revision=entry.create_revision,
        mod_revision=entry.mod_revision,
        version=entry.version,
        lease=entry.lease,
    )

