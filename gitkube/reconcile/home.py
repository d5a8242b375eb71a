"""Where a cluster lives: its repository, settings, state directory, store and clock.

Opened once (``Home.open``) by ``Cluster`` and handed to each step of a pass, so the
steps (``sources``, ``planner``, ``passes``, ``reads``) share one Git reader and one
store connection and need nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitkube import errors
from gitkube.clock import Clock
from gitkube.reconcile import stores
from gitkube.source import repo as source_repo
from gitkube.source import settings as source_settings
from gitkube.store import base as store_base


@dataclass(frozen=True)
class Home:
    repo_path: Path
    #: The store, the pass lock, the ledger key and the cluster's age key live here.
    state_dir: Path
    #: The repository's ``gitkube.*`` git config: branch, force-push and signing policy.
    settings: source_settings.Settings
    clock: Clock
    source: source_repo.SourceRepo
    store: store_base.Store

    @property
    def branch(self) -> str:
        return self.settings.branch

    @classmethod
    def open(cls, repo_path: Path, state_dir: Path, settings: source_settings.Settings,
             clock: Clock) -> Home:
        # 0700: the store holds Secret values and the directory may hold the cluster's age key.
        try:
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            why = "it is a file" if state_dir.is_file() else exc.strerror
            raise errors.ConfigError(
                f"The state directory {state_dir} cannot be made: {why}. Give --state "
                "a directory gitkube may create and write (or leave it out to keep the state "
                "in the repository's git dir)."
            ) from exc
        source = source_repo.SourceRepo(repo_path, state_dir=state_dir)
        store = stores.open_cluster_store(state_dir, settings)
        return cls(repo_path, state_dir, settings, clock, source, store)

    def close(self) -> None:
        self.store.close()
