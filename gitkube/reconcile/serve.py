"""``gitkube serve``: the daemon that runs a pass whenever the branch moves, and on a timer.

A trigger of the pipeline, beside the push hooks and cron. It waits on three
things at once: the FIFO ``<state>/wake.fifo`` the post-receive hook writes to,
a file-system watch (watchdog, inotify) on the repository's refs (a local
``git commit`` or ``git fetch`` moves them without any hook), and the resync
interval (default 30 s) that catches drift and node changes. With ``follow`` it
also fetches the branch from a remote URL every ``fetch_interval`` seconds.

Two locks, on purpose: ``serve.lock`` is held for the daemon's whole life, so a
second ``serve`` against the same cluster refuses to start; each pass takes the
ordinary pass lock (waiting for it), so a person's ``gitkube apply`` or a cron
``reconcile`` between passes still works and never interleaves with the daemon.
``stop()`` (SIGTERM, SIGINT) lets the running pass finish, then returns.

With an etcd store (several control machines) each daemon campaigns for the leadership
(``leader``) in a thread; only the leader runs passes, fenced by its term, and publishes
the ledger to the origin it follows (``--follow``, else the clone's ``origin``); the others
stand by, say who leads, and take over when the leader's lease runs out.

While it serves, the daemon also judges pushes for the pre-receive hook, in a
thread of its own on ``<state>/serve.sock`` (``source.judge``): it has GitPython
and the models imported already, which the hook would otherwise spend most of a
push importing.
"""

from __future__ import annotations

import contextlib
import os
import select
import stat
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitkube import errors
from gitkube.api.inventory import Inventory
from gitkube.reconcile import cluster as cluster_mod
from gitkube.reconcile import fleet as fleet_mod
from gitkube.reconcile import leader, setup, stores
from gitkube.source import hooks, judge, locks, plumbing, publish
from gitkube.source import settings as source_settings

DEFAULT_INTERVAL = 30.0
DEFAULT_FETCH_INTERVAL = 10.0

Log = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    #: Seconds between passes when nothing wakes the daemon.
    interval: float = DEFAULT_INTERVAL
    #: A remote URL whose branch this repository mirrors (fetched, then applied).
    follow: str | None = None
    fetch_interval: float = DEFAULT_FETCH_INTERVAL
    #: Stop after this many passes (tests and benchmarks); None runs until stopped.
    max_passes: int | None = None


class Daemon:
    """One cluster's daemon; ``run()`` blocks until ``stop()`` (safe from a signal handler)."""

    def __init__(self, repo: Path | None, state: Path | None, options: Options,
                 log: Log) -> None:
        self.repo = setup.find_repository(repo or Path.cwd())
        self.settings = source_settings.read_settings(self.repo)
        self.state_override = state
        self.state_dir = state or source_settings.state_dir(self.repo, self.settings)
        self.options = options
        self.log = log
        self.passes = 0
        #: Connections and agent sessions to the nodes, kept from one pass to the next.
        self._fleet: fleet_mod.Fleet | None = None
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        #: With an etcd store: this daemon's campaign for the leadership (``_campaign``).
        self._elector: leader.Elector | None = None
        self._standby = ""

    # ------------------------------------------------------------------ control
    def stop(self) -> None:
        self._stopping = True
        self.wake()

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        try:
            with locks.serve_lock(self.state_dir), self._fifo() as fifo, self._watch(), \
                    self._judging(), self._campaign():
                every = f"every {self.options.interval:g}s"
                follow = f", following {self.options.follow}" if self.options.follow else ""
                self.log(f"serving {self.repo} (branch {self.settings.branch}); passes on push "
                         f"and {every}{follow}")
                self._loop(fifo)
                self.log("stopped")
        finally:
            if self._fleet is not None:
                self._fleet.close()
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _loop(self, fifo: int) -> None:
        last_head: str | None = None
        next_pass = 0.0
        next_fetch = 0.0
        while not self._stopping:
            now = time.monotonic()
            if self.options.follow and now >= next_fetch:
                self._fetch()
                next_fetch = time.monotonic() + self.options.fetch_interval
            if self._elector is not None and not self._leads(self._elector):
                last_head = None  # a pass at once when this machine takes over
                self._wait(fifo, self._elector.timing.retry_period)
                continue
            head = self._head()
            if head != last_head or now >= next_pass:
                why = ("first pass" if last_head is None else
                       f"new revision {head[:12]}" if head != last_head else "resync")
                self._one_pass(why)
                last_head = head
                next_pass = time.monotonic() + self.options.interval
                if self.options.max_passes is not None and self.passes >= self.options.max_passes:
                    return
                continue  # look again at once: a push may have landed during the pass
            deadline = min(next_pass, next_fetch) if self.options.follow else next_pass
            self._wait(fifo, max(deadline - time.monotonic(), 0.0))

    def _wait(self, fifo: int, timeout: float) -> None:
        readable, _, _ = select.select([self._wake_r, fifo], [], [], timeout)
        for fd in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(fd, 4096)

    def _head(self) -> str:
        return plumbing.rev_parse(self.repo, f"refs/heads/{self.settings.branch}") or ""

    def _one_pass(self, why: str) -> None:
        self.passes += 1
        began = time.monotonic()
        try:
            fence = self._fence()
            with cluster_mod.Cluster.open(self.repo, state=self.state_override) as cluster:
                result = cluster.apply(wait_for_lock=True, fleet=self._kept_fleet(),
                                       fence=fence)
        except errors.GitkubeError as exc:
            self.log(f"pass failed ({why}): {exc}")
            return
        except Exception:  # a bug must not end the daemon: log it, try again next time
            self.log(f"pass crashed ({why}); this is a bug in gitkube:\n"
                     f"{traceback.format_exc().rstrip()}")
            return
        took = time.monotonic() - began
        verdict = "ok" if result.ok else "failed"
        revision = result.plan.source_revision[:12] or "(none)"
        self.log(f"pass {verdict} ({why}) at {revision} in {took:.2f}s: "
                 f"{result.summary if result.changed or not result.ok else 'no changes'}")
        for error in [*result.errors, *(str(p) for p in result.plan.problems)]:
            self.log(f"  {error}")

    # ------------------------------------------------------------------ leading
    @contextlib.contextmanager
    def _campaign(self) -> Iterator[None]:
        """With an etcd store, campaign for the leadership (a thread) while serving: only the
        leader runs passes; on the way out the leadership is given up, for a standby."""
        if not self.settings.shared_store:
            yield
            return
        store = stores.open_cluster_store(self.state_dir, self.settings)
        timing = leader.Timing(self.settings.lease_duration, self.settings.renew_deadline,
                               self.settings.retry_period)
        self._elector = leader.Elector(store, timing=timing, log=self.log)
        stop = threading.Event()
        campaign = threading.Thread(target=self._elector.run, args=(stop,), name="leader",
                                    daemon=True)
        campaign.start()
        try:
            yield
        finally:
            stop.set()
            campaign.join()
            store.close()

    def _leads(self, elector: leader.Elector) -> bool:
        if elector.current() is not None:
            return True
        try:
            holder = leader.roster(elector.store).leader
        except errors.GitkubeError:
            holder = None
        if holder is not None and holder.get("holder") == elector.identity:
            return False  # just taken: the next look finds it current
        note = f"standing by: {leader.describe(holder)} leads" if holder else "standing by"
        if note != self._standby:
            self.log(note)
            self._standby = note
        return False

    def _fence(self) -> leader.Fence | None:
        elector = self._elector
        if elector is None:
            return None
        leading = elector.current()
        if leading is None:
            raise errors.NotLeader(f"{elector.identity} no longer leads; no pass.")
        self._standby = ""
        return leader.Fence(leading, lambda: elector.check(leading),
                            self.options.follow or publish.origin_url(self.repo))

    def _kept_fleet(self) -> fleet_mod.Fleet:
        if self._fleet is None:
            self._fleet = fleet_mod.Fleet(Inventory())  # each pass gives it the real one
        return self._fleet

    def _fetch(self) -> None:
        said = plumbing.fetch_branch(self.repo, str(self.options.follow), self.settings.branch)
        if said is not None:
            self.log(f"fetch from {self.options.follow} failed: {said}")

    # ------------------------------------------------------------------ judging pushes
    def _judging(self) -> contextlib.AbstractContextManager[judge.Service | None]:
        git_dir = source_settings.git_dir(self.repo)
        return judge.serving(git_dir, self.state_dir, _judge_push, self.log)

    # ------------------------------------------------------------------ wake-ups
    @contextlib.contextmanager
    def _fifo(self) -> Iterator[int]:
        path = self.state_dir / hooks.WAKE_FIFO
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISFIFO(path.lstat().st_mode):
                path.unlink()
        with contextlib.suppress(FileExistsError):
            os.mkfifo(path, 0o622)
        # Read-write: the daemon is a writer too, so the FIFO never reports end-of-file.
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            yield fd
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _watch(self) -> Iterator[None]:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        refs = plumbing.common_dir(self.repo)
        wanted = (f"refs/heads/{self.settings.branch}", "packed-refs")
        daemon = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                paths: list[Any] = [event.src_path, getattr(event, "dest_path", "")]
                if any(str(p).endswith(wanted) for p in paths):
                    daemon.wake()

        observer = Observer()
        handler = Handler()
        observer.schedule(handler, str(refs), recursive=False)
        heads = refs / "refs" / "heads"
        if heads.is_dir():
            observer.schedule(handler, str(heads), recursive=True)
        observer.daemon = True
        observer.start()
        try:
            yield
        finally:
            observer.stop()
            observer.join(timeout=5)


def _judge_push(repo: Path, updates: list[judge.Update],
                env: Mapping[str, str]) -> tuple[int, str]:
    return hooks.judge_push(repo, [hooks.RefUpdate(*update) for update in updates], env)


def systemd_unit(python: str, repo: Path, *, interval: float, follow: str | None,
                 containers_conf: str | None) -> str:
    """A systemd service for ``gitkube serve`` on this repository."""
    follow_arg = f" --follow {follow}" if follow else ""
    interval_arg = f" --interval {interval:g}" if interval != DEFAULT_INTERVAL else ""
    env = f"Environment=CONTAINERS_CONF={containers_conf}\n" if containers_conf else ""
    return (
        "# /etc/systemd/system/gitkube.service — then: systemctl daemon-reload && "
        "systemctl enable --now gitkube\n"
        "[Unit]\n"
        f"Description=gitkube serve for the cluster in {repo}\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={python} -m gitkube --repo {repo} serve{interval_arg}{follow_arg}\n"
        f"{env}"
        "# SIGTERM lets the running pass finish; a pass converging many nodes may take a while.\n"
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=300\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )
