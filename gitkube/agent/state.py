"""The agent's directory on the node: what it was asked to run and what it is waiting for.

The layout (``desired.json``, ``waiting.json``, ``runtime.json``, ``health.json``,
``pods/<uid>/``, ``tmp/``) is what the node-resident supervisor reads and writes to
keep healing while the control plane is away, so it is written atomically and
readable without the control plane. ``desired.json`` holds environment values
(secrets), hence 0600.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import protocol

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class NameRefused(ValueError):
    """A cluster or node name that cannot safely name a directory."""


def check_name(what: str, value: object) -> str:
    """Cluster and node names become directory names: refuse anything that is not plain."""
    if not isinstance(value, str) or not _SAFE_NAME.fullmatch(value):
        raise NameRefused(
            f"The request's {what} {value!r} is not a plain name "
            "(letters, digits, '.', '_', '-'); fix the inventory or the request."
        )
    return value


def default_dir(cluster: str, node: str) -> Path:
    return Path.home() / ".gitkube" / cluster / node


class StateDir:
    """One node's agent state for one cluster; ``with state.lock():`` serialises changes.

    With ``memory`` (an in-process simulated node) the files live in that dict instead.
    """

    def __init__(self, path: Path, memory: dict[str, Any] | None = None) -> None:
        self.path = path
        self.memory = memory
        self._thread_lock = threading.Lock()

    @property
    def tmp(self) -> Path:
        return self.path / "tmp"

    def ensure(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)

    def read_desired(self) -> list[protocol.PodRun]:
        data = self._read("desired.json", {})
        pods: list[protocol.PodRun] = data.get("pods", []) if isinstance(data, dict) else []
        return pods

    def write_desired(self, cluster: str, node: str, pods: list[protocol.PodRun]) -> None:
        payload = {
            "protocol": protocol.PROTOCOL_VERSION,
            "cluster": cluster,
            "node": node,
            "pods": pods,
        }
        self._write("desired.json", payload)

    def read_waiting(self) -> dict[str, Any]:
        data = self._read("waiting.json", {})
        return data if isinstance(data, dict) else {}

    def write_waiting(self, waiting: dict[str, Any]) -> None:
        self._write("waiting.json", waiting)

    def read_health(self) -> dict[str, Any]:
        """The supervisor's records (``healing.Health``): pod uid → container → record."""
        data = self._read("health.json", {})
        return data if isinstance(data, dict) else {}

    def write_health(self, health: dict[str, Any]) -> None:
        self._write("health.json", health)

    def read_runtime(self) -> dict[str, Any]:
        data = self._read("runtime.json", {})
        return data if isinstance(data, dict) else {}

    def write_runtime(self, config: dict[str, Any]) -> None:
        """The runtime settings, for the supervisor; written only when they changed."""
        if self.read_runtime() != config:
            self._write("runtime.json", config)

    def _read(self, name: str, default: Any) -> Any:
        if self.memory is not None:
            return json.loads(self.memory[name]) if name in self.memory else default
        try:
            return json.loads((self.path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return default

    def _write(self, name: str, payload: Any) -> None:
        if self.memory is not None:
            self.memory[name] = json.dumps(payload)
            return
        self.ensure()
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=self.path)  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=1, sort_keys=True)
            os.replace(tmp, self.path / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the node's agent lock: two converges at once would fight over names."""
        if self.memory is not None:
            with self._thread_lock:
                yield
            return
        self.ensure()
        fd = os.open(self.path / "lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
