"""The informer: list, then watch; a watch that is too old lists again (every backend)."""

from __future__ import annotations

from gitkube.store import base, informer
from gitkube.store.base import Delete, Put


def test_follows_puts_and_deletes(store: base.Store) -> None:
    store.txn([], [Put("/registry/nodes/a", {"n": 1}), Put("/registry/pods/x", {})])
    follower = informer.Informer(store, "/registry/nodes/")
    assert follower.sync()

    store.txn([], [Put("/registry/nodes/b", {"n": 2}), Delete("/registry/nodes/a")])
    store.txn([], [Put("/registry/pods/y", {})])  # not followed

    assert follower.sync()
    assert {k: kv.value for k, kv in follower.items.items()} == {"/registry/nodes/b": {"n": 2}}
    assert not follower.sync()
    assert follower.relists == 0


def test_a_watch_that_is_too_old_lists_again(store: base.Store) -> None:
    store.txn([], [Put("/registry/nodes/a", {"n": 1})])
    follower = informer.Informer(store, "/registry/nodes/")
    follower.sync()
    for n in range(2, 6):
        store.txn([], [Put("/registry/nodes/a", {"n": n}), Put(f"/registry/nodes/{n}", {})])
    store.txn([], [Delete("/registry/nodes/3")])
    store.compact(store.revision() - 1)  # the history the follower needs is gone

    assert follower.sync()

    assert follower.relists == 1
    kvs, revision = store.range("/registry/nodes/")
    assert follower.items == {kv.key: kv for kv in kvs}
    assert follower.revision == revision


def test_sync_waits_for_the_next_change(store: base.Store) -> None:
    follower = informer.Informer(store, "/registry/nodes/")
    follower.sync()

    assert not follower.sync(timeout=0.05)
    store.txn([], [Put("/registry/nodes/a", {})])
    assert follower.sync(timeout=5)
    assert list(follower.items) == ["/registry/nodes/a"]
