"""The state directory's locks: one reconcile pass at a time, one daemon per cluster.

A cron job, the daemon and a person's ``gitkube apply`` may start passes at the
same moment; they take the cluster lock first (``<state_dir>/pass.lock``). A
``gitkube serve`` holds ``serve.lock`` for its whole life, so a second one against
the same cluster refuses to start and ``gitkube status`` can tell whether one runs.
Both are ``flock`` locks because the kernel drops them when the holder dies, so a
killed pass never leaves a lock that someone must remove by hand (which is also
why the status writer may treat a leftover Git ref lock as stale). The holder's pid
is written into the file, only for the messages.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from gitkube import errors

LOCK_NAME = "pass.lock"
SERVE_LOCK = "serve.lock"


def cluster_lock(state_dir: Path, *, wait: bool) -> contextlib.AbstractContextManager[Path]:
    """Hold the cluster lock inside the ``with`` block; ``LockHeld`` if taken and not waiting."""
    path = state_dir / LOCK_NAME
    return _held(path, wait, lambda holder: errors.LockHeld(
        f"Another gitkube pass{holder} holds the cluster lock {path}; wait for it to "
        "finish, or use --wait.",
        retry_after=5.0,
    ))


def serve_lock(state_dir: Path) -> contextlib.AbstractContextManager[Path]:
    """Held while a daemon serves this cluster; ``LockHeld`` when another one does."""
    path = state_dir / SERVE_LOCK
    return _held(path, False, lambda holder: errors.LockHeld(
        f"gitkube serve already runs for this cluster{holder}; it holds {path}. Stop it "
        "first, or let it be: one daemon per cluster is enough."))


def running_daemon(state_dir: Path) -> int | None:
    """The pid of the ``gitkube serve`` serving this state dir, or None."""
    path = state_dir / SERVE_LOCK
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextlib.contextmanager
def _held(path: Path, wait: bool,
          refused: Callable[[str], errors.LockHeld]) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise refused(_read_holder(fd)) from exc
        # The pid is only for the messages; the lock is the flock, not the content.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f" (process {text})" if text.isdigit() else ""
