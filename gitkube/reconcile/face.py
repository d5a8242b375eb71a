"""The library face: everything the command line (or another program) uses of gitkube.

    with face.open_cluster(Path("demo")) as cluster:
        plan = cluster.plan()                   # what a pass would do (read-only)
        result = cluster.apply()                # one pass under the cluster lock
        cluster.objects("pods"), cluster.explain(pod), cluster.events(kind="Pod")

A cluster's operations are ``Cluster`` methods (``cluster.py``); what needs no open
cluster (init, finding the repository, saved plans, the daemon, sealing Secrets, copying
the store) is a function here, and the types the views render are named here too. The CLI imports
nothing else of gitkube but ``api``, ``errors`` and ``clock`` (import-linter keeps it so).

Light on purpose: only the vocabulary (``results``, the Actions) is imported with this
module; the engine (GitPython, paramiko, the planners) loads when a function here is
first called, so ``gitkube --help`` does not wait for it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gitkube.clock import Clock
from gitkube.planning import actions
from gitkube.reconcile import events, plans, results

if TYPE_CHECKING:
    from gitkube.reconcile import cluster as cluster_mod
    from gitkube.reconcile import serve
    from gitkube.store import copying

    Cluster = cluster_mod.Cluster
    Daemon = serve.Daemon
    StoreCopy = copying.Copied

Plan = results.Plan
PassResult = results.PassResult
PassRecord = results.PassRecord
Progress = results.Progress
ProgressCallback = results.ProgressCallback
Fit = results.Fit
Action = actions.Action
ActionKind = actions.ActionKind
ObjectRef = actions.ObjectRef
Event = events.Event
SavedPlan = plans.SavedPlan


def open_cluster(repo: Path | None = None, *, state: Path | None = None,
                 clock: Clock | None = None) -> Cluster:
    """The cluster whose repository is ``repo`` (default: found from the current directory
    upwards); ``state`` overrides where its store and locks live. Close it when done."""
    from gitkube.reconcile import cluster as cluster_mod

    return cluster_mod.Cluster.open(repo, state=state, clock=clock)


def find_repository(start: Path) -> Path:
    """The cluster repository at or above ``start``; ``ConfigError`` when there is none."""
    from gitkube.reconcile import setup

    return setup.find_repository(start)


def init_cluster(directory: Path, *, from_folder: Path | None = None,
                 state: Path | None = None, bare: bool = False) -> str:
    """Make ``directory`` a cluster repository (one node: this machine); its first commit."""
    from gitkube.reconcile import setup

    return setup.init_cluster(directory, from_folder=from_folder, state=state, bare=bare)


def save_plan(plan: Plan, path: Path, *, created: str) -> None:
    """Save ``plan`` for ``gitkube apply FILE``."""
    plans.save(plan.to_dict(), path, created=created)


def load_plan(path: Path) -> SavedPlan:
    return plans.load(path)


def daemon(repo: Path | None, state: Path | None, *, interval: float, follow: str | None,
           fetch_interval: float, max_passes: int | None,
           log: Callable[[str], None]) -> Daemon:
    """``gitkube serve``'s daemon for the cluster at ``repo``; ``run()`` it."""
    from gitkube.reconcile import serve

    options = serve.Options(interval=interval, follow=follow, fetch_interval=fetch_interval,
                            max_passes=max_passes)
    return serve.Daemon(repo, state, options, log)


def systemd_unit(python: str, repo: Path, *, interval: float, follow: str | None,
                 containers_conf: str | None) -> str:
    """A systemd service running ``gitkube serve`` on ``repo`` with ``python``."""
    from gitkube.reconcile import serve

    return serve.systemd_unit(python, repo, interval=interval, follow=follow,
                              containers_conf=containers_conf)


def encrypt_manifest(text: str, recipients: list[str], *, where: str) -> tuple[str, int]:
    """``text`` with every plain Secret sealed for ``recipients``; (text, how many)."""
    from gitkube.source import sealing

    return sealing.encrypt_manifest(text, recipients, where=where)


def copy_store(repo: Path, state: Path | None, target: str, *, cacert: Path | None = None,
               cert: Path | None = None, key: Path | None = None,
               ) -> tuple[StoreCopy, str, Path]:
    """Copy the store of the cluster at ``repo`` into the empty store ``target`` (etcd with
    TLS when ``cacert``/``cert``/``key`` are given); (what was copied, where from, the key
    file the copied Secrets need)."""
    from gitkube.reconcile import stores
    from gitkube.store import tls as store_tls

    tls = store_tls.TLS(cacert, cert, key) if cacert or cert or key else None
    return stores.copy_to(repo, state, target, tls)

