"""The etcd store: the ``Store`` protocol on a real etcd v3 cluster, for several control machines.

SQLite keeps a cluster's state on one machine; with ``gitkube.store = etcd://a:2379,b:2379,c:2379``
it lives in etcd instead, so any control machine can run the passes (one at a time: the leader).
The protocol was written as etcd's data model, so most calls are one etcd request each
(``etcdwire`` carries them to whichever member answers):

- ``range`` reads in pages of ``page_size`` keys, every page pinned at the first page's
  revision (one consistent snapshot, as Kubernetes' paginated lists); a compaction that
  overtakes the pinned revision between pages starts the read again.
- ``txn`` is one etcd transaction: compares on mod_revision (0: the key is absent), then the
  puts and deletes. etcd refuses a key twice in one transaction, so a later operation on the
  same key replaces an earlier one. etcd says only *that* a compare failed, so the failure
  branch also reads the compared keys, and ``conflicts`` names the ones that moved.
- ``watch`` reads etcd's event history: when ``since_revision`` is behind, a watch of the
  whole key space from there up to the current revision (every revision has at least one
  event, so the history is known to be complete when the current revision's event arrives),
  kept to ``prefix``; then, if nothing matched, a watch of the prefix waits for the next event.
  History that was compacted raises ``StoreConflict`` (an informer then lists again).
- Leases are etcd's (whole seconds, at least etcd's minimum TTL); ``compact(r)`` asks etcd to
  keep revisions after ``r`` (etcd cannot compact past its current revision, so asking for
  more keeps the current one's events).

etcd's revision is the cluster's: it does not start at 0, and anything else writing to the
same etcd moves it. A pass writes every change in one transaction, so the members need
larger request limits than etcd's defaults (the README gives them).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

from gitkube import errors
from gitkube.store import base, etcdwire
from gitkube.store import tls as store_tls
from gitkube.store.etcdwire import decode, encode

#: Keys per page of a range (etcd's own clients page by 500 to 1,000).
PAGE_SIZE = 1000
#: gRPC OutOfRange: the revision asked for was compacted (or is in the future).
_OUT_OF_RANGE = 11
_NOT_FOUND = 5
_EVERY_KEY = encode("\0")


class EtcdStore:
    """A :class:`~gitkube.store.base.Store` on an etcd cluster; safe to share between threads."""

    def __init__(self, endpoints: list[etcdwire.Endpoint], tls: store_tls.TLS | None = None, *,
                 page_size: int = PAGE_SIZE) -> None:
        self._wire = etcdwire.Wire(endpoints, tls)
        self.page_size = page_size

    @property
    def where(self) -> str:
        return self._wire.where

    # -- reads ---------------------------------------------------------------------------------

    def get(self, key: str) -> base.KeyValue | None:
        found = self._call("kv/range", {"key": encode(key)}).get("kvs") or []
        return _key_value(found[0]) if found else None

    def range(self, prefix: str) -> tuple[list[base.KeyValue], int]:
        while True:
            try:
                return self._range(prefix)
            except etcdwire.EtcdError as exc:
                if exc.code != _OUT_OF_RANGE:
                    raise etcdwire.translate(exc, self.where) from exc
                # compacted past the snapshot between two pages: read a newer one

    def _range(self, prefix: str) -> tuple[list[base.KeyValue], int]:
        start = encode(prefix) if prefix else _EVERY_KEY
        body: dict[str, Any] = {"range_end": etcdwire.range_end(prefix), "limit": self.page_size}
        found: list[base.KeyValue] = []
        revision = 0
        while True:
            answer = self._wire.call("kv/range", {**body, "key": start})
            if not revision:
                revision = int(answer["header"]["revision"])
                body["revision"] = revision
            page = answer.get("kvs") or []
            found.extend(_key_value(kv) for kv in page)
            if not answer.get("more") or not page:
                return found, revision
            start = encode(found[-1].key + "\0")

    def revision(self) -> int:
        answer = self._call("kv/range", {"key": _EVERY_KEY, "count_only": True})
        return int(answer["header"]["revision"])

    # -- writes --------------------------------------------------------------------------------

    def txn(
        self,
        compares: Sequence[base.Compare],
        success: Sequence[base.Op],
        failure: Sequence[base.Op] = (),
    ) -> base.TxnResult:
        reads = [{"request_range": {"key": encode(c.key)}} for c in compares]
        body = {
            "compare": [{"key": encode(c.key), "target": "MOD", "result": "EQUAL",
                         "mod_revision": c.mod_revision} for c in compares],
            "success": [_request(op) for op in _last_per_key(success)],
            "failure": reads + [_request(op) for op in _last_per_key(failure)],
        }
        try:
            answer = self._wire.call("kv/txn", body, idempotent=False)
        except etcdwire.EtcdError as exc:
            if exc.code == _NOT_FOUND and "lease" in exc.message:
                leases = sorted({op.lease for op in (*success, *failure)
                                 if isinstance(op, base.Put) and op.lease})
                raise errors.StoreConflict(base.lease_gone(leases[0] if leases else 0)) from exc
            raise etcdwire.translate(exc, self.where) from exc
        revision = int(answer["header"]["revision"])
        if answer.get("succeeded"):
            return base.TxnResult(True, revision)
        responses = answer.get("responses") or []
        conflicts = []
        for compare, response in zip(compares, responses, strict=False):
            kvs = response.get("response_range", {}).get("kvs") or []
            now = int(kvs[0].get("mod_revision", 0)) if kvs else 0
            if now != compare.mod_revision:
                conflicts.append(compare.key)
        return base.TxnResult(False, revision, tuple(conflicts))

    def compact(self, revision: int) -> None:
        target = min(revision + 1, self.revision())
        if target <= 1:
            return
        try:
            self._wire.call("kv/compaction", {"revision": target})
        except etcdwire.EtcdError as exc:
            if exc.code != _OUT_OF_RANGE:  # already compacted that far: nothing to do
                raise etcdwire.translate(exc, self.where) from exc

    # -- watch ---------------------------------------------------------------------------------

    def watch(self, prefix: str, since_revision: int, timeout: float = 0.0) -> list[base.Event]:
        deadline = time.monotonic() + timeout
        current = self.revision()
        if since_revision < current:
            found = self._history(prefix, since_revision, current)
            if found:
                return found
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return []
        return self._wait(prefix, max(since_revision, current), remaining)

    def _history(self, prefix: str, since: int, until: int) -> list[base.Event]:
        """Events under ``prefix`` after ``since``, read until revision ``until``'s arrived."""
        request = {"create_request": {"key": _EVERY_KEY, "range_end": _EVERY_KEY,
                                      "start_revision": since + 1}}
        found: list[base.Event] = []
        for message in self._watch_stream(request, etcdwire.READ_TIMEOUT, since):
            events = [_event(e) for e in message.get("events") or []]
            found.extend(e for e in events if e.kv.key.startswith(prefix))
            if any(e.kv.mod_revision >= until for e in events):
                return found
        raise errors.StoreUnavailable(
            f"etcd at {self.where} stopped sending the history from revision {since}; "
            "try again.", retry_after=1.0)

    def _wait(self, prefix: str, after: int, timeout: float) -> list[base.Event]:
        """The first events under ``prefix`` after ``after``, or none within ``timeout``."""
        request = {"create_request": {"key": encode(prefix) if prefix else _EVERY_KEY,
                                      "range_end": etcdwire.range_end(prefix),
                                      "start_revision": after + 1}}
        deadline = time.monotonic() + timeout
        for message in self._watch_stream(request, timeout, after):
            events = [_event(e) for e in message.get("events") or []]
            if events:
                return events
            if time.monotonic() >= deadline:
                break
        return []

    def _watch_stream(self, request: dict[str, Any], timeout: float,
                      since: int) -> Iterator[dict[str, Any]]:
        try:
            for message in self._wire.stream("watch", request, timeout):
                if message.get("canceled") or int(message.get("compact_revision", 0)):
                    raise errors.StoreConflict(
                        f"etcd at {self.where} compacted its history up to revision "
                        f"{message.get('compact_revision', '?')}, so changes since revision "
                        f"{since} are gone; read the keys again with range() and watch from "
                        "the revision it returns.")
                yield message
        except etcdwire.EtcdError as exc:
            raise etcdwire.translate(exc, self.where) from exc

    # -- leases --------------------------------------------------------------------------------

    def grant_lease(self, ttl_seconds: float) -> int:
        answer = self._call("lease/grant", {"TTL": max(1, math.ceil(ttl_seconds))})
        return int(answer["ID"])

    def keepalive(self, lease: int) -> None:
        answer = self._call("lease/keepalive", {"ID": lease})
        if int(answer.get("result", {}).get("TTL", 0)) <= 0:
            raise errors.StoreConflict(base.lease_gone(lease))

    def revoke_lease(self, lease: int) -> None:
        try:
            self._wire.call("kv/lease/revoke", {"ID": lease})
        except etcdwire.EtcdError as exc:
            if exc.code != _NOT_FOUND:  # already expired or revoked: nothing to do
                raise etcdwire.translate(exc, self.where) from exc

    def close(self) -> None:
        self._wire.close()

    # -- internals -----------------------------------------------------------------------------

    def _call(self, path: str, body: dict[str, Any]) -> Any:
        try:
            return self._wire.call(path, body)
        except etcdwire.EtcdError as exc:
            raise etcdwire.translate(exc, self.where) from exc


def _last_per_key(ops: Sequence[base.Op]) -> list[base.Op]:
    """``ops`` with only the last operation on each key (etcd refuses a key twice)."""
    last: dict[tuple[str, bool], base.Op] = {}
    for op in ops:
        name = (op.key, isinstance(op, base.Delete) and op.prefix)
        last.pop(name, None)
        last[name] = op
    return list(last.values())


def _request(op: base.Op) -> dict[str, Any]:
    if isinstance(op, base.Put):
        put: dict[str, Any] = {"key": encode(op.key),
                               "value": encode(json.dumps(op.value, separators=(",", ":")))}
        if op.lease:
            put["lease"] = op.lease
        return {"request_put": put}
    delete = {"key": encode(op.key)}
    if op.prefix:
        delete = {"key": encode(op.key) if op.key else _EVERY_KEY,
                  "range_end": etcdwire.range_end(op.key)}
    return {"request_delete_range": delete}


def _key_value(kv: dict[str, Any]) -> base.KeyValue:
    """etcd's JSON key-value (numbers as strings, zero values left out) as the protocol's."""
    return base.KeyValue(
        key=decode(kv["key"]),
        value=json.loads(decode(kv.get("value", ""))),
        create_revision=int(kv.get("create_revision", 0)),
        mod_revision=int(kv.get("mod_revision", 0)),
        version=int(kv.get("version", 0)),
        lease=int(kv.get("lease", 0)),
    )


def _event(event: dict[str, Any]) -> base.Event:
    kv = event["kv"]
    if event.get("type") == "DELETE":
        gone = base.KeyValue(decode(kv["key"]), {}, 0, int(kv.get("mod_revision", 0)), 0)
        return base.Event(base.EventType.DELETE, gone)
    return base.Event(base.EventType.PUT, _key_value(kv))
