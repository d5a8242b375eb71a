"""Which store a cluster uses, and moving its state to another one (``gitkube store copy``).

The engine, ``serve`` and ``store copy`` open a cluster's store here: the backend its git
config names (``gitkube.store``: etcd for more than one control machine; SQLite in the state
directory by default), with Secrets encrypted by the cluster's key
(``gitkube.encryptionKey``, by default ``<state>/encryption.key``).
"""

from __future__ import annotations

from pathlib import Path

from gitkube import errors
from gitkube.reconcile import leader
from gitkube.source import locks
from gitkube.source import settings as source_settings
from gitkube.store import base, copying, encryption, open_store
from gitkube.store import tls as store_tls

SQLITE_NAME = "store.sqlite"
KEY_NAME = "encryption.key"


def location(state_dir: Path, settings: source_settings.Settings) -> str:
    """The store's URL or path, as ``gitkube status`` and messages name it."""
    return settings.store or str(state_dir / SQLITE_NAME)


def key_file(state_dir: Path, settings: source_settings.Settings) -> Path:
    return settings.encryption_key or state_dir / KEY_NAME


def tls_of(settings: source_settings.Settings) -> store_tls.TLS | None:
    if not (settings.store_ca_cert or settings.store_cert or settings.store_key):
        return None
    return store_tls.TLS(settings.store_ca_cert, settings.store_cert, settings.store_key)


def open_cluster_store(state_dir: Path, settings: source_settings.Settings) -> base.Store:
    """The cluster's store, Secrets encrypted."""
    raw = open_store(location(state_dir, settings), tls=tls_of(settings))
    try:
        return encryption.encrypted(raw, key_file(state_dir, settings))
    except BaseException:
        raw.close()
        raise


def copy_to(repo: Path, state: Path | None, target: str,
            tls: store_tls.TLS | None) -> tuple[copying.Copied, str, Path]:
    """Copy the store of the cluster at ``repo`` into the empty store ``target``, under the
    cluster lock (no pass of this machine runs meanwhile; other machines' must be stopped).
    Also returns the source's location and the key file the copied Secrets need."""
    settings = source_settings.read_settings(repo)
    state_dir = state or source_settings.state_dir(repo, settings)
    source_location = location(state_dir, settings)
    with locks.cluster_lock(state_dir, wait=False):
        source = open_store(source_location, tls=tls_of(settings))
        try:
            running = leader.roster(source).leader
            if running is not None:
                raise errors.ConfigError(
                    f"{leader.describe(running)} leads this cluster and runs its passes; stop "
                    "`gitkube serve` on every control machine, then copy.")
            destination = open_store(target, tls=tls)
            try:
                copied = copying.copy(source, destination)
            finally:
                destination.close()
        finally:
            source.close()
    return copied, source_location, key_file(state_dir, settings)
