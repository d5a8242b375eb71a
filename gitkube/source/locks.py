"""The cluster lock: one reconcile pass at a time per cluster state directory.

A cron job, the daemon and a person's ``gitkube apply`` may start passes at the
same moment; they take this lock first. It is an ``flock`` on
``<state_dir>/pass.lock`` because the kernel drops it when the holder dies, so a
killed pass never leaves a lock that someone must remove by hand (which is also
why the status writer may treat a leftover Git ref lock as stale).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from gitkube import errors

LOCK_NAME = "pass.lock"


@contextlib.contextmanager
def cluster_lock(state_dir: Path, *, wait: bool) -> Iterator[Path]:
    """Hold the cluster lock inside the ``with`` block; ``LockHeld`` if taken and not waiting."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            holder = _read_holder(fd)
            raise errors.LockHeld(
                f"Another gitkube pass{holder} holds the cluster lock {path}; wait for it to "
                "finish, or use --wait.",
                retry_after=5.0,
            ) from exc
        # The pid is only for the message above; the lock is the flock, not the content.
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
