"""Following part of the store as Kubernetes' informers do: list, then watch from there.

A reader that keeps a copy of the keys under a prefix reads them once with ``range`` and
then applies ``watch`` events from the revision it read at. History is not kept forever
(the engine compacts it, etcd may too), so a follower that fell too far behind gets
``StoreConflict`` from ``watch``: it lists again, as client-go's reflector does after
"too old resource version", and carries on from the new revision.
"""

from __future__ import annotations

from gitkube import errors
from gitkube.store import base


class Informer:
    """A copy of the keys under ``prefix`` (``items``), kept current by ``sync``."""

    def __init__(self, store: base.Store, prefix: str) -> None:
        self.store = store
        self.prefix = prefix
        self.items: dict[str, base.KeyValue] = {}
        #: The store revision ``items`` is current at.
        self.revision = -1
        #: How many times the history was gone and the keys were listed again.
        self.relists = 0

    def sync(self, timeout: float = 0.0) -> bool:
        """Bring ``items`` up to date, waiting up to ``timeout`` seconds for a change when
        there is none yet; True when ``items`` changed."""
        if self.revision < 0:
            self._list()
            return True
        try:
            events = self.store.watch(self.prefix, self.revision, timeout)
        except errors.StoreConflict:
            before = self.items
            self._list()
            self.relists += 1
            return self.items != before
        for event in events:
            if event.type is base.EventType.PUT:
                self.items[event.kv.key] = event.kv
            else:
                self.items.pop(event.kv.key, None)
            self.revision = max(self.revision, event.kv.mod_revision)
        return bool(events)

    def _list(self) -> None:
        kvs, self.revision = self.store.range(self.prefix)
        self.items = {kv.key: kv for kv in kvs}
