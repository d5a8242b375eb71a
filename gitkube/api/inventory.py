"""``inventory.yaml``: the machines of a cluster and how to reach them.

It sits at the root of the cluster repository and is read at the same revision
as the manifests, so adding a node is a commit like any other change.

    apiVersion: gitkube.io/v1alpha1
    kind: Inventory
    cluster: homelab
    nodes:
      - name: node-1
        address: 192.168.1.10
        transport: ssh
        ssh: {user: deploy, port: 22, identityFile: ~/.ssh/id_ed25519,
              knownHosts: ~/.ssh/known_hosts, acceptUnknownHostKeys: false}
        labels: {disktype: ssd}
        taints: [{key: dedicated, value: gpu, effect: NoSchedule}]
        capacity: {cpu: "4", memory: 8Gi, pods: "110"}   # optional: detected when left out
        runtime: {kind: podman}     # or {kind: containerd, socket: /run/containerd/containerd.sock}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from gitkube.api import errors, fields, inventory_checks, names, network, simnodes
from gitkube.api.meta import KubeModel

#: A bound on durations in seconds (about 31 years): a larger one overflows date arithmetic.
MAX_SECONDS = 1e9


class SSHSettings(KubeModel):
    user: str = "root"
    port: fields.Int32 = Field(default=22, ge=1, le=65535)
    identity_file: str | None = None
    known_hosts: str = "~/.ssh/known_hosts"
    #: Accept and remember a host key never seen before (trust on first use). Off by default.
    accept_unknown_host_keys: bool = False
    connect_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    #: Interpreter on the node that runs the agent.
    python: str = "python3"


class RuntimeSettings(KubeModel):
    kind: Literal["podman", "containerd", "sim"] = "podman"
    #: podman storage of this node (several simulated nodes on one machine).
    root: str | None = None
    runroot: str | None = None
    containers_conf: str | None = None
    #: containerd: its socket (default /run/containerd/containerd.sock); gitkube uses its
    #: namespace ``gitkube`` there and no other.
    socket: str | None = None
    #: containerd: the runc root, cgroup parent and CNI plugin directory when not the
    #: defaults (several containerds on one machine, as the tests run them).
    runc_root: str | None = None
    cgroup_parent: str | None = None
    cni_bin_dir: str | None = None


class Taint(KubeModel):
    key: str
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class InventoryNode(KubeModel):
    name: str
    address: str = "127.0.0.1"
    #: sim: a simulated node served in this process (see ``simnodes``).
    transport: Literal["local", "ssh", "sim"] = "ssh"
    #: This entry stands for ``count`` nodes, ``{i}`` templates filled (see ``simnodes``).
    count: fields.Int32 | None = Field(default=None, ge=1, le=100_000)
    ssh: SSHSettings = Field(default_factory=SSHSettings)
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    #: Kubernetes quantities; what is left out is detected by the agent.
    capacity: dict[str, fields.Quantity] = Field(default_factory=dict)
    unschedulable: bool = False
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    #: Agent state on the node (default: ~/.gitkube/<cluster>/<node>).
    state_dir: str | None = None

    def expanded(self) -> list[InventoryNode]:
        """The nodes this entry stands for (itself, when it has no count): ``{i}`` in its
        name, address, stateDir, label and taint values filled in (``simnodes.render``)."""
        if self.count is None:
            return [self]
        out = []
        for i in range(self.count):
            update: dict[str, Any] = {
                "name": simnodes.render(self.name, i),
                "address": simnodes.render(self.address, i),
                "count": None,
                "labels": {k: simnodes.render(v, i) for k, v in self.labels.items()},
                "taints": [t.model_copy(update={"value": simnodes.render(t.value, i)})
                           if t.value else t for t in self.taints],
            }
            if self.state_dir is not None:
                update["state_dir"] = simnodes.render(self.state_dir, i)
            out.append(self.model_copy(update=update))
        return out


class Settings(KubeModel):
    #: Seconds without a heartbeat before a node is NotReady.
    node_grace_period_seconds: float = Field(default=40.0, gt=0, le=MAX_SECONDS)
    #: Seconds a pod stays on a NotReady node before eviction (unless its tolerations say).
    pod_eviction_timeout_seconds: float = Field(default=300.0, ge=0, le=MAX_SECONDS)
    #: Parallel node operations during apply.
    parallelism: fields.Int32 = Field(default=16, ge=1, le=1024)
    #: Refuse a revision holding a Secret whose values are not encrypted with age.
    require_encrypted_secrets: bool = False
    #: Pod addresses: each node gets a /nodeCIDRMaskSize of it (its Node's spec.podCIDR).
    cluster_cidr: str = Field(default=network.DEFAULT_CLUSTER_CIDR, alias="clusterCIDR")
    node_cidr_mask_size: fields.Int32 = Field(default=network.DEFAULT_NODE_MASK,
                                     alias="nodeCIDRMaskSize")
    #: Services' virtual IPs; the tenth address is the cluster DNS (kube-dns in kubeadm).
    service_cidr: str = Field(default=network.DEFAULT_SERVICE_CIDR, alias="serviceCIDR")
    #: DNS names of Services: <service>.<namespace>.svc.<clusterDomain>.
    cluster_domain: str = network.DEFAULT_CLUSTER_DOMAIN
    #: How pods of different nodes reach each other. host-gw (flannel's backend of that
    #: name): each node routes the others' pod subnets via their addresses, so the nodes
    #: must share a network. none: the nodes' networking is left alone (pods stay on
    #: podman's default network; no Service rules or cluster DNS on the nodes).
    pod_network: Literal["host-gw", "none"] = "host-gw"


class Inventory(KubeModel):
    api_version: Literal["gitkube.io/v1alpha1"] = "gitkube.io/v1alpha1"
    kind: Literal["Inventory"] = "Inventory"
    cluster: str = "gitkube"
    nodes: list[InventoryNode] = Field(default_factory=list)
    settings: Settings = Field(default_factory=Settings)
    #: For each node, the index of the entry of ``nodes`` it was written as.
    _entries: list[int] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _expand_counts(self) -> Inventory:
        # ``count`` entries become their nodes here, so nothing downstream sees templates.
        for node in self.nodes:
            if node.transport == "sim" and node.runtime.kind != "sim":
                node.runtime = node.runtime.model_copy(update={"kind": "sim"})
            if node.count is not None and node.transport != "sim":
                raise ValueError(f"node {node.name!r}: `count` is for simulated nodes; add "
                                 "`transport: sim` or declare the machines one by one")
        expanded = [(i, made) for i, node in enumerate(self.nodes)
                    for made in node.expanded()]
        self.nodes = [node for _, node in expanded]
        self._entries = [i for i, _ in expanded]
        return self

    def check(self) -> list[errors.FieldIssue]:
        """The rules beyond field types: each node's (``inventory_checks``), and the address
        plan: valid ranges that overlap neither each other nor a node."""
        entries = self._entries
        if len(entries) != len(self.nodes):  # nodes replaced after reading: no entries known
            entries = list(range(len(self.nodes)))
        issues = inventory_checks.check_inventory(self, entries)
        settings = self.settings
        issues += network.range_issues(settings.cluster_cidr, settings.service_cidr,
                                      settings.node_cidr_mask_size)
        first_at: dict[str, str] = {}
        for node in self.nodes:  # simulated nodes by the thousand share an address
            first_at.setdefault(node.address, node.name)
        issues += network.overlap_issues(
            settings.cluster_cidr, settings.service_cidr,
            [(f"node {name}'s address", address) for address, name in first_at.items()])
        issues += [errors.FieldIssue("settings.clusterDomain", p)
                   for p in names.dns1123_subdomain_errors(settings.cluster_domain)]
        return issues
