"""The simulated runtime: pods that exist only as data, for scale tests and what-if clusters.

SimRuntime implements the whole runtime interface, so the handler, converge, the
supervisor's healing, hooks and probes run unchanged on it. It names and labels pods and
containers as every runtime does (``identity``), creates exactly what
``containers_to_create`` allows (init containers one at a time, in order, then the app
containers; sidecars kept running) and reports them through ``reports.pods_from``, as
podman does. A container starts at once and plays its command on the runtime's clock
(``sim_programs``: ``sh -c "echo hi; sleep 2; exit 1"`` logs, runs and exits as it would
under podman; anything it cannot read runs until stopped). Nothing restarts by itself: as
on a real node, the supervisor does; a simulated node has no resident supervisor process
(``runs_on_host`` is false), so every converge takes one of the supervisor's looks first
instead, on this runtime's clock (every pass of the control plane converges every node).

No network and no processes: a network probe passes while its container runs, an exec
(probe, hook) is read as a program and answered at once, a ``sleep`` hook takes no time.
State lives in ``<state_dir>/sim.json`` (one node per agent process, as over SSH) or in
memory (``SimRuntime.in_memory()``, for an in-process transport simulating thousands of
nodes).
"""

from __future__ import annotations

import contextlib
import json
import os
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import identity, initsteps, protocol, reports
from . import base, sim_programs

#: A container that is stopped exits with SIGKILL's status (its PID 1 ignores SIGTERM).
_KILLED = 137


class SimRuntime(base.Runtime):
    kind = "sim"
    parallel = False  # instant operations: threads would only cost
    runs_on_host = False

    def __init__(
        self,
        config: protocol.RuntimeConfig,
        state_dir: Path | None,
        *,
        node: str = "sim-node",
        memory: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.config = config
        self.node = node
        self.clock = clock
        self._file = state_dir / "sim.json" if state_dir is not None else None
        self._memory = memory
        self._lock = threading.Lock()
        images = config.get("images")
        self._initial_images = list(images) if images is not None else None

    @classmethod
    def in_memory(cls, config: protocol.RuntimeConfig | None = None, *, node: str = "sim-node",
                  clock: Callable[[], float] = time.time) -> SimRuntime:
        made = cls(config or {"kind": "sim"}, None, node=node, memory={}, clock=clock)
        made.state_memory = {}
        return made

    # -- state ----------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        if self._memory is not None:
            data = self._memory
        elif self._file is not None and self._file.exists():
            data = json.loads(self._file.read_text(encoding="utf-8"))
            # A pod an older agent recorded (no labels) is forgotten: converge recreates it.
            data["pods"] = {uid: p for uid, p in data.get("pods", {}).items() if "labels" in p}
        else:
            data = {}
        data.setdefault("pods", {})
        data.setdefault("images", self._initial_images)
        data.setdefault("pull_attempts", 0)
        data.setdefault("seq", 0)
        return data

    def _save(self, data: dict[str, Any]) -> None:
        if self._memory is not None or self._file is None:
            return
        self._file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sim.", dir=self._file.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, self._file)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        """The node's state, saved when the block ends without an exception."""
        with self._lock:
            data = self._load()
            yield data
            self._save(data)

    def _read(self) -> dict[str, Any]:
        with self._lock:
            return self._load()

    def _find(self, data: dict[str, Any], container_id: str) -> dict[str, Any]:
        for stored in data["pods"].values():
            for record in stored["containers"].values():
                if record["id"] == container_id:
                    found: dict[str, Any] = record
                    return found
        raise base.RuntimeFailure(f"no such container {container_id} on {self.node}")

    def now(self) -> float:
        return self.clock()

    def pause(self, seconds: float) -> None:
        """A ``sleep`` hook takes no time here: the simulated node's time is its clock's."""

    # -- observing ----------------------------------------------------------------------------

    def facts(self) -> protocol.NodeFacts:
        return protocol.NodeFacts(
            hostname=self.node,
            cpus=int(self.config.get("cpus", 4)),
            memoryBytes=int(self.config.get("memoryBytes", 8 * 2**30)),
            runtime=self.kind,
            runtimeVersion=str(protocol.PROTOCOL_VERSION),
            kernel="sim",
            os="sim",
            images=sorted(self._read()["images"] or []),
            time=reports.rfc3339(self.now()),
        )

    def list_pods(self, cluster: str, *, details: bool = True) -> list[protocol.PodReport]:
        data, now = self._read(), self.now()
        seen: list[reports.Seen] = []
        for stored in data["pods"].values():
            if stored["cluster"] != cluster:
                continue
            seen.append(reports.Seen(id=stored["sandboxID"], labels=stored["labels"],
                                     state="running", sandbox=True, name=stored["podName"]))
            seen += [_seen(record, now) for record in stored["containers"].values()]
        pods = reports.pods_from(seen)
        for pod in pods:
            pod["podIP"] = data["pods"][pod["uid"]]["podIP"]
        return pods

    def logs(self, cluster: str, uid: str, container: str, tail: int) -> str:
        stored = self._read()["pods"].get(uid)
        record = stored["containers"].get(container) if stored else None
        if stored is None or record is None or stored["cluster"] != cluster:
            raise base.RuntimeFailure(
                f"Pod {uid} has no container {container} on {self.node} in cluster {cluster}.",
                permanent=True,
            )
        now = self.now()
        lines = [line for at, line in record["log"] if at <= now]
        lines = lines[max(0, len(lines) - tail):] if tail >= 0 else lines
        return "".join(line + "\n" for line in lines)

    # -- changing -----------------------------------------------------------------------------

    def create_pod(self, cluster: str, pod: protocol.PodRun, *,
                   existing: protocol.PodReport | None = None) -> None:
        uid = pod.get("uid", "")
        name = identity.pod_name(cluster, pod.get("namespace", "default"), pod.get("name", ""))
        started: list[tuple[str, protocol.ContainerRun]] = []
        with self._changing() as data:
            for other_uid, other in data["pods"].items():
                if other["podName"] == name and (other_uid != uid or other["cluster"] != cluster):
                    raise base.RuntimeFailure(
                        f"A pod named {name} already exists on {self.node}; gitkube leaves it "
                        "alone: remove it first.",
                        permanent=other["cluster"] != cluster,
                    )
            stored = data["pods"].get(uid)
            if stored is None:
                stored = data["pods"][uid] = _sandbox(data, cluster, pod, name)
            for spec, labels in self.containers_to_create(cluster, pod, existing):
                if spec.get("name", "") in stored["containers"]:
                    continue
                record = self._container(data, cluster, pod, spec, labels)
                stored["containers"][spec.get("name", "")] = record
                started.append((record["id"], spec))
        # Hooks read and change the node's state themselves: after it is saved.
        for container_id, spec in started:
            self.post_start(container_id, spec, identity.of(pod), identity.grace(pod))

    def _container(self, data: dict[str, Any], cluster: str, pod: protocol.PodRun,
                   spec: protocol.ContainerRun, labels: identity.Labels) -> dict[str, Any]:
        data["seq"] += 1
        init = identity.LABEL_INIT in labels and not initsteps.is_sidecar(spec)
        record = {
            "id": f"sim://{data['seq']}",
            "name": identity.container_name(cluster, pod.get("namespace", "default"),
                                            pod.get("name", ""), spec.get("name", "")),
            "labels": labels,
            "image": spec.get("image", ""),
            "program": sim_programs.program(spec.get("command", []), spec.get("args", []),
                                            completes=init),
            "log": [],
        }
        _start(record, self.now())
        return record

    def remove_pod(self, cluster: str, uid: str, grace_seconds: int) -> None:
        data, now = self._read(), self.now()
        stored = data["pods"].get(uid)
        if stored is None or stored["cluster"] != cluster:
            return
        running = [(record["id"], record["labels"]) for record in stored["containers"].values()
                   if _state(record, now)[0] == "running"]
        self.run_pre_stops(running, grace_seconds)
        with self._changing() as data:
            data["pods"].pop(uid, None)

    def forget_pod(self, cluster: str, uid: str) -> None:
        """A simulated pod leaves nothing behind."""

    def pod_network(self, cluster: str, subnet: str, gateway: str) -> list[str]:
        """A simulated node has no network of its own to make."""
        return []

    # -- one container ------------------------------------------------------------------------

    def start_container(self, container_id: str) -> None:
        with self._changing() as data:
            record = self._find(data, container_id)
            if _state(record, self.now())[0] != "running":
                _start(record, self.now())

    def stop_container(self, container_id: str, grace_seconds: int) -> None:
        with self._changing() as data:
            record = self._find(data, container_id)
            now = self.now()
            if _state(record, now)[0] == "running":
                record["stopped"] = {"at": now, "code": _KILLED}
                record["log"] = [entry for entry in record["log"] if entry[0] <= now]

    def exec_in(self, container_id: str, command: list[str], timeout: float) -> base.Result:
        try:
            record = self._find(self._read(), container_id)
        except base.RuntimeFailure as exc:
            return False, str(exc)
        if _state(record, self.now())[0] != "running":
            return False, f"container {container_id} is not running"
        return sim_programs.run_now(command, timeout)

    def network_probe(self, container_id: str, probe: protocol.ProbeRun, pod_ip: str,
                      pid: int | None = None) -> base.Result:
        """No network here: the container answers while it runs (a real server would)."""
        try:
            record = self._find(self._read(), container_id)
        except base.RuntimeFailure as exc:
            return False, str(exc)
        if _state(record, self.now())[0] != "running":
            return False, "connection refused: the container does not run"
        return True, "HTTP 200 (simulated)" if probe.get("handler") == "httpGet" else "simulated"

    def container_pids(self, container_ids: list[str]) -> dict[str, int]:
        return {}

    def was_oom_killed(self, container_id: str) -> bool:
        return False

    # -- images -------------------------------------------------------------------------------

    def has_image(self, ref: str) -> bool:
        images = self._read()["images"]
        return images is None or ref in images

    def pull_image(self, ref: str) -> None:
        with self._changing() as data:
            data["pull_attempts"] += 1
            images = data["images"]
        if images is not None:
            raise base.RuntimeFailure(
                f"the simulated node {self.node} reaches no registry; ship {ref} to it"
            )

    def load_image(self, path: str) -> list[str]:
        refs = _archive_refs(Path(path))
        with self._changing() as data:
            if data["images"] is not None:
                data["images"] = sorted(set(data["images"]) | set(refs))
        return refs

    @property
    def pull_attempts(self) -> int:
        return int(self._read()["pull_attempts"])


def _sandbox(data: dict[str, Any], cluster: str, pod: protocol.PodRun,
             name: str) -> dict[str, Any]:
    data["seq"] += 1
    seq = data["seq"]
    return {"cluster": cluster, "podName": name, "labels": identity.pod_labels(cluster, pod),
            "sandboxID": f"sim-{seq}", "podIP": f"10.88.{seq // 250 % 256}.{seq % 250 + 2}",
            "containers": {}}


def _start(record: dict[str, Any], now: float) -> None:
    """A run of the container begins: its log lines come at their times."""
    record["started"] = now
    record["stopped"] = None
    lines, _, _ = sim_programs.timeline(record["program"])
    record["log"] += [[now + offset, line] for offset, line in lines]


def _state(record: dict[str, Any], now: float) -> tuple[str, int, float]:
    """(state, exit code, finished at) of the container's current run at ``now``."""
    stopped = record.get("stopped")
    if stopped:
        return "exited", int(stopped["code"]), float(stopped["at"])
    _, took, code = sim_programs.timeline(record["program"])
    if took is None or now < record["started"] + took:
        return "running", 0, 0.0
    return "exited", code, record["started"] + took


def _seen(record: dict[str, Any], now: float) -> reports.Seen:
    state, code, finished = _state(record, now)
    return reports.Seen(id=record["id"], labels=record["labels"], state=state,
                        image=record["image"], image_id=record["image"], exit_code=code,
                        started=int(record["started"]), finished=int(finished),
                        name=record["name"])


def _archive_refs(path: Path) -> list[str]:
    """Image refs in a ``podman save`` archive (manifest.json RepoTags), else one ref a line."""
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            member = archive.extractfile("manifest.json")
            manifest = json.loads(member.read()) if member else []
        return [tag for entry in manifest for tag in entry.get("RepoTags") or []]
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]
