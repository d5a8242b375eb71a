"""Finding this test run's own child processes by what they run (from /proc)."""

from __future__ import annotations

import os


def agent_sessions(parent: int | None = None) -> list[int]:
    """Pids of ``parent``'s (default: this process's) children running the node agent in
    session mode (``python -m gitkube.agent session``)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                argv = cmdline.read().split(b"\0")
            with open(f"/proc/{entry.name}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"gitkube.agent" in argv and b"session" in argv:
            found.append(int(entry.name))
    return found
