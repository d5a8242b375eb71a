"""Actions → store operations, and back: what a pass writes is what the next one reads."""

from __future__ import annotations

import pytest

from gitkube import errors
from gitkube.api import core, meta
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.reconcile import planner, sources, writes
from gitkube.store import memory
from gitkube.store.base import Put

NOTHING = sources.PassSource(None, "", [])


def _config(name: str, value: str) -> core.ConfigMap:
    return core.ConfigMap(api_version="v1", kind="ConfigMap",
                          metadata=meta.ObjectMeta(name=name, labels={"a": "b"}),
                          data={"key": value})


def test_objects_round_trip_through_the_store() -> None:
    store = memory.MemoryStore()
    config = _config("w1", "one")
    create = Action(ActionKind.CREATE, ObjectRef.of(config), "new", obj=config,
                    expected_revision=0)

    revision = writes.write(store, [create], [Put("/gitkube/pass", {})])
    snapshot = planner.read_snapshot(store, NOTHING, {})

    assert revision == snapshot.revision == 1
    stored = store.get("/registry/configmaps/default/w1")
    assert stored is not None and stored.value == config.to_dict()
    assert {k: (s.obj.to_dict(), s.mod_revision) for k, s in snapshot.objects.items()} == {
        "/registry/configmaps/default/w1": (config.to_dict(), 1)}


def test_a_write_whose_read_is_stale_writes_nothing() -> None:
    store = memory.MemoryStore()
    old = _config("w1", "one")
    writes.write(store, [Action(ActionKind.CREATE, ObjectRef.of(old), "new", obj=old,
                                expected_revision=0)])
    changed = _config("w1", "two")
    added = _config("w2", "two")
    stale = [Action(ActionKind.UPDATE, ObjectRef.of(changed), "edit", obj=changed,
                    expected_revision=0),
             Action(ActionKind.CREATE, ObjectRef.of(added), "new", obj=added,
                    expected_revision=0)]

    with pytest.raises(errors.StoreConflict, match="/registry/configmaps/default/w1"):
        writes.write(store, stale)

    assert store.revision() == 1 and store.get("/registry/configmaps/default/w2") is None


def test_nothing_to_write_writes_nothing() -> None:
    store = memory.MemoryStore()
    assert writes.write(store, []) is None
    assert store.revision() == 0
