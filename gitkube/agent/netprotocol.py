"""The networking part of the agent's wire protocol (issue 11), beside ``protocol``.

``converge`` and ``observe`` may carry ``network`` (``NetworkRun``), the node's whole share of
the cluster network: its pod subnet, routes to the other nodes' subnets, the Services with
their endpoints, the cluster DNS. The agent programs it (the pod network, routes, one
nftables table of the cluster's, the node's DNS records) when it differs from what is in
force, before it answers, and reports what is in force in ``NodeReport.network``
(``NetworkReport``). A request without ``network`` leaves the node's networking as it is
(pods then join the runtime's default network, as before). The control plane builds it
(``controllers/nodenetwork.py``); the agent checks it (``netcheck``) and programs it
(``network``).
"""

from __future__ import annotations

from typing import Literal, TypedDict


class RouteRun(TypedDict):
    """Another node's pod subnet and that node's address (host-gw, as flannel does it).

    ``via`` must be on a network this node is directly on; when it is not, the route is not
    made and ``NetworkReport.errors`` says so, naming ``node``."""

    node: str
    podCIDR: str
    via: str


class ServicePortRun(TypedDict, total=False):
    #: The Service port's name, "" for a Service's single unnamed port; the key of
    #: ``EndpointRun.ports`` and of SRV records (``_<name>._<protocol>.<svc>...``).
    name: str
    protocol: Literal["TCP", "UDP"]
    #: The port on the cluster IP (and on ``loadBalancerIPs``/``externalIPs``).
    port: int
    #: NodePort and LoadBalancer Services: the port on every node's addresses.
    nodePort: int


class EndpointRun(TypedDict, total=False):
    """One pod address behind a Service: an EndpointSlice endpoint with its ports resolved.

    The agent balances over the ``ready`` ones; when none is ready, over those both
    ``serving`` and ``terminating`` (kube-proxy's rule, so a rolling update's last pod still
    answers while it drains). With ``publishNotReadyAddresses`` the control plane sends
    not-ready pods as ready, as the EndpointSlice controller does."""

    ip: str
    #: Service port name → the port this pod listens on (a named ``targetPort`` resolved for
    #: this pod). A Service port missing here is not served by this endpoint.
    ports: dict[str, int]
    #: The node the pod runs on (traffic policy Local keeps to this node's own endpoints).
    node: str
    #: The pod, "ns/name", and its uid: the node's supervisor takes its own pods out of its
    #: rules and DNS answers when their readiness fails, before the control plane knows.
    pod: str
    podUID: str
    ready: bool
    serving: bool
    terminating: bool
    #: DNS ``<hostname>.<service>.<ns>.svc.<domain>`` → ``ip``: the pod's spec.hostname when
    #: its spec.subdomain names this (headless) Service, as in the EndpointSlice.
    hostname: str


class ServiceRun(TypedDict, total=False):
    """One Service as every node programs it (rules and DNS), lowered with its endpoints."""

    name: str
    namespace: str
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
    #: The virtual IP. Absent for headless Services (``clusterIP: None``: DNS answers with the
    #: ready endpoints' addresses, no rules) and ExternalName ones.
    clusterIP: str
    #: ExternalName only: the DNS name ``<svc>.<ns>.svc.<domain>`` is a CNAME of.
    externalName: str
    ports: list[ServicePortRun]
    #: "ClientIP": one client address keeps its endpoint for ``affinitySeconds`` (default
    #: 10800) after its last packet.
    sessionAffinity: Literal["None", "ClientIP"]
    affinitySeconds: int
    #: Traffic from pods and nodes to the cluster IP. Local: only this node's endpoints
    #: (dropped when it has none).
    internalTrafficPolicy: Literal["Cluster", "Local"]
    #: NodePort, LoadBalancer and external IPs from outside the cluster. Local: only this
    #: node's endpoints, and the client's address is kept (not masqueraded).
    externalTrafficPolicy: Literal["Cluster", "Local"]
    #: LoadBalancer, the way k3s's ServiceLB does it: the addresses in the Service's
    #: status.loadBalancer.ingress (nodes' addresses); ``port`` there is the Service.
    loadBalancerIPs: list[str]
    #: spec.externalIPs: handled as ``loadBalancerIPs``.
    externalIPs: list[str]
    #: Ready, serving and terminating endpoints on every node (not-ready non-terminating
    #: ones may be left out). Empty: connections to the Service are refused at once.
    endpoints: list[EndpointRun]


class NetworkRun(TypedDict, total=False):
    """The node's share of the cluster network, whole (each request replaces the last).

    The agent makes the node's own podman network on ``podCIDR`` (its gateway, the
    subnet's first address, is where the node's DNS answers), routes ``routes``,
    masquerades what pods send outside ``clusterCIDR``, programs every Service in one
    nftables table of the cluster's (``gitkube-<cluster>``, replaced in one ``nft -f``
    transaction; nothing else is touched) and answers DNS for ``clusterDomain``. All of it
    stays in force when no gitkube process runs, except DNS answers (the node's DNS server
    is the agent's; converge starts it again)."""

    #: This node's pod subnet (its Node's spec.podCIDR), e.g. 10.244.1.0/24.
    podCIDR: str
    #: Every pod subnet (settings.clusterCIDR): traffic inside it is never masqueraded.
    clusterCIDR: str
    #: Services' virtual IPs (settings.serviceCIDR). A node without a route there gets one
    #: to its pod network, so a packet to a virtual IP reaches the rules.
    serviceCIDR: str
    #: The cluster DNS Service's address (ClusterFirst pods' nameserver), and the domain.
    dnsIP: str
    clusterDomain: str
    #: Where this node's NodePorts and LoadBalancer ports answer; absent: every address
    #: of the node but loopback.
    nodeAddresses: list[str]
    #: The other nodes' pod subnets (this node's own is never listed).
    routes: list[RouteRun]
    services: list[ServiceRun]


class NetworkReport(TypedDict, total=False):
    """What of ``NetworkRun`` is in force on the node."""

    #: sha256 of the NetworkRun the node programmed last (the agent's canonical JSON).
    hash: str
    podCIDR: str
    #: Where the node's DNS server answers (the pod network's gateway address, port 53).
    dnsAddress: str
    #: Pods ("ns/name") this node's supervisor took out of its rules and DNS because their
    #: readiness failed since the control plane last said they were ready.
    withheld: list[str]
    #: What could not be done, as sentences naming the node ("node-1 cannot reach node-3's
    #: address 10.1.0.3 directly: host-gw needs the nodes on one network; ...").
    errors: list[str]
