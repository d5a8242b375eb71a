"""The agent's directory on the node: what it was asked to run and what it is waiting for.

The layout (``desired.json``, ``waiting.json``, ``runtime.json``, ``health.json``,
``events.json``, ``volumes.json``, ``pods/<uid>/``, ``storage/``, ``tmp/``) is what the
node-resident supervisor reads and writes to keep healing while the control plane is
away, so it is written atomically and readable without the control plane.
``desired.json`` holds environment values (secrets), hence 0600.

``events.json`` is the node's event journal: what the supervisor did (probe failures,
kills, back-offs) waits there until the next converge drains it into its report. It is
bounded, and a repeat of an event still in the journal bumps that entry's ``count``
(as Kubernetes' event correlator does), so a crash loop never fills the disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import protocol

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

#: The journal keeps at most this many entries (distinct events): the newest survive.
JOURNAL_MAX = 500
JOURNAL_FILE = "events.json"

#: One journal entry: ``type``, ``reason``, ``message``, ``pod`` ("ns/name"), ``container``,
#: ``time`` (RFC 3339, last seen), ``count``, and ``firstTime`` once it was seen twice.
Event = dict[str, Any]


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

    def read_volumes(self) -> list[str]:
        """The claim directories the agent made and keeps (``volumes.py``)."""
        data = self._read("volumes.json", [])
        return [p for p in data if isinstance(p, str)] if isinstance(data, list) else []

    def write_volumes(self, paths: Iterable[str]) -> None:
        """Record the claim directories (hold ``lock()``); written only when they changed."""
        wanted = sorted(set(paths))
        if wanted != self.read_volumes():
            self._write("volumes.json", wanted)

    def read_runtime(self) -> dict[str, Any]:
        data = self._read("runtime.json", {})
        return data if isinstance(data, dict) else {}

    def write_runtime(self, config: dict[str, Any]) -> None:
        """The runtime settings, for the supervisor; written only when they changed."""
        if self.read_runtime() != config:
            self._write("runtime.json", config)

    def read_events(self) -> list[Event]:
        """The journal as it stands (``observe`` and tests; nothing is drained)."""
        data = self._read(JOURNAL_FILE, [])
        return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []

    def append_events(self, new: Iterable[Event], limit: int = JOURNAL_MAX) -> None:
        """Add ``new`` to the journal (hold ``lock()``): repeats collapse, the oldest go."""
        new = list(new)
        if new:
            self._write(JOURNAL_FILE, add_events(self.read_events(), new, limit))

    def drain_events(self) -> list[Event]:
        """Hand over the journal and empty it (hold ``lock()``): converge's report takes it."""
        found = self.read_events()
        if found:
            self._write(JOURNAL_FILE, [])
        return found

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


def add_events(journal: list[Event], new: Iterable[Event], limit: int = JOURNAL_MAX
               ) -> list[Event]:
    """The journal with ``new`` added, oldest first, at most ``limit`` entries.

    An event whose (pod, container, type, reason, message) is already in the journal
    is the same event seen again: the entry moves to the end with its count summed,
    ``time`` the latest sighting and ``firstTime`` the earliest.
    """
    merged: dict[tuple[str, ...], Event] = {_event_key(e): e for e in journal}
    for event in new:
        key = _event_key(event)
        seen = merged.pop(key, None)
        if seen is None:
            merged[key] = {**event, "count": int(event.get("count", 1))}
            continue
        first = seen.get("firstTime") or seen.get("time")
        merged[key] = {**seen, **event,
                       "count": int(seen.get("count", 1)) + int(event.get("count", 1)),
                       **({"firstTime": first} if first else {})}
    entries = list(merged.values())
    return entries[max(len(entries) - limit, 0):]


def _event_key(event: Event) -> tuple[str, ...]:
    return tuple(str(event.get(field, "")) for field in
                 ("pod", "container", "type", "reason", "message"))
