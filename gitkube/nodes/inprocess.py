"""The transport of a simulated node (``transport: sim``): the agent runs in this process.

A scale test or a what-if cluster of hundreds of nodes cannot start a process per
node per request, let alone an SSH session. ``InProcessTransport`` answers the
agent's one-request-per-run protocol by calling ``gitkube.agent.handler.handle``
directly: the same validation, converge planner and reports as a real node, with
the ``sim`` runtime behind them (containers that exist only as data and are Running
at once).

Where the simulated containers live: in the node's state directory
(``<stateDir>/sim.json``, by default ``~/.gitkube/<cluster>/<node>``), written by the
sim runtime after each change. A CLI process lives for one pass, so state kept in
memory would make every ``gitkube apply`` start from empty nodes and restart every
pod; on disk, pods started by one pass are still running in the next, and removing
the directory is wiping the simulated machine. Sharing no memory between calls also
keeps the transport safe to use from the fleet's worker threads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from gitkube import errors
from gitkube.agent import handler
from gitkube.nodes import transport


class InProcessTransport:
    """Serve the agent protocol of one simulated node in this process."""

    def __init__(self, node: str) -> None:
        self.node = node

    def run(
        self, argv: Sequence[str], *, stdin: bytes = b"", timeout: float = 60.0
    ) -> transport.Result:
        """``argv`` is ignored: the only program a simulated node runs is the agent."""
        try:
            request = json.loads(stdin or b"{}")
        except ValueError as exc:
            raise errors.AgentError(
                f"Node {self.node}: the request for the simulated agent is not JSON ({exc})."
            ) from exc
        answer = handler.handle(request)
        return transport.Result(0, json.dumps(answer).encode(), b"")

    def put(self, source: bytes | Path, remote_path: str, *, mode: int = 0o644) -> None:
        raise errors.AgentError(
            f"Node {self.node} is simulated and takes no files; images need not be shipped "
            "to it (a simulated node has every image unless its runtime lists some)."
        )

    def open_session(self, argv: Sequence[str]) -> InProcessSession:
        return InProcessSession(self)

    def close(self) -> None:
        pass


class InProcessSession:
    """The in-process agent needs no process kept alive: each line is one ``run``."""

    def __init__(self, owner: InProcessTransport) -> None:
        self._owner = owner

    def exchange(self, line: bytes, *, timeout: float) -> bytes:
        return self._owner.run([], stdin=line, timeout=timeout).stdout

    def close(self) -> None:
        pass
