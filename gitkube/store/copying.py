"""Moving a cluster's state from one store to another (``gitkube store copy``).

Going from one control machine to three means moving the SQLite file's keys into etcd (and
back, to leave etcd). The copy is of the stored bytes: Secrets stay encrypted with the
cluster's key (the target needs the same key file), revisions start again at the target's
(every pass reads mod_revisions afresh, so nothing depends on the old numbers). Keys on a
lease are left out: they belong to a process of the old store and vanish with it. The
target must be empty, and the cluster stopped, so that nothing changes the source meanwhile.
"""

from __future__ import annotations

import dataclasses

from gitkube import errors
from gitkube.store import base

#: Keys per transaction: well inside the limits gitkube asks of etcd, one request each.
BATCH = 500


@dataclasses.dataclass(frozen=True)
class Copied:
    keys: int
    #: Keys on a lease, not copied.
    skipped: int
    source_revision: int
    target_revision: int


def copy(source: base.Store, target: base.Store, *, batch: int = BATCH) -> Copied:
    """Copy every key of ``source`` into the empty ``target``, then check the copy."""
    kvs, source_revision = source.range("")
    there, _ = target.range("")
    if there:
        raise errors.ConfigError(
            f"The target store already holds {len(there)} key(s) (the first is {there[0].key}); "
            "gitkube copies only into an empty store. Empty it or name another one.")
    kept = [kv for kv in kvs if not kv.lease]
    revision = target.revision()
    for start in range(0, len(kept), batch):
        chunk = kept[start:start + batch]
        result = target.txn([base.Compare(kv.key, 0) for kv in chunk],
                            [base.Put(kv.key, kv.value) for kv in chunk])
        if not result.succeeded:
            raise errors.StoreConflict(
                f"Something else wrote to the target store while copying ({result.conflicts[0]} "
                "appeared); stop it, empty the target and copy again.")
        revision = result.revision
    copied, _ = target.range("")
    if [(kv.key, kv.value) for kv in copied] != [(kv.key, kv.value) for kv in kept]:
        raise errors.StoreConflict(
            "The target store does not hold what was copied (something else wrote to it); "
            "empty it and copy again with the cluster stopped.")
    return Copied(len(kept), len(kvs) - len(kept), source_revision, revision)
