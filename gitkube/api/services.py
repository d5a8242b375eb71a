"""Services (``v1 Service``): a stable virtual IP and DNS name in front of pods.

Kubernetes' field names and defaults: ``type`` ClusterIP (a virtual IP from
``settings.serviceCIDR``), headless (``clusterIP: None``: DNS answers with the pods'
addresses), NodePort (a port of 30000-32767 on every node), LoadBalancer the bare-metal
way k3s's ServiceLB does it (listen on the nodes' addresses; ``status.loadBalancer``
lists them) and ExternalName (a DNS CNAME). Ports are TCP or UDP, ``targetPort`` a number
or the name of a container port.

What the system allocates — ``spec.clusterIP``/``clusterIPs`` and ``ports[].nodePort``
— is written into the spec by ``controllers/ipam.py`` and kept across updates from Git
(``keep_allocated``), as the apiserver keeps them. ``check`` holds the rules of one
Service; the rules that need the whole revision (an address inside ``serviceCIDR``, a
NodePort or cluster IP asked for twice) are ``source/networkcheck.py``'s.

The cluster DNS has a Service too, ``kube-system/kube-dns`` as kubeadm and k3s deploy it,
on the tenth address of ``serviceCIDR`` (``cluster_dns``): gitkube stores it itself (Git
may not declare it) so that ``get services -A`` shows where pods' DNS answers. It selects
no pods: every node's agent answers on that address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from gitkube.api import errors, fields, names, network, validation
from gitkube.api.meta import KubeModel, KubeObject, ObjectMeta

ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
TrafficPolicy = Literal["Cluster", "Local"]
#: ``clusterIP: None``: a headless Service.
NONE = "None"
#: kube-proxy's default for ``sessionAffinity: ClientIP`` (3 hours), and its maximum.
DEFAULT_AFFINITY_SECONDS, MAX_AFFINITY_SECONDS = 10800, 86400
#: The cluster DNS Service's namespace and name (kubeadm's and k3s's).
DNS_NAMESPACE, DNS_NAME = "kube-system", "kube-dns"


class ServicePort(KubeModel):
    #: Required (a DNS label) when a Service has more than one port.
    name: str | None = None
    protocol: Literal["TCP", "UDP"] = "TCP"
    #: Informational (kube-proxy ignores it): ``http``, ``kubernetes.io/h2c``...
    app_protocol: str | None = None
    port: fields.Int32
    #: A number, or the name of a container port of the selected pods; defaults to ``port``.
    target_port: fields.Int32 | str | None = None
    #: Allocated from 30000-32767 for NodePort and LoadBalancer Services when unset.
    node_port: fields.Int32 | None = None

    @model_validator(mode="after")
    def _default_target_port(self) -> ServicePort:
        if self.target_port is None:
            self.target_port = self.port
        return self


class ClientIPConfig(KubeModel):
    timeout_seconds: fields.Int32 = DEFAULT_AFFINITY_SECONDS


class SessionAffinityConfig(KubeModel):
    client_ip: ClientIPConfig | None = Field(default=None, alias="clientIP")


class ServiceSpec(KubeModel):
    type: ServiceType = "ClusterIP"
    #: Label selector of the pods behind the Service; empty: no endpoints are managed.
    selector: dict[str, str] = Field(default_factory=dict)
    ports: list[ServicePort] = Field(default_factory=list)
    #: "" until allocated, an IPv4 address, or "None" (headless).
    cluster_ip: str | None = Field(default=None, alias="clusterIP")
    cluster_ips: list[str] = Field(default_factory=list, alias="clusterIPs")
    ip_families: list[Literal["IPv4", "IPv6"]] = Field(default_factory=list)
    #: gitkube's Service network is IPv4: PreferDualStack gets one family, as on a
    #: single-stack Kubernetes cluster; RequireDualStack is refused.
    ip_family_policy: Literal["SingleStack", "PreferDualStack", "RequireDualStack"] | None = None
    #: ExternalName only: the DNS name the Service's name is a CNAME of.
    external_name: str | None = None
    session_affinity: Literal["None", "ClientIP"] = "None"
    session_affinity_config: SessionAffinityConfig | None = None
    #: Pods that are not Ready are endpoints too (StatefulSet peers finding each other).
    publish_not_ready_addresses: bool | None = None
    #: Local: traffic from a pod goes only to endpoints on the pod's own node.
    internal_traffic_policy: TrafficPolicy | None = None
    #: NodePort/LoadBalancer only. Local: a node forwards only to its own endpoints.
    external_traffic_policy: TrafficPolicy | None = None
    #: LoadBalancer only (default true): false leaves ports without a NodePort.
    allocate_load_balancer_node_ports: bool | None = None

    @model_validator(mode="after")
    def _defaults(self) -> ServiceSpec:
        # Kubernetes' SetDefaults_Service and the apiserver's family defaulting.
        if self.session_affinity == "ClientIP" and self.session_affinity_config is None:
            self.session_affinity_config = SessionAffinityConfig(client_ip=ClientIPConfig())
        if self.type == "ExternalName":
            return self
        self.internal_traffic_policy = self.internal_traffic_policy or "Cluster"
        if self.type in ("NodePort", "LoadBalancer"):
            self.external_traffic_policy = self.external_traffic_policy or "Cluster"
        if self.type == "LoadBalancer" and self.allocate_load_balancer_node_ports is None:
            self.allocate_load_balancer_node_ports = True
        self.ip_families = self.ip_families or ["IPv4"]
        self.ip_family_policy = self.ip_family_policy or "SingleStack"
        if self.cluster_ip and not self.cluster_ips:
            self.cluster_ips = [self.cluster_ip]
        elif self.cluster_ips and not self.cluster_ip:
            self.cluster_ip = self.cluster_ips[0]
        return self

    @property
    def headless(self) -> bool:
        return self.cluster_ip == NONE

    def wants_node_ports(self) -> bool:
        return self.type == "NodePort" or (
            self.type == "LoadBalancer" and self.allocate_load_balancer_node_ports is not False)


class PortStatus(KubeModel):
    port: int
    protocol: Literal["TCP", "UDP"]
    error: str | None = None


class LoadBalancerIngress(KubeModel):
    ip: str | None = None
    hostname: str | None = None
    #: VIP: traffic to this address is handled on the node as if sent to the Service.
    ip_mode: Literal["VIP", "Proxy"] | None = None
    ports: list[PortStatus] | None = None


class LoadBalancerStatus(KubeModel):
    ingress: list[LoadBalancerIngress] = Field(default_factory=list)


class ServiceStatus(KubeModel):
    load_balancer: LoadBalancerStatus = Field(default_factory=LoadBalancerStatus)


class Service(KubeObject):
    plural: ClassVar[str] = "services"

    api_version: Literal["v1"] = "v1"
    kind: Literal["Service"] = "Service"
    spec: ServiceSpec = Field(default_factory=ServiceSpec)
    status: ServiceStatus = Field(default_factory=ServiceStatus)

    def check(self) -> list[errors.FieldIssue]:
        issues = validation.check_metadata(self)
        issues = [i for i in issues if i.path != "metadata.name"]
        issues += [errors.FieldIssue("metadata.name", p)
                   for p in names.dns1035_label_errors(self.name)]
        if is_cluster_dns(self):
            issues.append(errors.FieldIssue("metadata.name", (
                f"{DNS_NAMESPACE}/{DNS_NAME} is the cluster DNS Service, which gitkube keeps "
                "itself (on the tenth address of serviceCIDR, answered by every node's "
                "agent); give this Service another name or namespace")))
        return issues + check_spec(self.spec)


def check_spec(spec: ServiceSpec) -> list[errors.FieldIssue]:
    """Kubernetes' ValidateService, for what gitkube models."""
    issues = validation.check_labels("spec.selector", spec.selector)
    issues += _check_type_fields(spec)
    issues += _check_cluster_ip(spec)
    if not spec.ports and spec.type != "ExternalName" and not spec.headless:
        issues.append(errors.FieldIssue("spec.ports", "field 'ports' is required: a Service "
                                                      "needs at least one port"))
    seen_names: set[str] = set()
    seen_ports: set[tuple[int, str]] = set()
    seen_node_ports: set[tuple[int, str]] = set()
    for i, port in enumerate(spec.ports):
        where = f"spec.ports[{i}]"
        issues += _check_port(port, where, named=len(spec.ports) > 1)
        if port.name is not None:
            if port.name in seen_names:
                issues.append(errors.FieldIssue(f"{where}.name",
                                                f"Duplicate value: {port.name!r}"))
            seen_names.add(port.name)
        if (port.port, port.protocol) in seen_ports:
            issues.append(errors.FieldIssue(where, (
                f"Duplicate value: port {port.port}/{port.protocol} is listed twice")))
        seen_ports.add((port.port, port.protocol))
        if port.node_port is not None:
            if spec.type in ("ClusterIP", "ExternalName"):
                issues.append(errors.FieldIssue(f"{where}.nodePort", (
                    f"may not be used when `type` is '{spec.type}'")))
            if (port.node_port, port.protocol) in seen_node_ports:
                issues.append(errors.FieldIssue(f"{where}.nodePort",
                                                f"Duplicate value: {port.node_port}"))
            seen_node_ports.add((port.node_port, port.protocol))
    return issues


def _check_type_fields(spec: ServiceSpec) -> list[errors.FieldIssue]:
    issues = []
    if spec.type == "ExternalName":
        if not spec.external_name:
            issues.append(errors.FieldIssue("spec.externalName", (
                "field 'externalName' is required for a Service of type ExternalName")))
        else:
            issues += [errors.FieldIssue("spec.externalName", p)
                       for p in names.dns1123_subdomain_errors(spec.external_name.rstrip("."))]
    elif spec.external_name:
        issues.append(errors.FieldIssue("spec.externalName", (
            f"may only be set when `type` is 'ExternalName', not '{spec.type}'")))
    if spec.external_traffic_policy and spec.type not in ("NodePort", "LoadBalancer"):
        issues.append(errors.FieldIssue("spec.externalTrafficPolicy", (
            "may only be set for externally-accessible services (NodePort or LoadBalancer)")))
    if spec.allocate_load_balancer_node_ports is not None and spec.type != "LoadBalancer":
        issues.append(errors.FieldIssue("spec.allocateLoadBalancerNodePorts", (
            "may only be used when `type` is 'LoadBalancer'")))
    if spec.session_affinity_config is not None:
        if spec.session_affinity != "ClientIP":
            issues.append(errors.FieldIssue("spec.sessionAffinityConfig", (
                "must not be set when `sessionAffinity` is None")))
        client = spec.session_affinity_config.client_ip
        seconds = client.timeout_seconds if client else DEFAULT_AFFINITY_SECONDS
        if not 0 < seconds <= MAX_AFFINITY_SECONDS:
            issues.append(errors.FieldIssue(
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                f"must be greater than 0 and less than or equal to {MAX_AFFINITY_SECONDS}"))
    if spec.ip_family_policy == "RequireDualStack":
        issues.append(errors.FieldIssue("spec.ipFamilyPolicy", (
            "RequireDualStack is not supported by gitkube: its Service network is IPv4 "
            "only; use SingleStack or PreferDualStack")))
    if "IPv6" in spec.ip_families:
        issues.append(errors.FieldIssue("spec.ipFamilies", (
            "IPv6 is not supported by gitkube: its Service network is IPv4 only")))
    return issues


def _check_cluster_ip(spec: ServiceSpec) -> list[errors.FieldIssue]:
    wanted = [ip for ip in [spec.cluster_ip, *spec.cluster_ips] if ip]
    if spec.type == "ExternalName":
        return [errors.FieldIssue("spec.clusterIP", "may not be set for ExternalName services")
                ] if wanted else []
    issues = []
    if spec.cluster_ips and spec.cluster_ip and spec.cluster_ips[0] != spec.cluster_ip:
        issues.append(errors.FieldIssue("spec.clusterIPs[0]", (
            f"must match `clusterIP` ({spec.cluster_ip})")))
    if len(spec.cluster_ips) > 1:
        issues.append(errors.FieldIssue("spec.clusterIPs", (
            "may hold one address: gitkube's Service network is IPv4 only")))
    ip = spec.cluster_ip
    if ip == NONE:
        if spec.type != "ClusterIP":
            issues.append(errors.FieldIssue("spec.clusterIP", (
                f"may not be set to 'None' for {spec.type} services")))
    elif ip:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            address = None
        if address is None or address.version != 4:
            issues.append(errors.FieldIssue("spec.clusterIP", (
                f"{ip!r} must be a valid IPv4 address (or None for a headless Service)")))
    return issues


def _check_port(port: ServicePort, where: str, *, named: bool) -> list[errors.FieldIssue]:
    issues = []
    if port.name is None or port.name == "":
        if named:
            issues.append(errors.FieldIssue(f"{where}.name", (
                "field 'name' is required when a Service has more than one port")))
    else:
        issues += [errors.FieldIssue(f"{where}.name", p)
                   for p in names.dns1123_label_errors(port.name)]
    if not 1 <= port.port <= 65535:
        issues.append(errors.FieldIssue(f"{where}.port", (
            f"{port.port} must be between 1 and 65535, inclusive")))
    target = port.target_port
    if isinstance(target, int) and not 1 <= target <= 65535:
        issues.append(errors.FieldIssue(f"{where}.targetPort", (
            f"{target} must be between 1 and 65535, inclusive")))
    elif isinstance(target, str):
        issues += [errors.FieldIssue(f"{where}.targetPort", p)
                   for p in names.port_name_errors(target)]
    node_port = port.node_port
    if node_port is not None and not network.NODE_PORT_MIN <= node_port <= network.NODE_PORT_MAX:
        issues.append(errors.FieldIssue(f"{where}.nodePort", (
            f"{node_port} is not in the valid range: NodePorts are "
            f"{network.NODE_PORT_MIN}-{network.NODE_PORT_MAX}")))
    if port.app_protocol is not None:
        issues += [errors.FieldIssue(f"{where}.appProtocol", p)
                   for p in names.qualified_name_errors(port.app_protocol)]
    return issues


def keep_allocated(declared: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """``declared`` (a Service's JSON form from Git) with what the system allocated and
    Git leaves unset: the cluster IP while the Service keeps needing one, and each port's
    NodePort (matched by port and protocol) while it keeps needing them."""
    spec = dict(declared.get("spec") or {})
    old = stored.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    if kind != "ExternalName" and not spec.get("clusterIP") and old.get("clusterIP") not in (
            None, "", NONE) and old.get("type", "ClusterIP") != "ExternalName":
        spec["clusterIP"] = old["clusterIP"]
        spec["clusterIPs"] = [old["clusterIP"]]
    if kind == "NodePort" or (kind == "LoadBalancer"
                              and spec.get("allocateLoadBalancerNodePorts") is not False):
        allocated = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                     for p in old.get("ports") or [] if p.get("nodePort")}
        ports = []
        for port in spec.get("ports") or []:
            key = (port.get("port"), port.get("protocol", "TCP"))
            if not port.get("nodePort") and key in allocated:
                port = {**port, "nodePort": allocated[key]}
            ports.append(port)
        spec["ports"] = ports
    return {**declared, "spec": spec}


def cluster_ip_change(want: dict[str, Any], have: dict[str, Any], name: str) -> str:
    """Why an update from Git is refused ('' when it is not): a cluster IP never changes
    while the Service lives (the apiserver's rule), headless included."""
    old, new = have.get("spec") or {}, want.get("spec") or {}
    if "ExternalName" in (old.get("type", "ClusterIP"), new.get("type", "ClusterIP")):
        return ""
    before, after = old.get("clusterIP") or "", new.get("clusterIP") or ""
    if not before or not after or before == after:
        return ""
    return (f"{name} keeps clusterIP {before}: a Service's cluster IP cannot change (Git "
            f"asks for {after}); the change in Git is refused and the stored Service is kept. "
            "Delete it from Git and add it under a new name to change its address")


def held_by(stored: Iterable[KubeObject]) -> dict[str, str]:
    """What stored Services hold: "ip:<address>" and "port:<nodePort>" → "Service ns/name"."""
    held: dict[str, str] = {}
    for svc in stored:
        if not isinstance(svc, Service):
            continue
        me = f"Service {svc.namespace}/{svc.name}"
        if svc.spec.cluster_ip and svc.spec.cluster_ip != NONE:
            held.setdefault(f"ip:{svc.spec.cluster_ip}", me)
        for port in svc.spec.ports:
            if port.node_port is not None:
                held.setdefault(f"port:{port.node_port}", me)
    return held


def claim_conflict(obj: KubeObject, held: dict[str, str]) -> str:
    """Why a Service from Git cannot be applied ('' when it can): it asks for a cluster IP
    or NodePort another Service was given (the apiserver's "already allocated")."""
    if not isinstance(obj, Service):
        return ""
    me = f"Service {obj.namespace}/{obj.name}"
    asked = [(f"ip:{obj.spec.cluster_ip}", f"clusterIP {obj.spec.cluster_ip}")] if (
        obj.spec.cluster_ip and obj.spec.cluster_ip != NONE) else []
    asked += [(f"port:{p.node_port}", f"NodePort {p.node_port}") for p in obj.spec.ports
              if p.node_port is not None]
    for key, what in asked:
        holder = held.get(key)
        if holder is not None and holder != me:
            return (f"{me} asks for {what}, which {holder} already holds; it is not applied "
                    "until the address is free: choose another or leave the field out")
    return ""


def cluster_dns(service_cidr: str) -> Service:
    """The cluster DNS Service gitkube keeps: ``kube-system/kube-dns`` on the tenth address
    of ``service_cidr``, DNS over UDP and TCP, no selector (each node's agent answers)."""
    ip = network.dns_service_ip(service_cidr)
    return Service(
        metadata=ObjectMeta(name=DNS_NAME, namespace=DNS_NAMESPACE,
                            labels={"k8s-app": "kube-dns",
                                    "kubernetes.io/cluster-service": "true"}),
        spec=ServiceSpec.model_validate({
            "clusterIP": ip, "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                                       {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}),
    )


def is_cluster_dns(obj: KubeObject) -> bool:
    """``obj`` is the cluster DNS Service (``cluster_dns``), by namespace and name."""
    return (isinstance(obj, Service) and obj.namespace == DNS_NAMESPACE
            and obj.name == DNS_NAME)
