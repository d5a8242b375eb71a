"""How the control plane reaches a node: a few methods, like pyinfra's connectors.

``LocalTransport`` runs commands on this machine; ``SSHTransport`` (``ssh.py``)
runs them on a node through paramiko. Both return the same ``Result`` and raise
``NodeUnreachable`` (try later) or ``HostKeyRejected`` (fix known_hosts).

``open_session`` starts one long-lived command spoken to a line at a time (the
agent's ``session`` mode): a pass, or ``gitkube serve`` across passes, then pays
for starting the agent once instead of once per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Session(Protocol):
    """One running command answering one line per line it is sent."""

    def exchange(self, line: bytes, *, timeout: float) -> bytes:
        """Send ``line`` (ending in a newline) and return the one line answered.

        ``SessionLost`` when the command is gone (ended, connection dropped) before it
        answered; ``NodeUnreachable`` when no answer came within ``timeout`` (the command
        is stopped then: the session cannot be trusted to be in step any more).
        """
        ...

    def close(self) -> None:
        """End the command (its stdin closes) and release what it held."""
        ...


class Transport(Protocol):
    #: The node's name, for error messages.
    node: str

    def run(self, argv: Sequence[str], *, stdin: bytes = b"", timeout: float = 60.0) -> Result:
        """Run ``argv`` on the node (no shell), feeding ``stdin``; bounded by ``timeout``."""
        ...

    def put(self, source: bytes | Path, remote_path: str, *, mode: int = 0o644) -> None:
        """Write ``source`` (bytes, or a local file streamed) to ``remote_path`` on the node."""
        ...

    def open_session(self, argv: Sequence[str]) -> Session:
        """Start ``argv`` for a ``Session``; ``NodeUnreachable`` if it cannot start."""
        ...

    def close(self) -> None: ...
