"""The store: where gitkube keeps desired and observed state between passes (etcd's role).

``open_store`` turns the configured location into a backend; everything else
talks to the :class:`~gitkube.store.base.Store` protocol only, so the SQLite
default, the in-memory store of tests and a later etcd backend are
interchangeable.
"""

from __future__ import annotations

from pathlib import Path

from gitkube import errors
from gitkube.store import base, memory, sqlite


def open_store(url_or_path: str | Path) -> base.Store:
    """Open the store named by a path or URL.

    ``/abs/path.db``, ``relative.db`` or ``sqlite:///abs/path.db``: the SQLite file
    (made if missing); ``memory://``: a fresh in-memory store; ``etcd://host:port``:
    not built yet.
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
        raise errors.ConfigError(
            f"The store URL {text!r} asks for etcd, but the etcd backend is not built yet; "
            "use a SQLite path (the default) for now."
        )
    raise errors.ConfigError(
        f"The store URL {text!r} has the unknown scheme {scheme!r}; use a file path, "
        "sqlite:///absolute/path.db or memory://."
    )
