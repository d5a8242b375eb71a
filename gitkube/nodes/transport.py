"""How the control plane reaches a node: three methods, like pyinfra's connectors.

``LocalTransport`` runs commands on this machine; ``SSHTransport`` (``ssh.py``)
runs them on a node through paramiko. Both return the same ``Result`` and raise
``NodeUnreachable`` (try later) or ``HostKeyRejected`` (fix known_hosts).
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


class Transport(Protocol):
    #: The node's name, for error messages.
    node: str

    def run(self, argv: Sequence[str], *, stdin: bytes = b"", timeout: float = 60.0) -> Result:
        """Run ``argv`` on the node (no shell), feeding ``stdin``; bounded by ``timeout``."""
        ...

    def put(self, source: bytes | Path, remote_path: str, *, mode: int = 0o644) -> None:
        """Write ``source`` (bytes, or a local file streamed) to ``remote_path`` on the node."""
        ...

    def close(self) -> None: ...
