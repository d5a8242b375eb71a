"""Nodes: the machines of ``inventory.yaml`` as the scheduler and controllers see them.

A Node is not written by people as a manifest: ``node_from_inventory`` builds it from
the inventory entry (name, labels, taints, declared capacity), and the node
lifecycle fills ``status`` from the agent's reports (detected capacity, heartbeats as
the ``Ready`` condition, system facts). Cluster-scoped: its key is ``/registry/nodes/<name>``.
"""

from __future__ import annotations

import ipaddress
from typing import ClassVar, Literal

from pydantic import Field

from gitkube.api import errors, fields, validation
from gitkube.api.inventory import InventoryNode
from gitkube.api.meta import KubeModel, KubeObject, ObjectMeta

#: Label every node carries, as on Kubernetes.
HOSTNAME_LABEL = "kubernetes.io/hostname"
#: Annotation holding the inventory's ``address`` (how gitkube reaches the node).
ADDRESS_ANNOTATION = "gitkube.io/address"


class Taint(KubeModel):
    key: str
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
    time_added: str | None = None


class NodeSpec(KubeModel):
    taints: list[Taint] = Field(default_factory=list)
    unschedulable: bool = False
    #: The node's pod subnet, allocated once from settings.clusterCIDR (node-ipam's rule).
    pod_cidr: str | None = Field(default=None, alias="podCIDR")
    pod_cidrs: list[str] = Field(default_factory=list, alias="podCIDRs")


class NodeCondition(KubeModel):
    #: Ready (and, when an agent reports them, MemoryPressure, DiskPressure, PIDPressure).
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str | None = None
    message: str | None = None
    last_heartbeat_time: str | None = None
    last_transition_time: str | None = None


class NodeAddress(KubeModel):
    type: Literal["InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS"]
    address: str


class NodeSystemInfo(KubeModel):
    machine_id: str | None = Field(default=None, alias="machineID")
    boot_id: str | None = Field(default=None, alias="bootID")
    kernel_version: str | None = None
    os_image: str | None = None
    container_runtime_version: str | None = None
    operating_system: str | None = None
    architecture: str | None = None
    #: The gitkube agent's version on the node (Kubernetes has kubeletVersion here).
    agent_version: str | None = None
    #: Where the agent keeps the directories of local-path volumes (absolute, on the node).
    storage_root: str | None = None


class ContainerImage(KubeModel):
    """An image present on the node (the scheduler's ImageLocality score reads these)."""

    names: list[str] = Field(default_factory=list)
    #: Unknown (left out) when the runtime does not say.
    size_bytes: int | None = None


class NodeStatus(KubeModel):
    capacity: dict[str, fields.Quantity] = Field(default_factory=dict)
    allocatable: dict[str, fields.Quantity] = Field(default_factory=dict)
    conditions: list[NodeCondition] = Field(default_factory=list)
    node_info: NodeSystemInfo = Field(default_factory=NodeSystemInfo)
    addresses: list[NodeAddress] = Field(default_factory=list)
    images: list[ContainerImage] = Field(default_factory=list)

    def condition(self, type_: str) -> NodeCondition | None:
        return next((c for c in self.conditions if c.type == type_), None)


class Node(KubeObject):
    plural: ClassVar[str] = "nodes"
    namespaced: ClassVar[bool] = False

    api_version: Literal["v1"] = "v1"
    kind: Literal["Node"] = "Node"
    spec: NodeSpec = Field(default_factory=NodeSpec)
    status: NodeStatus = Field(default_factory=NodeStatus)

    @property
    def ready(self) -> bool:
        condition = self.status.condition("Ready")
        return condition is not None and condition.status == "True"

    def check(self) -> list[errors.FieldIssue]:
        return validation.check_metadata(self)

    @property
    def routable_address(self) -> str:
        """The address other nodes route this node's pods through and reach its ports at:
        its first IPv4 InternalIP that is not loopback ('' when none: a node reached as
        127.0.0.1 that reports no other address is only reachable from this machine)."""
        for address in self.status.addresses:
            if address.type != "InternalIP":
                continue
            try:
                parsed = ipaddress.ip_address(address.address)
            except ValueError:
                continue
            if parsed.version == 4 and not parsed.is_loopback:
                return address.address
        return ""


def with_reported_addresses(node: Node, reported: list[str]) -> list[NodeAddress]:
    """The node's addresses once its agent reports its own (``NodeFacts.addresses``, the
    default route's first): InternalIP the inventory's address when it is one of them, then
    the others in the agent's order (a node reached through a forwarded port or as
    127.0.0.1 is known by what it reports); the inventory's address alone while it reports
    none. Then its host name."""
    inventory = node.metadata.annotations.get(ADDRESS_ANNOTATION) or next(
        (a.address for a in node.status.addresses if a.type == "InternalIP"), "")
    if not reported:
        internal = [inventory] if inventory else []
    else:
        internal = ([inventory] if inventory in reported else []) + [
            a for a in reported if a != inventory]
    return [*(NodeAddress(type="InternalIP", address=a) for a in internal),
            *(a for a in node.status.addresses if a.type != "InternalIP")]


def node_from_inventory(inv_node: InventoryNode) -> Node:
    """The Node an inventory entry declares; status holds only the declared capacity."""
    labels = {HOSTNAME_LABEL: inv_node.name, **inv_node.labels}
    capacity = dict(inv_node.capacity)
    return Node(
        metadata=ObjectMeta(name=inv_node.name, labels=labels,
                            annotations={ADDRESS_ANNOTATION: inv_node.address}),
        spec=NodeSpec(
            taints=[Taint(key=t.key, value=t.value, effect=t.effect) for t in inv_node.taints],
            unschedulable=inv_node.unschedulable,
        ),
        status=NodeStatus(
            capacity=capacity,
            allocatable=dict(capacity),
            addresses=[
                NodeAddress(type="InternalIP", address=inv_node.address),
                NodeAddress(type="Hostname", address=inv_node.name),
            ],
        ),
    )
