"""The store: where gitkube keeps desired and observed state between passes (etcd's role).

    base.py        the Store protocol: get, range, txn with compare-and-swap, watch, leases
    sqlite.py      the embedded default: one SQLite file in the state directory
    etcd.py        etcd v3, for more than one control machine (etcdwire.py: the wire)
    memory.py      in memory, for tests and ``plan`` overlays
    encryption.py  Secrets encrypted at rest, around any backend
    informer.py    following part of the store: list, then watch from there
    copying.py     a cluster's state moved to another store (``gitkube store copy``)

``open_store`` turns the configured location into a backend; everything else
talks to the :class:`~gitkube.store.base.Store` protocol only, so the SQLite
default, the in-memory store of tests and etcd (for more than one control
machine) are interchangeable. ``encryption.encrypted`` wraps any of them so that
Secrets are encrypted at rest. Below ``reconcile``; imports ``api`` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gitkube import errors
from gitkube.store import base, memory, sqlite

if TYPE_CHECKING:
    from gitkube.store import tls as tls_


def open_store(url_or_path: str | Path, *, tls: tls_.TLS | None = None) -> base.Store:
    """Open the store named by a path or URL.

    ``/abs/path.db``, ``relative.db`` or ``sqlite:///abs/path.db``: the SQLite file
    (made if missing); ``memory://``: a fresh in-memory store;
    ``etcd://host:2379,host2:2379``: an etcd cluster through any of those members
    (HTTPS with ``tls``'s CA and client certificate when given).
    """
    if isinstance(url_or_path, Path):
        return sqlite.SQLiteStore(url_or_path)
    text = url_or_path.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return sqlite.SQLiteStore(Path(text))
    if scheme == "sqlite":
        if not rest:
            raise errors.ConfigError(
                f"The store URL {text!r} names no file; write it as sqlite:///absolute/path.db."
            )
        return sqlite.SQLiteStore(Path(rest))
    if scheme == "memory":
        return memory.MemoryStore()
    if scheme == "etcd":
        # Imported here: the etcd client (requests and all) costs a command ~0.1 s to load,
        # which a cluster on SQLite should not pay.
        from gitkube.store import etcd, etcdwire

        return etcd.EtcdStore(etcdwire.parse_endpoints(rest), tls)
    raise errors.ConfigError(
        f"The store URL {text!r} has the unknown scheme {scheme!r}; use a file path, "
        "sqlite:///absolute/path.db, etcd://host:2379,host2:2379 or memory://."
    )
