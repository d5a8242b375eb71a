"""The machine a runtime runs on: its memory and OS name as ``NodeFacts`` reports them
(pure reads of ``/proc/meminfo`` and ``/etc/os-release``), and the processes left in a
pod's cgroup once the runtime lost track of them (``kill_cgroup``).

Shared by the runtimes that run containers on this host (podman, containerd).
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def memory_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def kill_cgroup(path: str) -> int:
    """SIGKILL every process in the cgroup ``path`` (as ``/proc/<pid>/cgroup`` names it, or
    a systemd slice's name) and below, on cgroup v2 and in every v1 hierarchy; answers how
    many were signalled."""
    relative = _slice_path(path) if path.endswith(".slice") else path.strip("/")
    if not relative:
        return 0  # never the whole machine
    pids: set[int] = set()
    for top in [CGROUP_ROOT / relative, *CGROUP_ROOT.glob(f"*/{relative}")]:
        for procs in top.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(line) for line in procs.read_text().split())
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def _slice_path(name: str) -> str:
    """Where systemd puts the slice ``name``: ``a-b.slice`` is ``a.slice/a-b.slice``."""
    parts = name.removesuffix(".slice").split("-")
    return "/".join("-".join(parts[:i + 1]) + ".slice" for i in range(len(parts)))
