"""The ``Store`` protocol: the etcd data model, whatever the backend.

One global revision counts every write. Each key keeps ``create_revision``,
``mod_revision`` and ``version``. A transaction is a list of compares (on a key's
``mod_revision``; 0 means "the key does not exist") and the operations to do when
all of them hold, else the ``failure`` operations; it is atomic and bumps the
revision once. ``watch`` returns the events after a revision (history is kept
until compacted). Leases expire keys that are not kept alive.

Backends: ``memory`` (tests, ``plan`` overlays), ``sqlite`` (the embedded
default, WAL), and later ``etcd`` for more than one control-plane machine.
Values are JSON objects; backends store them as JSON text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

JSON = dict[str, Any]


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: JSON
    create_revision: int
    mod_revision: int
    version: int
    lease: int = 0


@dataclass(frozen=True)
class Compare:
    """Holds when ``key``'s mod_revision equals ``mod_revision`` (0: key absent)."""

    key: str
    mod_revision: int


@dataclass(frozen=True)
class Put:
    key: str
    value: JSON
    lease: int = 0


@dataclass(frozen=True)
class Delete:
    key: str
    prefix: bool = False


Op = Put | Delete


@dataclass(frozen=True)
class TxnResult:
    succeeded: bool
    #: The store revision after the transaction (unchanged when nothing was written).
    revision: int
    #: For a failed transaction: the keys whose compare did not hold.
    conflicts: tuple[str, ...] = field(default=())


class EventType(StrEnum):
    PUT = "put"
    DELETE = "delete"


@dataclass(frozen=True)
class Event:
    type: EventType
    #: For a delete: the key with an empty value and the deleting revision as mod_revision.
    kv: KeyValue


class Store(Protocol):
    def get(self, key: str) -> KeyValue | None:
        """The key's current value, or None when it does not exist."""
        ...

    def range(self, prefix: str) -> tuple[list[KeyValue], int]:
        """Every key under ``prefix`` (sorted by key) and the revision they were read at."""
        ...

    def txn(
        self,
        compares: Sequence[Compare],
        success: Sequence[Op],
        failure: Sequence[Op] = (),
    ) -> TxnResult:
        """Check every compare; if all hold apply ``success``, else ``failure``, in order.

        Atomic, and the revision moves by exactly one when the applied operations change
        anything (a delete of a missing key changes nothing). A put to an existing key keeps
        its create_revision and adds one to its version; a put after a delete starts a new
        life (version 1). A put on an expired or unknown lease raises ``StoreConflict`` and
        the transaction writes nothing.
        """
        ...

    def watch(self, prefix: str, since_revision: int, timeout: float = 0.0) -> list[Event]:
        """Events under ``prefix`` with revision > ``since_revision``; waits up to ``timeout``
        seconds for the first one. Raises ``StoreConflict`` if that history was compacted."""
        ...

    def revision(self) -> int:
        """The revision of the last write (0 for a new store)."""
        ...

    def grant_lease(self, ttl_seconds: float) -> int:
        """A new lease; keys put with it are deleted (with delete events) when it expires."""
        ...

    def keepalive(self, lease: int) -> None:
        """Restart the lease's TTL. Raises ``StoreConflict`` if it already expired."""
        ...

    def revoke_lease(self, lease: int) -> None:
        """Delete the lease and its keys now, in one write; an unknown lease is a no-op."""
        ...

    def compact(self, revision: int) -> None:
        """Forget history up to and including ``revision`` (capped at the current one);
        watching from before it then raises ``StoreConflict``."""
        ...

    def close(self) -> None: ...


def lease_gone(lease: int) -> str:
    """What every backend says when a lease it was asked about is no longer there."""
    return (
        f"Lease {lease} has expired or was revoked, and the keys attached to it were deleted; "
        "grant a new lease and write those keys again."
    )
