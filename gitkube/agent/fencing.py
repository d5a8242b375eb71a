"""Leader terms on the node: a control machine that no longer leads cannot change anything.

With several control machines, the leader's requests carry its term (``term`` in the
request, see ``protocol``). The node keeps the highest term it has seen in its state
directory (``leader-term``, shared by every agent process of this cluster on the node: each
control machine runs its own), and refuses a request of a lower term: a leader that was
paused past its lease and wakes up cannot start or stop containers behind the new leader's
back. Requests without a term (a lone control machine) are not fenced. Standard library only.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

TERM_FILE = "leader-term"


class Fenced(Exception):
    """The request's term is lower than one this node has seen."""


def admit(state_dir: Path, term: object) -> None:
    """Let a request of ``term`` through (recording a new highest term), or ``Fenced``."""
    if term is None:
        return
    if not isinstance(term, int) or isinstance(term, bool) or term < 1:
        raise ValueError(f"A request's term is a positive whole number, not {term!r}.")
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(state_dir / TERM_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        seen = int(text) if text.isdigit() else 0
        if term < seen:
            raise Fenced(
                f"This node has seen leader term {seen}; the request of term {term} comes from "
                "a control machine that no longer leads, so nothing of it was done.")
        if term > seen:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{term}\n".encode(), 0)
            os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
