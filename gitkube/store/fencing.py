"""A fenced store: every transaction also compares one key's revision (a leader's fence).

With several control machines, the leader's passes write through this wrapper: each
transaction carries ``Compare(fence_key, fence_revision)`` beside its own compares, so the
moment the leader key is gone or belongs to another machine, the store refuses every write
of the deposed leader, however late it wakes up (Kubernetes' controllers get the same
guarantee from etcd leases; gitkube makes it a compare of every write). A refused write is
``NotLeader``, never a silent failure. Failure operations are refused: they would run for a
deposed leader too.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitkube import errors
from gitkube.store import base


class FencedStore:
    """``inner``, with every transaction fenced on ``key`` being at ``revision``."""

    def __init__(self, inner: base.Store, key: str, revision: int, *, who: str = "") -> None:
        self.inner = inner
        self.key = key
        self.fence_revision = revision
        self.who = who

    def txn(self, compares: Sequence[base.Compare], success: Sequence[base.Op],
            failure: Sequence[base.Op] = ()) -> base.TxnResult:
        if failure:
            raise ValueError("a fenced transaction takes no failure operations")
        fence = base.Compare(self.key, self.fence_revision)
        result = self.inner.txn([*compares, fence], success)
        if not result.succeeded and self.key in result.conflicts:
            raise errors.NotLeader(
                f"{self.who or 'This process'} no longer leads the cluster ({self.key} moved "
                f"on from revision {self.fence_revision}), so this write was refused and "
                "nothing of it was stored; the leader carries on.", retry_after=2.0)
        return base.TxnResult(result.succeeded, result.revision,
                              tuple(key for key in result.conflicts if key != self.key))

    def compact(self, revision: int) -> None:
        current = self.inner.get(self.key)
        if current is not None and current.mod_revision == self.fence_revision:
            self.inner.compact(revision)

    def get(self, key: str) -> base.KeyValue | None:
        return self.inner.get(key)

    def range(self, prefix: str) -> tuple[list[base.KeyValue], int]:
        return self.inner.range(prefix)

    def watch(self, prefix: str, since_revision: int, timeout: float = 0.0) -> list[base.Event]:
        return self.inner.watch(prefix, since_revision, timeout)

    def revision(self) -> int:
        return self.inner.revision()

    def grant_lease(self, ttl_seconds: float) -> int:
        return self.inner.grant_lease(ttl_seconds)

    def keepalive(self, lease: int) -> None:
        self.inner.keepalive(lease)

    def revoke_lease(self, lease: int) -> None:
        self.inner.revoke_lease(lease)

    def close(self) -> None:
        """The inner store belongs to whoever made this wrapper; it stays open."""
