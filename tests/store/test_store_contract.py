"""The Store contract, checked against every backend: what etcd would answer, each does.

The etcd backend runs against a real member (wiped before each test) whose revision goes on
from test to test, so revisions are counted from where each test starts (``start``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from gitkube import errors
from gitkube.store import base
from gitkube.store.base import Compare, Delete, EventType, Put


def put(store: base.Store, key: str, value: base.JSON, lease: int = 0) -> int:
    result = store.txn([], [Put(key, value, lease)])
    assert result.succeeded
    return result.revision


def eventually(check: Callable[[], bool], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_a_new_store_is_empty(store: base.Store) -> None:
    start = store.revision()

    assert store.range("") == ([], start)
    assert store.get("/registry/pods/default/web") is None


def test_revision_moves_once_per_transaction(store: base.Store) -> None:
    start = store.revision()

    result = store.txn([], [Put("/a", {"n": 1}), Put("/b", {"n": 2}), Put("/c", {"n": 3})])

    assert result == base.TxnResult(succeeded=True, revision=start + 1)
    kvs, revision = store.range("/")
    assert revision == start + 1
    assert {kv.mod_revision for kv in kvs} == {start + 1}


def test_a_transaction_that_changes_nothing_keeps_the_revision(store: base.Store) -> None:
    done = put(store, "/a", {})

    assert store.txn([], [Delete("/missing"), Delete("/nothing/", prefix=True)]).revision == done
    assert store.txn([], []).revision == done
    assert store.revision() == done


def test_revisions_and_versions_follow_etcd(store: base.Store) -> None:
    start = store.revision()
    put(store, "/other", {})  # start + 1
    put(store, "/k", {"v": 1})  # start + 2
    put(store, "/k", {"v": 2})  # start + 3

    kv = store.get("/k")
    assert kv == base.KeyValue("/k", {"v": 2}, create_revision=start + 2,
                               mod_revision=start + 3, version=2)

    store.txn([], [Delete("/k")])  # start + 4
    assert store.get("/k") is None
    put(store, "/k", {"v": 3})  # start + 5: a new life, version starts again

    assert store.get("/k") == base.KeyValue("/k", {"v": 3}, start + 5, start + 5, 1)


def test_compare_on_revision_zero_means_the_key_is_absent(store: base.Store) -> None:
    create = [Compare("/registry/pods/default/web", 0)]
    first = store.txn(create, [Put("/registry/pods/default/web", {"a": 1})])
    second = store.txn(create, [Put("/registry/pods/default/web", {"a": 2})])

    assert first.succeeded
    assert not second.succeeded
    assert second.conflicts == ("/registry/pods/default/web",)
    assert store.get("/registry/pods/default/web").value == {"a": 1}  # type: ignore[union-attr]


def test_compare_and_swap_on_the_revision_read(store: base.Store) -> None:
    rev = put(store, "/k", {"n": 1})
    put(store, "/k", {"n": 2})  # a concurrent writer moved on

    stale = store.txn([Compare("/k", rev)], [Put("/k", {"n": 99})])
    fresh = store.txn([Compare("/k", rev + 1)], [Put("/k", {"n": 3})])

    assert (stale.succeeded, stale.conflicts) == (False, ("/k",))
    assert fresh.succeeded
    assert store.get("/k").value == {"n": 3}  # type: ignore[union-attr]


def test_a_failed_transaction_runs_only_its_failure_ops(store: base.Store) -> None:
    a = put(store, "/a", {"n": 1})
    put(store, "/b", {"n": 1})  # a + 1

    result = store.txn(
        [Compare("/a", a), Compare("/b", a)],
        [Put("/a", {"n": 2}), Delete("/b")],
        [Put("/failed", {"why": "b moved"})],
    )

    assert result == base.TxnResult(False, a + 2, ("/b",))
    kvs, _ = store.range("/")
    assert [(kv.key, kv.value) for kv in kvs] == [
        ("/a", {"n": 1}),
        ("/b", {"n": 1}),
        ("/failed", {"why": "b moved"}),
    ]


def test_a_failed_transaction_without_failure_ops_writes_nothing(store: base.Store) -> None:
    done = put(store, "/a", {})

    result = store.txn([Compare("/a", 0)], [Put("/b", {})])

    assert result == base.TxnResult(False, done, ("/a",))
    assert store.get("/b") is None
    assert store.watch("", done) == []


def test_delete_with_prefix_removes_only_that_subtree(store: base.Store) -> None:
    for key in ["/registry/pods/a/x", "/registry/pods/b/y", "/registry/podsx/z", "/registry/p"]:
        put(store, key, {})

    store.txn([], [Delete("/registry/pods/", prefix=True)])

    kvs, _ = store.range("")
    assert [kv.key for kv in kvs] == ["/registry/p", "/registry/podsx/z"]


def test_range_is_sorted_and_bounded_by_the_prefix(store: base.Store) -> None:
    keys = ["/registry/pods/default/b", "/registry/pods/default/a", "/registry/pods/kube/a"]
    store.txn([], [Put(k, {"k": k}) for k in keys])
    put(store, "/registry/podsecurity/x", {})
    last = put(store, "/registry/pod", {})

    kvs, revision = store.range("/registry/pods/")

    assert [kv.key for kv in kvs] == sorted(keys)
    assert all(kv.value == {"k": kv.key} for kv in kvs)
    assert revision == last


def test_keys_and_values_keep_any_unicode(store: base.Store) -> None:
    keys = ["/registry/configmaps/ns/caf\u00e9", "/registry/configmaps/ns/\u65e5\u672c",
            "/registry/configmaps/ns/\U0001f680", "/registry/configmaps/ns/z"]
    store.txn([], [Put(k, {"text": k[-1] * 3}) for k in keys])

    kvs, _ = store.range("/registry/configmaps/ns/")

    assert [kv.key for kv in kvs] == sorted(keys)
    assert [kv.value["text"] for kv in kvs] == [k[-1] * 3 for k in sorted(keys)]
    assert [kv.key for kv in store.range("/registry/configmaps/ns/caf")[0]] == [keys[0]]


def test_values_read_are_copies(store: base.Store) -> None:
    since = store.revision()
    put(store, "/k", {"spec": {"replicas": 1}})

    store.get("/k").value["spec"]["replicas"] = 5  # type: ignore[union-attr]
    store.range("/")[0][0].value["spec"] = None
    store.watch("/", since)[0].kv.value["spec"]["replicas"] = 7

    assert store.get("/k").value == {"spec": {"replicas": 1}}  # type: ignore[union-attr]
    assert store.watch("/", since)[0].kv.value == {"spec": {"replicas": 1}}


def test_watch_returns_puts_and_deletes_in_order(store: base.Store) -> None:
    first = put(store, "/registry/pods/a", {"n": 1})  # before the watch point
    since = store.revision()
    store.txn([], [Put("/registry/pods/b", {"n": 2}), Put("/registry/nodes/n1", {})])  # +1
    put(store, "/registry/pods/a", {"n": 3})  # +2
    store.txn([], [Delete("/registry/pods/", prefix=True)])  # +3

    events = store.watch("/registry/pods/", since)

    assert [(e.type, e.kv.key, e.kv.mod_revision - since) for e in events] == [
        (EventType.PUT, "/registry/pods/b", 1),
        (EventType.PUT, "/registry/pods/a", 2),
        (EventType.DELETE, "/registry/pods/a", 3),
        (EventType.DELETE, "/registry/pods/b", 3),
    ]
    assert events[1].kv == base.KeyValue("/registry/pods/a", {"n": 3}, first, since + 2, 2)
    assert events[2].kv == base.KeyValue("/registry/pods/a", {}, 0, since + 3, 0)
    assert store.watch("/registry/pods/", since + 3) == []


def test_watch_with_a_timeout_returns_empty_when_nothing_happens(store: base.Store) -> None:
    put(store, "/k", {})

    assert store.watch("/", store.revision(), timeout=0.05) == []


@pytest.mark.timeout(30)
def test_watch_wakes_on_a_write_from_another_thread(store: base.Store) -> None:
    since = put(store, "/registry/pods/a", {})
    started = threading.Event()

    def writer() -> None:
        started.wait()
        put(store, "/registry/nodes/n1", {})  # outside the prefix: the watcher keeps waiting
        put(store, "/registry/pods/b", {"n": 1})

    thread = threading.Thread(target=writer)
    thread.start()
    started.set()
    # Far longer than the test timeout: only a wake-up on the write can make this pass.
    events = store.watch("/registry/pods/", since, timeout=600)
    thread.join()

    assert [(e.type, e.kv.key) for e in events] == [(EventType.PUT, "/registry/pods/b")]


def test_watch_before_the_compacted_revision_is_refused(store: base.Store) -> None:
    start = store.revision()
    for n in range(5):
        put(store, "/k", {"n": n})

    store.compact(start + 3)

    with pytest.raises(errors.StoreConflict, match="compacted"):
        store.watch("/", start + 2)
    assert [e.kv.value for e in store.watch("/", start + 3)] == [{"n": 3}, {"n": 4}]
    store.compact(start + 2)  # older than what is already gone: nothing to do
    assert len(store.watch("/", start + 3)) == 2
    assert store.get("/k").version == 5  # type: ignore[union-attr]


def test_compaction_never_passes_the_current_revision(store: base.Store) -> None:
    done = put(store, "/k", {})

    store.compact(done + 100)
    put(store, "/k", {"n": 2})

    assert [e.kv.value for e in store.watch("/", done)] == [{"n": 2}]


def test_concurrent_compare_and_swap_loses_no_update(store: base.Store) -> None:
    per_thread, threads = 50, 4

    def increment() -> None:
        done = 0
        while done < per_thread:
            kv = store.get("/counter")
            n, rev = (kv.value["n"], kv.mod_revision) if kv else (0, 0)
            if store.txn([Compare("/counter", rev)], [Put("/counter", {"n": n + 1})]).succeeded:
                done += 1

    start = store.revision()
    workers = [threading.Thread(target=increment) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert store.get("/counter").value == {"n": per_thread * threads}  # type: ignore[union-attr]
    assert store.revision() == start + per_thread * threads


def test_an_expired_lease_deletes_its_keys(store: base.Store) -> None:
    lease = store.grant_lease(0.2)
    store.txn([], [Put("/registry/nodes/n1", {"alive": True}, lease), Put("/keep", {})])
    since = store.revision()
    assert store.get("/registry/nodes/n1").lease == lease  # type: ignore[union-attr]

    events = store.watch("/registry/", since, timeout=5)

    assert [(e.type, e.kv.key) for e in events] == [(EventType.DELETE, "/registry/nodes/n1")]
    assert store.get("/registry/nodes/n1") is None
    assert store.get("/keep") is not None
    with pytest.raises(errors.StoreConflict, match=f"Lease {lease} has expired"):
        store.keepalive(lease)


def test_a_put_on_an_expired_lease_is_refused_and_writes_nothing(store: base.Store) -> None:
    lease = store.grant_lease(0.2)
    put(store, "/sentinel", {}, lease)
    assert eventually(lambda: store.get("/sentinel") is None)  # deleted on expiry: a write
    after_expiry = store.revision()

    with pytest.raises(errors.StoreConflict, match="grant a new lease"):
        store.txn([], [Put("/other", {}), Put("/leased", {}, lease)])

    assert store.get("/other") is None
    assert store.revision() == after_expiry


def test_keepalive_and_revoke(store: base.Store) -> None:
    lease = store.grant_lease(60)
    other = store.grant_lease(60)
    written = store.txn([], [Put("/a", {}, lease), Put("/b", {}, lease), Put("/c", {}, other)])

    store.keepalive(lease)
    store.revoke_lease(lease)
    store.revoke_lease(lease)  # already gone: nothing to do

    assert [kv.key for kv in store.range("/")[0]] == ["/c"]
    assert [(e.type, e.kv.key) for e in store.watch("/", written.revision)] == [
        (EventType.DELETE, "/a"),
        (EventType.DELETE, "/b"),
    ]
    assert store.revision() == written.revision + 1
    with pytest.raises(errors.StoreConflict):
        store.keepalive(lease)


def test_a_put_without_a_lease_detaches_the_key(store: base.Store) -> None:
    lease = store.grant_lease(0.2)
    put(store, "/k", {"n": 1}, lease)
    put(store, "/k", {"n": 2})
    put(store, "/sentinel", {}, lease)

    assert eventually(lambda: store.get("/sentinel") is None)
    assert store.get("/k").value == {"n": 2}  # type: ignore[union-attr]


def test_ten_thousand_puts_in_one_transaction(store: base.Store) -> None:
    ops = [Put(f"/registry/pods/ns/pod-{n:05}", {"n": n}) for n in range(10_000)]

    start = store.revision()

    result = store.txn([], ops)
    kvs, revision = store.range("/registry/pods/")

    assert result.revision == revision == start + 1
    assert len(kvs) == 10_000
    assert kvs[0].key == "/registry/pods/ns/pod-00000"
    assert kvs[-1].value == {"n": 9_999}
