"""Typed bridges between API objects and store key-values, for the engine.

The store holds plain JSON; these helpers are the one place that says an
object's key is ``obj.key`` and its value is ``obj.to_dict()``.
"""

from __future__ import annotations

from gitkube.api import keys, meta
from gitkube.store import base


def put_object_op(obj: meta.KubeObject) -> base.Put:
    """The operation that writes ``obj`` under its registry key."""
    return base.Put(obj.key, obj.to_dict())


def load_objects(
    store: base.Store, prefix: str = keys.REGISTRY
) -> tuple[dict[str, tuple[base.JSON, int]], int]:
    """Every value under ``prefix`` as ``key -> (value, mod_revision)``, and the revision read at.

    A later write that depends on one of these values compares on its mod_revision.
    """
    kvs, revision = store.range(prefix)
    return {kv.key: (kv.value, kv.mod_revision) for kv in kvs}, revision
