"""Actions → store operations: one compare-and-swap transaction per write of a pass.

Each store action becomes a put or a delete of its object's key, guarded by the
revision the pass read the object at (``expected_revision``; 0: must not exist). When
any guard fails nothing is written and the pass stops with ``StoreConflict``: the
store changed under the plan, and the next pass plans again.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitkube.api import keys, registry
from gitkube.errors import StoreConflict
from gitkube.planning.actions import Action, ActionKind
from gitkube.reconcile import sources
from gitkube.store import base as store_base


def write(store: store_base.Store, actions: Sequence[Action],
          extra: Sequence[store_base.Op] = ()) -> int | None:
    """Write ``actions`` (and ``extra``) in one transaction: the revision it wrote at, the
    new ``mod_revision`` of every key it put (None when there was nothing to write)."""
    compares: list[store_base.Compare] = []
    ops: list[store_base.Op] = []
    for action in actions:
        key = action.obj.key if action.obj is not None else registry.key_for(
            action.target.kind, action.target.namespace, action.target.name)
        if action.expected_revision is not None:
            compares.append(store_base.Compare(key, action.expected_revision))
        if action.kind is ActionKind.DELETE:
            ops.append(store_base.Delete(key))
        elif action.obj is not None:
            ops.append(store_base.Put(key, action.obj.to_dict()))
    ops.extend(extra)
    if not ops:
        return None
    result = store.txn(compares, ops)
    if not result.succeeded:
        raise StoreConflict(
            f"The store changed while this pass planned ({', '.join(result.conflicts)}); "
            "nothing was written. The next pass will plan again.", retry_after=1.0)
    return result.revision


def source_record(source: sources.PassSource, cluster: str) -> list[store_base.Op]:
    """What the pass's first write records beside the objects: which revision it applied
    (``lastAppliedRevision``, what was attempted and why it was refused) and the cluster's
    name."""
    return [
        store_base.Put(keys.SOURCE_KEY, {
            "lastAppliedRevision": source.sha,
            "lastAttemptedRevision": source.head,
            "lastAttemptedErrors": [str(p) for p in source.problems],
        }),
        store_base.Put(keys.CLUSTER_KEY, {"name": cluster}),
    ]
