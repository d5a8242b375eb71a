"""The agent's resident processes on a node: started detached, one per state directory.

A daemon (the node's DNS server, the supervisor) runs in a session of its own with no
inherited stdin/stdout/stderr, so the SSH channel that started it closes as soon as the
agent answers. It holds an flock on ``<name>.lock`` while it lives
and names itself in ``<name>.pid`` (pid, then a detail line), so ``kill $(head -1 NAME.pid)``
stops it and the agent can tell whether it runs without trusting a stale pid. It logs to
``<name>.log`` (rotated once past ``LOG_MAX_BYTES``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import probing

LOG_MAX_BYTES = 1 << 20
START_TIMEOUT = 5.0


def running(state_dir: Path, name: str) -> tuple[int, str] | None:
    """(pid, detail line) of the daemon ``name`` when it runs, else None."""
    if not _lock_held(state_dir / f"{name}.lock"):
        return None
    try:
        lines = (state_dir / f"{name}.pid").read_text().splitlines()
        return int(lines[0]), lines[1] if len(lines) > 1 else ""
    except (OSError, ValueError, IndexError):
        return None


def start(state_dir: Path, name: str, args: list[str]) -> bool:
    """Start ``python3 -m <agent> ARGS`` detached and wait until it holds its lock; False
    when it left first (its log says why)."""
    child = subprocess.Popen(
        [sys.executable, "-m", probing.PACKAGE, *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True, cwd="/", env=probing.child_env())
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if running(state_dir, name):
            _reap_later(child)
            return True
        if child.poll() is not None:
            return False
        time.sleep(0.01)
    return False


def _reap_later(child: subprocess.Popen[bytes]) -> None:
    """A long-lived agent (a session) must not keep a zombie when the daemon ends."""
    threading.Thread(target=child.wait, daemon=True, name="reap").start()


def stop(state_dir: Path, name: str, timeout: float = 10.0) -> bool:
    """SIGTERM the daemon and wait until it left; False when none ran."""
    found = running(state_dir, name)
    if found is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(found[0], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _lock_held(state_dir / f"{name}.lock") and time.monotonic() < deadline:
        time.sleep(0.02)
    return True


def hold(state_dir: Path, name: str, detail: str) -> int | None:
    """In the daemon: take the lock and write the pid file; None when another one has it.
    The returned descriptor is kept open for the daemon's life."""
    fd = os.open(state_dir / f"{name}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    (state_dir / f"{name}.pid").write_text(f"{os.getpid()}\n{detail}\n")
    return fd


def logger(state_dir: Path, name: str) -> Callable[[str], None]:
    path = state_dir / f"{name}.log"
    with contextlib.suppress(OSError):
        if path.stat().st_size > LOG_MAX_BYTES:
            path.replace(path.with_suffix(".log.1"))

    def log(message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with contextlib.suppress(OSError), path.open("a", encoding="utf-8") as out:
            out.write(f"{stamp} {message}\n")

    return log


def last_log_line(state_dir: Path, name: str) -> str:
    with contextlib.suppress(OSError):
        lines = (state_dir / f"{name}.log").read_text(errors="replace").splitlines()
        return lines[-1].split(" ", 1)[-1] if lines else ""
    return ""


def _lock_held(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False
