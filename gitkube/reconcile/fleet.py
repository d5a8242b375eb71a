"""Node operations for one pass, in parallel: observe, ship images, converge.

The engine hands this module the inventory and the pods bound to each node; it
reaches every node through its transport (one connection per node per pass),
runs the agent, and returns the nodes' reports. A node that cannot be reached is
reported by name with a sentence, never raised: one dead node must not stop the
others from converging.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gitkube.agent import protocol
from gitkube.api.inventory import Inventory, InventoryNode
from gitkube.api.meta import KubeObject
from gitkube.errors import ConfigError, GitkubeError, NotLeader
from gitkube.nodes import client as node_client
from gitkube.nodes import images

T = TypeVar("T")

#: Seconds an observe may take: it only lists; a node slower than this is as good as gone
#: (a kept connection to a machine that died meanwhile would otherwise hold a pass for the
#: converge's five minutes).
OBSERVE_TIMEOUT = 30.0


@dataclass
class FleetResult:
    #: node name → NodeReport (as the agent sent it).
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: node name → why it could not be reached or failed.
    errors: dict[str, str] = field(default_factory=dict)


class Fleet:
    """The cluster's nodes: one connection and one agent session per node, reused by every
    request until ``close``. A CLI pass keeps them for the pass; ``gitkube serve`` keeps
    one fleet across passes and hands it each pass's inventory with ``use``."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._clients: dict[str, node_client.NodeClient] = {}
        self._lock = threading.Lock()
        self._term: int | None = None
        self._check: Callable[[], None] | None = None

    def lead(self, term: int | None, check: Callable[[], None] | None = None) -> None:
        """From now on every node request carries the leader's ``term`` (None: a lone control
        machine, unfenced), and ``check`` (``NotLeader`` once the leadership lapsed) runs
        before each: a deposed leader touches no node."""
        self._term, self._check = term, check

    def _as_leader(self) -> dict[str, Any]:
        if self._check is not None:
            self._check()
        return {} if self._term is None else {"term": self._term}

    def use(self, inventory: Inventory) -> None:
        """Serve ``inventory`` from now on; nodes gone or changed are disconnected."""
        with self._lock:
            stale = [
                name for name, client in self._clients.items()
                if inventory.cluster != self.inventory.cluster
                or client.node != next((n for n in inventory.nodes if n.name == name), None)
            ]
            dropped = [self._clients.pop(name) for name in stale]
            self.inventory = inventory
        for client in dropped:
            with contextlib.suppress(GitkubeError):
                client.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self._clients.values():
            with contextlib.suppress(GitkubeError):
                client.close()
        self._clients.clear()

    def client(self, node: InventoryNode) -> node_client.NodeClient:
        with self._lock:
            existing = self._clients.get(node.name)
        if existing is not None:
            return existing
        transport = node_client.connect(node)
        made = node_client.NodeClient(transport, node, self.inventory.cluster)
        with self._lock:
            self._clients[node.name] = made
        return made

    def observe(self, nodes: Iterable[InventoryNode] | None = None, *,
                extras: Mapping[str, Mapping[str, Any]] | None = None) -> FleetResult:
        """Each node's report; ``extras`` adds fields to a node's request (``network``)."""
        targets = list(nodes if nodes is not None else self.inventory.nodes)
        return self._each(targets, lambda n: _report(self.client(n).request(
            "observe", timeout=OBSERVE_TIMEOUT, **dict((extras or {}).get(n.name, {})),
            **self._as_leader())))

    def converge(
        self,
        pods_by_node: Mapping[str, list[protocol.PodRun]],
        observed: Mapping[str, Mapping[str, Any]],
        *,
        on_node_done: Callable[[str], None] | None = None,
        extras: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> FleetResult:
        """Make each node run exactly its pods. ``observed`` are this pass's reports: their
        facts (images present) decide what to ship first, and carry over into the answer.
        ``extras`` adds fields to a node's converge request (``removeVolumes``)."""
        targets = [n for n in self.inventory.nodes if n.name in pods_by_node]

        def one(node: InventoryNode) -> dict[str, Any]:
            client = self.client(node)
            runs = pods_by_node[node.name]
            facts = dict(observed.get(node.name, {}).get("facts", {}))
            if node.transport != "sim":  # a simulated node has its images (or says so)
                self._ship_missing_images(client, runs, facts)
            more = dict((extras or {}).get(node.name, {}))
            report = _report(client.request("converge", pods=runs, **more,
                                            **self._as_leader()))
            report.setdefault("facts", facts)
            if on_node_done is not None:
                on_node_done(node.name)
            return report

        return self._each(targets, one)

    def _ship_missing_images(
        self, client: node_client.NodeClient, runs: list[protocol.PodRun],
        facts: Mapping[str, Any],
    ) -> None:
        """Copy images the node lacks from this machine, so no registry is needed."""
        wanted = {
            c["image"] for run in runs
            for c in [*run.get("initContainers", []), *run.get("containers", [])]
            if c.get("imagePullPolicy") != "Always"
        }
        if not wanted:
            return
        if "images" not in facts:
            facts = _report(client.request("info")).get("facts", {})
        present = {protocol.normalize_image(i) for i in facts.get("images", [])}
        for ref in sorted(wanted):
            if protocol.normalize_image(ref) not in present and images.local_image_exists(ref):
                images.ship_image(client, ref)

    def _each(
        self, nodes: list[InventoryNode], work: Callable[[InventoryNode], dict[str, Any]]
    ) -> FleetResult:
        result = FleetResult()
        if not nodes:
            return result
        workers = min(self.inventory.settings.parallelism, len(nodes))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="node") as pool:
            futures = {n.name: pool.submit(_guarded, work, n) for n in nodes}
        for name, future in futures.items():
            report, error = future.result()
            if error is not None:
                result.errors[name] = error
            else:
                result.reports[name] = report
        return result


def _guarded(
    work: Callable[[InventoryNode], dict[str, Any]], node: InventoryNode
) -> tuple[dict[str, Any], str | None]:
    try:
        return work(node), None
    except NotLeader:
        raise  # not this node's fault: the whole pass stops
    except GitkubeError as exc:
        message = str(exc)
        if node.name not in message:
            message = f"node {node.name}: {message}"
        return {}, message


def _report(answer: dict[str, Any]) -> dict[str, Any]:
    report = answer.get("report", {})
    return report if isinstance(report, dict) else {}


def container_logs(inventory: Inventory, pod: KubeObject, container: str, *, tail: int) -> str:
    """A container's output, from the node the pod is bound to (the agent's ``logs`` op);
    ``tail`` ≥ 0 keeps only that many last lines."""
    node_name = getattr(getattr(pod, "spec", None), "node_name", None)
    node = next((n for n in inventory.nodes if n.name == node_name), None)
    if node is None:
        raise ConfigError(f"Pod {pod.namespace}/{pod.name} is not on a node of the "
                          "inventory (not scheduled yet, or its node left); it has no logs.")
    with Fleet(inventory) as fleet:
        answer = fleet.client(node).request("logs", pod_uid=pod.metadata.uid or "",
                                            container=container, tail=tail)
    return str(answer.get("logs", ""))

