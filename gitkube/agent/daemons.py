"""The agent's resident processes on a node: started detached, one per state directory.

A daemon (the node's DNS server, the supervisor) runs in a session of its own with no
inherited stdin/stdout/stderr, so the SSH channel that started it closes as soon as the
agent answers. It holds an flock on ``<name>.lock`` while it lives
and writes its pid alone in ``<name>.pid``, so ``kill $(cat NAME.pid)`` stops it, and what it
was started for in ``<name>.detail`` (the supervisor's agent package, the DNS server's
address); the lock tells the agent whether it runs without trusting a stale pid. It logs to
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
        pid = int((state_dir / f"{name}.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        detail = (state_dir / f"{name}.detail").read_text().strip()
    except OSError:
        detail = ""  # one started by an older agent: its detail matches nothing, so it is replaced
    return pid, detail


def start(state_dir: Path, name: str, args: list[str]) -> bool:
    """Start ``python3 -m <agent> ARGS`` detached and wait until it holds its lock; False
    when it left first (its log says why)."""
    child = subprocess.Popen(
        [sys.executable, "-m", probing.PACKAGE, *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True, cwd="/", env=probing.child_env())
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = running(state_dir, name)
        if found is not None and found[0] == child.pid:  # not the pid file of one gone
            _reap_later(child)
            return True
        if child.poll() is not None:
            return running(state_dir, name) is not None  # another one took the lock first
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
    _replace(state_dir / f"{name}.detail", f"{detail}\n")
    _replace(state_dir / f"{name}.pid", f"{os.getpid()}\n")
    return fd


def _replace(path: Path, text: str) -> None:
    """Write ``path`` whole at once: a reader sees the old content or the new, never a part."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(text)
    scratch.replace(path)


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
