"""Each node's share of the cluster network, lowered into the agent's ``NetworkRun``.

What kube-proxy, flannel's host-gw backend and the cluster DNS need to know on a node,
computed from the store (pure: a snapshot in, dicts of ``gitkube.agent.protocol`` out):

- the node's pod subnet (its Node's ``spec.podCIDR``, from ``ipam``) and a route to every
  other node's subnet via that node's address. Nodes that share this node's address are
  the same machine: no route is needed, nor possible;
- every Service with its address, ports and policies, and its endpoints from its
  EndpointSlices: ready ones, and terminating ones that still serve (the agent falls back
  on those only when no endpoint is ready, as kube-proxy does). Endpoints neither ready nor
  terminating get no traffic and are left out;
- the cluster DNS: its address (the tenth of ``serviceCIDR``) and domain; the records are
  the Services' names, their headless endpoints and the pods' hostnames in them.

The Services part is the same for every node: ``lower_networks`` lowers it once a pass
and adds what is each node's own.
"""

from __future__ import annotations

from collections.abc import Iterable

from gitkube.agent import netprotocol
from gitkube.api import discovery, network, services
from gitkube.api import node as node_api
from gitkube.controllers import endpointslices, ipam
from gitkube.planning.snapshot import Snapshot


def lower_networks(snapshot: Snapshot, names: Iterable[str]
                   ) -> dict[str, netprotocol.NetworkRun]:
    """The ``network`` of a converge to each of ``names`` that has one: not while a node has
    no pod subnet, nor when the inventory says ``podNetwork: none`` (its networking is then
    left as it is), nor to any node while one reports an address inside ``clusterCIDR`` or
    ``serviceCIDR`` (``ipam.address_clashes``). The Services part is lowered once."""
    settings = snapshot.settings
    if settings.pod_network == "none" or ipam.address_clashes(snapshot):
        return {}  # podNetwork: none, or a node's address inside a range (ipam says which)
    nodes = sorted(snapshot.of_kind(node_api.Node), key=lambda n: n.name)
    by_name = {n.name: n for n in nodes}
    wanted = [by_name[name] for name in names if name in by_name and by_name[name].spec.pod_cidr]
    if not wanted:
        return {}
    lowered = lower_services(snapshot)
    subnets = [(n.name, n.spec.pod_cidr, n.routable_address) for n in nodes if n.spec.pod_cidr]
    out: dict[str, netprotocol.NetworkRun] = {}
    for node in wanted:
        own = node.routable_address
        routes: list[netprotocol.RouteRun] = [
            {"node": name, "podCIDR": cidr, "via": via} for name, cidr, via in subnets
            if name != node.name and cidr and via and via != own]
        out[node.name] = {
            "podCIDR": node.spec.pod_cidr or "",
            "clusterCIDR": settings.cluster_cidr,
            "serviceCIDR": settings.service_cidr,
            "dnsIP": network.dns_service_ip(settings.service_cidr),
            "clusterDomain": settings.cluster_domain,
            "routes": routes,
            "services": lowered,
        }
    return out


def lower_services(snapshot: Snapshot) -> list[netprotocol.ServiceRun]:
    slices = snapshot.of_kind(discovery.EndpointSlice)
    by_service: dict[tuple[str, str], list[discovery.EndpointSlice]] = {}
    for slice_ in slices:
        by_service.setdefault((slice_.namespace, slice_.service_name), []).append(slice_)
    out = []
    for svc in snapshot.of_kind(services.Service):
        if services.is_cluster_dns(svc):
            continue  # its address is ``dnsIP``: the agent's own DNS server answers there
        run = lower_service(svc, endpointslices.endpoints_of(
            svc, by_service.get((svc.namespace, svc.name), [])))
        if run is not None:
            out.append(run)
    return out


def lower_service(svc: services.Service, slices: Iterable[discovery.EndpointSlice]
                  ) -> netprotocol.ServiceRun | None:
    """One Service as nodes program it; None while it waits for its cluster IP."""
    spec = svc.spec
    run: netprotocol.ServiceRun = {"name": svc.name, "namespace": svc.namespace, "type": spec.type}
    if spec.type == "ExternalName":
        run["externalName"] = (spec.external_name or "").rstrip(".")
        return run
    if not spec.headless:
        if not spec.cluster_ip:
            return None
        run["clusterIP"] = spec.cluster_ip
    ports: list[netprotocol.ServicePortRun] = []
    for port in spec.ports:
        lowered: netprotocol.ServicePortRun = {"name": port.name or "", "protocol": port.protocol,
                                            "port": port.port}
        if port.node_port is not None:
            lowered["nodePort"] = port.node_port
        ports.append(lowered)
    run["ports"] = ports
    run["sessionAffinity"] = spec.session_affinity
    client = spec.session_affinity_config.client_ip if spec.session_affinity_config else None
    if spec.session_affinity == "ClientIP":
        run["affinitySeconds"] = (client.timeout_seconds if client
                                  else services.DEFAULT_AFFINITY_SECONDS)
    run["internalTrafficPolicy"] = spec.internal_traffic_policy or "Cluster"
    if spec.external_traffic_policy:
        run["externalTrafficPolicy"] = spec.external_traffic_policy
    ingress = [i.ip for i in svc.status.load_balancer.ingress if i.ip]
    if spec.type == "LoadBalancer" and ingress:
        run["loadBalancerIPs"] = ingress
    run["endpoints"] = lower_endpoints(slices)
    return run


def lower_endpoints(slices: Iterable[discovery.EndpointSlice]) -> list[netprotocol.EndpointRun]:
    out: list[netprotocol.EndpointRun] = []
    seen: set[str] = set()
    for slice_ in slices:
        ports = {p.name or "": p.port for p in slice_.ports if p.port is not None}
        for endpoint in slice_.endpoints:
            cond = endpoint.conditions
            if not endpoint.addresses or not (cond.ready or cond.terminating):
                continue
            ip = endpoint.addresses[0]
            if ip in seen:
                continue
            seen.add(ip)
            run: netprotocol.EndpointRun = {
                "ip": ip, "ports": dict(ports), "ready": bool(cond.ready),
                "serving": bool(cond.serving if cond.serving is not None else cond.ready),
                "terminating": bool(cond.terminating),
            }
            if endpoint.node_name:
                run["node"] = endpoint.node_name
            ref = endpoint.target_ref
            if ref is not None and ref.kind == "Pod":
                run["pod"] = f"{ref.namespace or slice_.namespace}/{ref.name}"
                if ref.uid:
                    run["podUID"] = ref.uid
            if endpoint.hostname:
                run["hostname"] = endpoint.hostname
            out.append(run)
    return sorted(out, key=lambda e: (e.get("pod", ""), e["ip"]))
