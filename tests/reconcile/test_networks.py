"""A pass carries each node's share of the cluster network to it, and says what a node could
not program: which nodes get a ``network``, that the converge request holds it, the errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitkube.api.inventory import Inventory, InventoryNode, RuntimeSettings
from gitkube.reconcile import events, passes
from gitkube.reconcile import fleet as fleet_mod
from tests.controllers import factories as f

A = f.node("node-a", address="198.18.0.2", pod_cidr="10.244.0.0/24")
B = f.node("node-b", address="198.18.0.3", pod_cidr="10.244.1.0/24")
SIM = f.node("sim-1", pod_cidr="10.244.2.0/24")


def test_real_nodes_get_their_network_simulated_ones_none() -> None:
    inventory = Inventory(cluster="test", nodes=[
        InventoryNode(name="node-a", address="198.18.0.2"),
        InventoryNode(name="node-b", address="198.18.0.3"),
        InventoryNode(name="sim-1", transport="sim")])
    snapshot = f.snapshot(A, B, SIM, f.service(clusterIP="10.96.0.40"))
    networks = passes.networks_of(snapshot, inventory, ["node-a", "sim-1"])
    assert list(networks) == ["node-a"]
    assert networks["node-a"]["routes"] == [
        {"node": "node-b", "podCIDR": "10.244.1.0/24", "via": "198.18.0.3"}]
    assert [s["name"] for s in networks["node-a"]["services"]] == ["web"]


def test_the_converge_request_carries_the_network(tmp_path: Path) -> None:
    node = InventoryNode(name="here", transport="local", state_dir=str(tmp_path),
                         runtime=RuntimeSettings(kind="sim"))
    snapshot = f.snapshot(f.node("here", pod_cidr="10.244.0.0/24"))
    [network] = passes.networks_of(snapshot, Inventory(nodes=[
        InventoryNode(name="here", address="198.18.0.9")]), ["here"]).values()
    with fleet_mod.Fleet(Inventory(cluster="nets", nodes=[node])) as fleet:
        done = fleet.converge({"here": []}, {}, extras={"here": {"network": network}})
    assert done.errors == {}
    # The simulated node takes the network as it is and says what it programmed.
    assert done.reports["here"]["network"]["podCIDR"] == "10.244.0.0/24"
    assert done.reports["here"]["network"]["hash"]


def test_what_a_node_could_not_program_is_an_error_and_an_event() -> None:
    unroutable = ("node-a cannot reach node-c's address 10.1.0.3 directly: host-gw needs the "
                  "nodes on one network")
    reports: dict[str, Any] = {"node-a": {"network": {"errors": [unroutable]}}, "node-b": {}}
    assert passes.network_errors(reports) == [unroutable]
    [event] = events.from_report("node-a", reports["node-a"])
    assert (event["type"], event["reason"], event["message"]) == (
        "Warning", "NetworkNotReady", unroutable)
    assert event["involvedObject"]["kind"] == "Node"


class RecordingFleet:
    """The nodes as far as pushing a network goes: what each was sent."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.sent: dict[str, Any] = {}

    def observe(self, nodes: Any, *, extras: Any = None) -> fleet_mod.FleetResult:
        self.sent.update({n.name: extras[n.name] for n in nodes})
        return fleet_mod.FleetResult()


def test_a_network_the_status_changed_reaches_its_nodes_in_the_same_pass() -> None:
    inventory = Inventory(cluster="test", nodes=[
        InventoryNode(name="node-a", address="198.18.0.2"),
        InventoryNode(name="node-b", address="198.18.0.3")])
    snapshot = f.snapshot(A, B, f.service(clusterIP="10.96.0.40"))
    now = passes.networks_of(snapshot, inventory, ["node-a", "node-b"])
    # What the converges carried, before the status written after them changed a Service.
    converged = {"node-a": {**now["node-a"], "services": []}, "node-b": now["node-b"]}
    fleet = RecordingFleet(inventory)

    passes._push_networks(fleet, snapshot, converged)  # type: ignore[arg-type]

    assert fleet.sent == {"node-a": {"network": now["node-a"]}}
