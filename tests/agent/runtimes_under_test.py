"""One node per runtime, driven the same way, for the runtime conformance suite.

A test asks the agent (``request``), waits for what happens on its own (``settle``: the
node's supervisor restarts, advances init containers, probes) and looks at what the node
itself shows (``shown``: each container's deterministic name and gitkube labels). On
podman that is the real agent in the session's throwaway storage, its resident supervisor
and ``podman ps``; on containerd the real agent on the session's own containerd, its
supervisor and ``ctr containers ls`` (a container's id is its deterministic name and a
digest of its pod's uid and hash, which ``shown`` leaves off); on sim the same handler on
a simulated node whose clock the test drives (a converge, as each pass sends, takes one of
the supervisor's looks), and the node's ``sim.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from gitkube.agent import daemons, handler, supervisor
from gitkube.agent.runtimes import sim
from tests.fixtures.containerd import Containerd

from .helpers import until
from .storage import Storage

Pods = dict[str, dict[str, Any]]
#: A simulated node's clock moves this much between two looks.
SIM_STEP = 0.5


class NodeUnderTest(Protocol):
    kind: str
    cluster: str
    image: str

    def request(self, op: str, **payload: Any) -> dict[str, Any]: ...

    def settle(self, check: Callable[[Pods], bool], what: str) -> Pods: ...

    def shown(self) -> dict[str, dict[str, str]]: ...

    def neighbour(self, cluster: str, state_dir: Path) -> NodeUnderTest:
        """Another cluster's agent on the same node (the same runtime underneath)."""
        ...

    def close(self) -> None: ...


def pods_of(answer: dict[str, Any]) -> Pods:
    return {p["name"]: p for p in answer["report"]["pods"]}


def gitkube_labels(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k.startswith("io.gitkube.")}


class PodmanNode:
    """The agent on the session's podman storage (its supervisor a real process)."""

    kind = "podman"

    def __init__(self, storage: Storage, cluster: str, state_dir: Path) -> None:
        self.storage = storage
        self.cluster = cluster
        self.image = storage.image
        self.state_dir = state_dir
        self.base = {"cluster": cluster, "node": "node-1", "runtime": storage.runtime(state_dir)}

    def request(self, op: str, **payload: Any) -> dict[str, Any]:
        answer = handler.handle({**self.base, "op": op, **payload})
        assert answer["ok"], answer
        return answer

    def settle(self, check: Callable[[Pods], bool], what: str) -> Pods:
        def settled() -> Pods | None:
            pods = pods_of(self.request("observe"))
            return pods if check(pods) else None

        found: Pods = until(settled, what)
        return found

    def shown(self) -> dict[str, dict[str, str]]:
        listed = json.loads(self.storage.podman(
            "ps", "-a", "--format", "json",
            "--filter", f"label=io.gitkube.cluster={self.cluster}").stdout or "[]")
        return {c["Names"][0]: gitkube_labels(c.get("Labels") or {}) for c in listed
                if not c.get("IsInfra")}

    def neighbour(self, cluster: str, state_dir: Path) -> PodmanNode:
        return PodmanNode(self.storage, cluster, state_dir)

    def close(self) -> None:
        handler.handle({**self.base, "op": "converge", "pods": []})
        daemons.stop(self.state_dir, supervisor.NAME)


class ContainerdNode(PodmanNode):
    """The agent on the session's containerd (its supervisor a real process)."""

    kind = "containerd"

    def __init__(self, daemon: Containerd, cluster: str, state_dir: Path) -> None:
        self.daemon = daemon
        self.cluster = cluster
        self.image = daemon.image
        self.state_dir = state_dir
        self.base = {"cluster": cluster, "node": "node-1", "runtime": daemon.runtime(state_dir)}

    def shown(self) -> dict[str, dict[str, str]]:
        listed = self.daemon.ctr("containers", "ls", "-q",
                                 f'labels."io.gitkube.cluster"=={self.cluster}').stdout.split()
        shown = {}
        for cid in listed:
            info = json.loads(self.daemon.ctr("containers", "info", cid).stdout)
            labels = info.get("Labels") or {}
            if "gitkube.containerd/sandbox" not in labels:
                shown[cid.rsplit("-", 1)[0]] = gitkube_labels(labels)
        return shown

    def neighbour(self, cluster: str, state_dir: Path) -> ContainerdNode:
        return ContainerdNode(self.daemon, cluster, state_dir)


class SimNode:
    """The agent on a simulated node whose clock the test drives."""

    kind = "sim"

    def __init__(self, cluster: str, state_dir: Path, image: str,
                 machine: tuple[sim.SimRuntime, list[float], Path] | None = None) -> None:
        self.cluster = cluster
        self.image = image
        if machine is None:
            clock = [1_800_000_000.0]
            runtime = sim.SimRuntime({"kind": "sim"}, state_dir, node="node-1",
                                     clock=lambda: clock[0])
            machine = (runtime, clock, state_dir)
        #: The simulated machine: its runtime, its clock, where it keeps its containers.
        self.machine = machine
        self.runtime, self.clock, _ = machine
        self.base = {"cluster": cluster, "node": "node-1", "runtime": {"kind": "sim"},
                     "state_dir": str(state_dir)}
        self.desired: list[dict[str, Any]] = []

    def request(self, op: str, **payload: Any) -> dict[str, Any]:
        answer = handler.handle({**self.base, "op": op, **payload}, runtime=self.runtime)
        assert answer["ok"], answer
        if op == "converge":
            self.desired = payload["pods"]
        return answer

    def settle(self, check: Callable[[Pods], bool], what: str) -> Pods:
        for _ in range(240):  # two simulated minutes
            # The control plane's pass: the same pods again (one of the supervisor's looks).
            pods = pods_of(self.request("converge", pods=self.desired))
            if check(pods):
                return pods
            self.clock[0] += SIM_STEP
        raise AssertionError(f"never happened: {what}")

    def shown(self) -> dict[str, dict[str, str]]:
        path = self.machine[2] / "sim.json"
        stored = json.loads(path.read_text()) if path.exists() else {"pods": {}}
        return {c["name"]: gitkube_labels(c["labels"]) for pod in stored["pods"].values()
                if pod["cluster"] == self.cluster for c in pod["containers"].values()}

    def neighbour(self, cluster: str, state_dir: Path) -> SimNode:
        return SimNode(cluster, state_dir, self.image, self.machine)

    def close(self) -> None:
        pass
