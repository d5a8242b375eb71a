"""The simulated runtime: pods that exist only as data, for scale tests.

SimRuntime speaks the same Runtime interface as podman, so the handler, the
converge planner and the protocol are exercised unchanged; its containers start
instantly and run forever. State lives in ``<state_dir>/sim.json`` (one node per
agent process, as over SSH) or in memory (``SimRuntime.in_memory()``, for an
in-process transport simulating thousands of nodes).
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any

from . import protocol, reports, runtime


class SimRuntime(runtime.Runtime):
    kind = "sim"
    parallel = False  # instant operations: threads would only cost

    def __init__(
        self,
        config: protocol.RuntimeConfig,
        state_dir: Path | None,
        *,
        node: str = "sim-node",
        memory: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.node = node
        self._file = state_dir / "sim.json" if state_dir is not None else None
        self._memory = memory
        self._lock = threading.Lock()
        images = config.get("images")
        self._initial_images = list(images) if images is not None else None

    @classmethod
    def in_memory(
        cls, config: protocol.RuntimeConfig | None = None, *, node: str = "sim-node"
    ) -> SimRuntime:
        made = cls(config or {"kind": "sim"}, None, node=node, memory={})
        made.state_memory = {}
        return made

    # -- state ----------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        if self._memory is not None:
            data = self._memory
        elif self._file is not None and self._file.exists():
            data = json.loads(self._file.read_text(encoding="utf-8"))
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

    # -- the Runtime interface --------------------------------------------------------------

    def facts(self) -> protocol.NodeFacts:
        with self._lock:
            images = self._load()["images"]
        return protocol.NodeFacts(
            hostname=self.node,
            cpus=int(self.config.get("cpus", 4)),
            memoryBytes=int(self.config.get("memoryBytes", 8 * 2**30)),
            runtime=self.kind,
            runtimeVersion=str(protocol.PROTOCOL_VERSION),
            kernel="sim",
            os="sim",
            images=sorted(images or []),
            time=_now(),
        )

    def list_pods(self, cluster: str, *, details: bool = True) -> list[protocol.PodReport]:
        with self._lock:
            data = self._load()
        result = []
        for stored in data["pods"].values():
            if stored["cluster"] != cluster:
                continue
            pod: protocol.PodReport = copy.deepcopy(stored["report"])
            pod["phase"] = reports.pod_phase(pod["containers"], pod.get("restartPolicy", "Always"))
            result.append(pod)
        return sorted(result, key=lambda p: (p["namespace"], p["name"], p["uid"]))

    def create_pod(
        self,
        cluster: str,
        pod: protocol.PodRun,
        *,
        existing: protocol.PodReport | None = None,
    ) -> None:
        uid = pod.get("uid", "")
        name = runtime.pod_name(cluster, pod.get("namespace", "default"), pod.get("name", ""))
        with self._lock:
            data = self._load()
            for other_uid, other in data["pods"].items():
                if other["podName"] == name and (other_uid != uid or other["cluster"] != cluster):
                    raise runtime.RuntimeFailure(
                        f"A pod named {name} already exists on {self.node}; gitkube leaves it "
                        "alone: remove it first.",
                        permanent=other["cluster"] != cluster,
                    )
            stored = data["pods"].get(uid)
            if stored is None:
                data["seq"] += 1
                seq = data["seq"]
                stored = data["pods"][uid] = {
                    "cluster": cluster,
                    "podName": name,
                    "report": protocol.PodReport(
                        uid=uid,
                        name=pod.get("name", ""),
                        namespace=pod.get("namespace", "default"),
                        hash=pod.get("hash", ""),
                        restartPolicy=pod.get("restartPolicy", "Always"),
                        terminationGracePeriodSeconds=pod.get("terminationGracePeriodSeconds", 30),
                        sandboxID=f"sim-{seq}",
                        podIP=f"10.88.{seq // 250 % 256}.{seq % 250 + 2}",
                        containers=[],
                    ),
                }
            report = stored["report"]
            present = {c["name"] for c in report["containers"]}
            for spec in pod.get("containers", []):
                if spec.get("name") in present:
                    continue
                data["seq"] += 1
                report["containers"].append(
                    protocol.ContainerReport(
                        name=spec.get("name", ""),
                        containerID=f"sim://{data['seq']}",
                        image=spec.get("image", ""),
                        imageID=spec.get("image", ""),
                        state="running",
                        ready=True,
                        restartCount=0,
                        startedAt=_now(),
                    )
                )
            self._save(data)

    def remove_pod(self, cluster: str, uid: str, grace_seconds: int) -> None:
        with self._lock:
            data = self._load()
            stored = data["pods"].get(uid)
            if stored is not None and stored["cluster"] == cluster:
                del data["pods"][uid]
                self._save(data)

    def has_image(self, ref: str) -> bool:
        with self._lock:
            images = self._load()["images"]
        return images is None or ref in images

    def pull_image(self, ref: str) -> None:
        with self._lock:
            data = self._load()
            data["pull_attempts"] += 1
            self._save(data)
            if data["images"] is not None:
                raise runtime.RuntimeFailure(
                    f"the simulated node {self.node} reaches no registry; ship {ref} to it"
                )

    def load_image(self, path: str) -> list[str]:
        refs = _archive_refs(Path(path))
        with self._lock:
            data = self._load()
            if data["images"] is not None:
                data["images"] = sorted(set(data["images"]) | set(refs))
                self._save(data)
        return refs

    def logs(self, cluster: str, uid: str, container: str, tail: int) -> str:
        for pod in self.list_pods(cluster):
            if pod["uid"] == uid and any(c["name"] == container for c in pod["containers"]):
                return ""
        raise runtime.RuntimeFailure(
            f"Pod {uid} has no container {container} on {self.node} in cluster {cluster}.",
            permanent=True,
        )

    @property
    def pull_attempts(self) -> int:
        with self._lock:
            return int(self._load()["pull_attempts"])


def _archive_refs(path: Path) -> list[str]:
    """Image refs in a ``podman save`` archive (manifest.json RepoTags), else one ref a line."""
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            member = archive.extractfile("manifest.json")
            manifest = json.loads(member.read()) if member else []
        return [tag for entry in manifest for tag in entry.get("RepoTags") or []]
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _now() -> str:
    return reports.rfc3339(datetime.datetime.now(datetime.timezone.utc).timestamp())  # noqa: UP017
