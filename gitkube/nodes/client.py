"""Speaking to the agent on a node: ship it once, then one JSON request per call.

Requests go over one long-lived agent per node (its ``session`` mode: a JSON line
in, a JSON line out), started on the first request and kept until ``close``; a
session that died meanwhile (node rebooted, connection dropped) is started again
once before the request fails.

The agent is gitkube's own standard-library package (``gitkube/agent/``). Over
SSH it is copied with SFTP into ``~/.gitkube/agent/<content hash>/gitkube_agent/``
the first time a node lacks that version, and started with the node's python;
a node keeps every version it was given, so two control machines at different
versions do not fight. On this machine (``transport: local``) the installed
package runs directly. ``request`` adds what every request carries (cluster,
node, runtime, state_dir) and turns the answer into a dict, or an
``AgentError`` whose sentence names the node.
"""

from __future__ import annotations

import functools
import hashlib
import json
import posixpath
import secrets
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitkube import errors
from gitkube.agent import protocol
from gitkube.api import inventory
from gitkube.nodes import inprocess, local, ssh, transport

_Session = transport.Session

#: The name the agent package has on nodes (it is ``gitkube.agent`` here).
AGENT_PACKAGE = "gitkube_agent"
#: Where agents are kept on a node, relative to the login user's home.
AGENT_HOME = ".gitkube/agent"
#: How long one agent request may take (a converge may create many containers).
DEFAULT_TIMEOUT = 300.0
#: Seconds for the one cheap command that finds the home and whether the agent is there.
PROBE_TIMEOUT = 30.0


@dataclass(frozen=True)
class AgentBundle:
    """The agent's files (path relative to the package → content) and their digest."""

    digest: str
    files: tuple[tuple[str, bytes], ...]


@functools.cache
def agent_bundle() -> AgentBundle:
    """The agent as it is in this checkout; read once per process."""
    source = Path(protocol.__file__).resolve().parent
    files = tuple(
        (path.relative_to(source).as_posix(), path.read_bytes())
        for path in sorted(source.rglob("*.py"))
        if "__pycache__" not in path.parts
    )
    digest = hashlib.sha256()
    for name, content in files:
        digest.update(name.encode() + b"\0" + content + b"\0")
    return AgentBundle(digest.hexdigest()[:20], files)


def connect(node: inventory.InventoryNode) -> transport.Transport:
    """The transport the inventory asks for; SSH connects lazily, on the first command."""
    if node.transport == "local":
        return local.LocalTransport(node.name)
    if node.transport == "sim":
        return inprocess.InProcessTransport(node.name)
    return ssh.SSHTransport(node)


class NodeClient:
    """One node's agent, for one pass: ``request(op, **payload) -> answer``."""

    def __init__(
        self,
        transport: transport.Transport,
        node: inventory.InventoryNode,
        cluster: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        agent_home: str = AGENT_HOME,
        sessions: bool = True,
    ) -> None:
        self.transport = transport
        self.node = node
        self.cluster = cluster
        self.timeout = timeout
        self.agent_home = agent_home
        #: How many times this client copied the agent to the node (0 or 1).
        self.shipments = 0
        self._lock = threading.Lock()
        self._home: str | None = None
        self._argv: list[str] | None = None
        #: Requests go over one long-lived agent (``python -m gitkube_agent session``).
        self.sessions = sessions
        self._session: _Session | None = None
        self._session_lock = threading.Lock()

    def request(
        self, op: str, /, *, timeout: float | None = None, **payload: Any
    ) -> dict[str, Any]:
        """Send ``op`` with ``payload`` to the agent and return its answer (``ok`` is true).

        An answer with ``ok: false``, or one that is not the protocol, raises
        ``AgentError`` naming the node; ``timeout`` (seconds) bounds this one request.
        """
        argv = self._agent_argv()
        message: dict[str, Any] = {
            "protocol": protocol.PROTOCOL_VERSION,
            "op": op,
            "cluster": self.cluster,
            "node": self.node.name,
            "runtime": self.runtime_config(),
            "state_dir": self.state_dir(),
            **payload,
        }
        data = json.dumps(message).encode()
        limit = timeout or self.timeout
        if self.sessions and self._session_lock.acquire(blocking=False):
            try:
                return self._answer(op, self._over_session(argv, data, limit))
            finally:
                self._session_lock.release()
        # Sessions off, or another thread's request holds it: a process of its own.
        return self._answer(op, self.transport.run(argv, stdin=data, timeout=limit))

    def _over_session(self, argv: list[str], data: bytes, timeout: float) -> transport.Result:
        """One request over the kept session; a session that died since is started again,
        once (every op may be sent twice: converge is idempotent, the rest read)."""
        for attempt in (1, 2):
            reused = self._session is not None
            if self._session is None:
                self._session = self.transport.open_session([*argv, "session"])
            try:
                line = self._session.exchange(data + b"\n", timeout=timeout)
            except errors.SessionLost as lost:
                self._session = None
                if reused and attempt == 1:
                    continue
                if lost.exit_code is None:
                    raise
                # A fresh agent that ended at once: what it said is the story (wrong python,
                # a broken install), told as a one-shot run would tell it.
                return transport.Result(lost.exit_code, b"", lost.stderr)
            except errors.NodeUnreachable:
                self._session = None  # timed out: stopped by the session itself
                raise
            return transport.Result(0, line, b"")
        raise AssertionError("unreachable: the second attempt returns or raises")

    def state_dir(self) -> str:
        """The agent's state directory on the node, as an absolute path."""
        configured = self.node.state_dir
        if configured and configured.startswith("/"):
            return configured
        home = self.home()
        if configured:
            relative = configured[2:] if configured.startswith("~/") else configured
            return posixpath.join(home, relative)
        return posixpath.join(home, ".gitkube", self.cluster, self.node.name)

    def runtime_config(self) -> protocol.RuntimeConfig:
        settings = self.node.runtime.model_dump(exclude_none=True)
        config: dict[str, Any] = {_wire_name(key): value for key, value in settings.items()}
        config["state_dir"] = self.state_dir()
        return config  # type: ignore[return-value]  # keys follow RuntimeConfig by construction

    def home(self) -> str:
        """The login user's home on the node (asked once, with the agent check)."""
        self._agent_argv()
        assert self._home is not None
        return self._home

    def close(self) -> None:
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()
        self.transport.close()

    # -- shipping -------------------------------------------------------------------------

    def _agent_argv(self) -> list[str]:
        with self._lock:
            if self._argv is None:
                self._argv = self._prepare()
            return self._argv

    def _is_local(self) -> bool:
        """The agent runs on this machine (no SSH, no ssh.python)."""
        return isinstance(self.transport, local.LocalTransport | inprocess.InProcessTransport)

    def _prepare(self) -> list[str]:
        if self._is_local():
            self._home = str(Path.home())
            return [sys.executable, "-m", "gitkube.agent"]
        bundle = agent_bundle()
        relative = posixpath.join(self.agent_home, bundle.digest)
        # One command answers both questions: where home is, and whether this version is there.
        probe = self.transport.run(
            [
                "sh",
                "-c",
                'echo "$HOME"; test -d "$HOME/$1/$2" && echo shipped',
                "sh",
                relative,
                AGENT_PACKAGE,
            ],
            timeout=PROBE_TIMEOUT,
        )
        lines = probe.stdout.decode(errors="replace").splitlines()
        if not lines or not lines[0].startswith("/"):
            raise errors.AgentError(
                f"Node {self.node.name} did not say where its home directory is (exit code "
                f"{probe.exit_code}){_stderr_excerpt(probe.stderr)}. Check that the user can "
                "log in with a POSIX shell."
            )
        self._home = lines[0]
        directory = posixpath.join(self._home, relative)
        if "shipped" not in lines[1:]:
            self._ship(bundle, directory)
        return [
            "env",
            f"PYTHONPATH={directory}",
            self.node.ssh.python,
            "-m",
            AGENT_PACKAGE,
        ]

    def _ship(self, bundle: AgentBundle, directory: str) -> None:
        # Upload beside the final place and rename it in, so a node never runs half an agent
        # even when two passes ship at once or the connection drops midway.
        staging = f"{directory}.partial-{secrets.token_hex(4)}"
        for name, content in bundle.files:
            self.transport.put(content, posixpath.join(staging, AGENT_PACKAGE, name))
        moved = self.transport.run(
            [
                self.node.ssh.python,
                "-c",
                "import os, shutil, sys\n"
                "try:\n    os.rename(sys.argv[1], sys.argv[2])\n"
                "except OSError:\n"
                "    if not os.path.isdir(os.path.join(sys.argv[2], sys.argv[3])): raise\n"
                "    shutil.rmtree(sys.argv[1])\n",
                staging,
                directory,
                AGENT_PACKAGE,
            ],
            timeout=PROBE_TIMEOUT,
        )
        if not moved.ok:
            self.transport.run(["rm", "-rf", staging], timeout=PROBE_TIMEOUT)
            raise errors.AgentError(
                f"Node {self.node.name} could not install the agent in {directory} with "
                f"{self.node.ssh.python}{_stderr_excerpt(moved.stderr)}. Check that "
                "ssh.python in inventory.yaml names a Python 3 on the node."
            )
        self.shipments += 1

    # -- answers --------------------------------------------------------------------------

    def _answer(self, op: str, result: transport.Result) -> dict[str, Any]:
        try:
            answer = json.loads(result.stdout)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            local_node = self._is_local()
            if local_node and result.exit_code < 0:  # a local process killed by a signal
                ended = f"was killed by signal {-result.exit_code}"
                hint = "Something on this machine stopped it; the next pass starts it again."
            else:
                ended = f"ended with exit code {result.exit_code}"
                hint = (f"It runs with {sys.executable} on this machine." if local_node else
                        "Check that ssh.python in inventory.yaml names a Python 3 on the node.")
            raise errors.AgentError(
                f"Node {self.node.name}: the agent {ended} without answering `{op}` in its "
                f"protocol{_stderr_excerpt(result.stderr)}. {hint}"
            )
        if not answer["ok"]:
            error = str(answer.get("error") or "the agent failed without saying why")
            raise errors.AgentError(f"Node {self.node.name}: {error}")
        return answer


def _wire_name(field: str) -> str:
    """RuntimeConfig keys: snake_case, except the sim's camelCase ``memoryBytes``."""
    return "memoryBytes" if field == "memory_bytes" else field


def _stderr_excerpt(stderr: bytes, lines: int = 8) -> str:
    text = stderr.decode(errors="replace").strip()
    if not text:
        return "; it wrote nothing on stderr"
    kept = text.splitlines()[-lines:] if "Traceback" in text else text.splitlines()[:lines]
    return "; its stderr says:\n  " + "\n  ".join(kept)
