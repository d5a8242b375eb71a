"""The machine a runtime runs on, as ``NodeFacts`` reports it: its memory and OS name.

Shared by the runtimes that run containers on this host (podman, containerd); pure reads
of ``/proc/meminfo`` and ``/etc/os-release``.
"""

from __future__ import annotations

import platform
from pathlib import Path


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
