"""Address allocation: node pod subnets, Service cluster IPs and NodePorts, LoadBalancer status.

A planner (snapshot in, actions out) that does what node-ipam and the apiserver's
allocators do, with the results written into the objects' specs so they stay put:

- a Node gets ``spec.podCIDR``, the lowest free ``/nodeCIDRMaskSize`` of
  ``settings.clusterCIDR``, once (it is only replaced when it no longer fits the range);
- a Service gets ``spec.clusterIP`` unless Git asks for one, it is headless or an
  ExternalName. The apiserver picks at random from the upper part of the range (KEP-3070
  keeps the lower band for addresses people choose); here the start of the search is a
  hash of the Service's namespace and name, so the choice is the same every time it is
  planned and a Service removed and written again gets its address back when it is free.
  The network, broadcast and cluster DNS (tenth) addresses are never given out;
- a NodePort or LoadBalancer port gets ``nodePort`` the same way, from the upper part of
  30000-32767 (KEP-3668);
- a LoadBalancer Service's ``status.loadBalancer.ingress`` lists the Ready nodes'
  addresses (one each, the one other machines reach it at), as k3s's ServiceLB does: the
  Service is reached on every node;
- the cluster DNS Service (``kube-system/kube-dns``, ``plan_cluster_dns``) is stored once
  a Service exists and the nodes have a pod network, on the tenth address of
  ``serviceCIDR``, and follows that range when it changes.

What Git asks for that cannot be given (an address outside the range, one held by
another Service) is refused earlier, with the revision (``source/networkcheck.py``).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterator

from gitkube import clock as clocks
from gitkube.api import meta, network, services
from gitkube.api import node as node_api
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "ipam"


def plan_ipam(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    held_back = [Action(ActionKind.NOOP, ObjectRef("Cluster", "", snapshot.cluster), clash,
                        source=SOURCE) for clash in address_clashes(snapshot)]
    return [*plan_pod_cidrs(snapshot), *plan_service_addresses(snapshot),
            *plan_load_balancer_status(snapshot), *held_back]


def address_clashes(snapshot: Snapshot) -> list[str]:
    """Nodes' addresses, as their agents report them, inside ``clusterCIDR`` or
    ``serviceCIDR`` (what the inventory could not see: a node written by name, or with
    more than one address). Routes and a pod bridge on such a range would cut the node
    off its own network, so while one is reported no node is given the cluster network
    (``nodenetwork``): each sentence says so. The pod networks' gateways (the first
    address of a node's ``podCIDR``) are gitkube's own bridges, not clashes."""
    settings = snapshot.settings
    if settings.pod_network == "none":
        return []
    nodes = sorted(snapshot.of_kind(node_api.Node), key=lambda n: n.name)
    gateways = {_gateway(n.spec.pod_cidr) for n in nodes if n.spec.pod_cidr}
    first_at: dict[str, str] = {}
    for node in nodes:
        for address in node.status.addresses:
            if address.type == "InternalIP" and address.address not in gateways:
                first_at.setdefault(address.address, node.name)
    taken = [(f"node {name}'s address", address) for address, name in first_at.items()]
    return [f"{issue.path} in inventory.yaml: {issue.message}; until then no node is given "
            "the cluster network (routes, Service rules, DNS)"
            for issue in network.overlap_issues(settings.cluster_cidr, settings.service_cidr,
                                                taken)]


def _gateway(cidr: str) -> str:
    try:
        return str(ipaddress.ip_network(cidr)[1])
    except (ValueError, IndexError):
        return ""


# -- node pod subnets ---------------------------------------------------------------------


def plan_pod_cidrs(snapshot: Snapshot) -> list[Action]:
    settings = snapshot.settings
    pods = ipaddress.ip_network(settings.cluster_cidr)
    mask = settings.node_cidr_mask_size
    nodes = sorted(snapshot.of_kind(node_api.Node),
                   key=lambda n: (n.metadata.creation_timestamp or "", n.name))
    taken: set[int] = set()
    needing: list[tuple[node_api.Node, str]] = []
    for node in nodes:
        held = _subnet_index(node.spec.pod_cidr, pods, mask)
        if held is not None and held not in taken:
            taken.add(held)
            continue
        why = ""
        if node.spec.pod_cidr and held is None:
            why = f"; {node.spec.pod_cidr} is not a /{mask} of {pods}"
        elif node.spec.pod_cidr:
            why = f"; {node.spec.pod_cidr} is held by another node"
        needing.append((node, why))
    free = _free_subnets(pods, mask, taken)
    actions: list[Action] = []
    left_out: list[str] = []
    for node, why in needing:
        subnet = next(free, None)
        if subnet is None:
            left_out.append(node.name)
            continue
        data = node.to_dict()
        data["spec"]["podCIDR"] = subnet
        data["spec"]["podCIDRs"] = [subnet]
        actions.append(Action(
            ActionKind.UPDATE, ObjectRef.of(node),
            f"pod subnet {subnet} allocated from clusterCIDR {pods}{why}",
            obj=objects.rebuild(node, data), source=SOURCE))
    if left_out:
        actions.append(Action(
            ActionKind.NOOP, ObjectRef("Cluster", "", snapshot.cluster),
            f"clusterCIDR {pods} has no /{mask} left for {objects.plural(len(left_out), 'node')}"
            f" ({', '.join(left_out[:3])}{', ...' if len(left_out) > 3 else ''}); their pods "
            "get no address: widen settings.clusterCIDR or raise nodeCIDRMaskSize",
            source=SOURCE))
    return actions


def _subnet_index(cidr: str | None, pods: network.Network, mask: int) -> int | None:
    if not cidr:
        return None
    try:
        net = ipaddress.ip_network(cidr)
    except ValueError:
        return None
    if net.version != pods.version or net.prefixlen != mask or not net.subnet_of(pods):  # type: ignore[arg-type]
        return None
    return (int(net.network_address) - int(pods.network_address)) >> (net.max_prefixlen - mask)


def _free_subnets(pods: network.Network, mask: int, taken: set[int]) -> Iterator[str]:
    size = 1 << (pods.max_prefixlen - mask)
    for index in range(1 << (mask - pods.prefixlen)):
        if index not in taken:
            address = ipaddress.ip_address(int(pods.network_address) + index * size)
            yield f"{address}/{mask}"


# -- Service cluster IPs and NodePorts ----------------------------------------------------


def plan_service_addresses(snapshot: Snapshot) -> list[Action]:
    settings = snapshot.settings
    cidr = ipaddress.ip_network(settings.service_cidr)
    reserved = {int(cidr.network_address), int(cidr.broadcast_address),
                int(ipaddress.ip_address(network.dns_service_ip(settings.service_cidr)))}
    svcs = sorted((s for s in snapshot.of_kind(services.Service)
                   if not services.is_cluster_dns(s)),  # plan_cluster_dns places it
                  key=lambda s: (s.metadata.creation_timestamp or "", s.key))
    ips, ports = _held(svcs, cidr)
    actions: list[Action] = []
    for svc in svcs:
        data = svc.to_dict()
        reasons = []
        spec = svc.spec
        if _needs_cluster_ip(spec, cidr):
            ip = _pick(_hash(svc.key), int(cidr.network_address), cidr.num_addresses,
                       ips | reserved)
            if ip is None:
                actions.append(_full(svc, f"Service range {cidr} is full"))
                continue
            ips.add(ip)
            text = str(ipaddress.ip_address(ip))
            data["spec"]["clusterIP"], data["spec"]["clusterIPs"] = text, [text]
            moved = f" (its address {spec.cluster_ip} is outside it)" if spec.cluster_ip else ""
            reasons.append(f"cluster IP {text} allocated from {cidr}{moved}")
        if spec.wants_node_ports():
            for i, port in enumerate(spec.ports):
                if port.node_port is not None:
                    continue
                span = network.NODE_PORT_MAX - network.NODE_PORT_MIN + 1
                chosen = _pick(_hash(f"{svc.key}/{port.port}/{port.protocol}"),
                               network.NODE_PORT_MIN, span, ports)
                if chosen is None:
                    actions.append(_full(svc, "every NodePort of 30000-32767 is taken"))
                    break
                ports.add(chosen)
                data["spec"]["ports"][i]["nodePort"] = chosen
                reasons.append(f"NodePort {chosen} allocated for {port.port}/{port.protocol}")
        if reasons:
            actions.append(Action(ActionKind.UPDATE, ObjectRef.of(svc), "; ".join(reasons),
                                  obj=objects.rebuild(svc, data), source=SOURCE))
    return actions


def _held(svcs: list[services.Service], cidr: network.Network) -> tuple[set[int], set[int]]:
    """Addresses and NodePorts already held (by Git's choice or an earlier allocation)."""
    ips: set[int] = set()
    ports: set[int] = set()
    for svc in svcs:
        ip = svc.spec.cluster_ip
        if ip and ip != services.NONE and network.in_network(ip, str(cidr)):
            ips.add(int(ipaddress.ip_address(ip)))
        ports.update(p.node_port for p in svc.spec.ports if p.node_port is not None)
    return ips, ports


def _needs_cluster_ip(spec: services.ServiceSpec, cidr: network.Network) -> bool:
    if spec.type == "ExternalName" or spec.headless:
        return False
    return not spec.cluster_ip or not network.in_network(spec.cluster_ip, str(cidr))


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _pick(seed: int, base: int, size: int, taken: set[int]) -> int | None:
    """A free value of [base, base + size): searched from a seeded point of the upper band
    (the lower band is kept for values people choose), then the lower band."""
    lower = min(max(16, size // 16), 256) if size > 16 else 0
    upper = size - lower
    for start, span in ((lower, upper), (0, lower)):
        if span <= 0:
            continue
        first = seed % span
        for step in range(span):
            candidate = base + start + (first + step) % span
            if candidate not in taken:
                return candidate
    return None


def _full(svc: services.Service, why: str) -> Action:
    return Action(ActionKind.NOOP, ObjectRef.of(svc),
                  f"{objects.describe(svc)} gets no address: {why}", source=SOURCE)


# -- the cluster DNS Service --------------------------------------------------------------


def plan_cluster_dns(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    """``kube-system/kube-dns`` as kubeadm deploys it, where the nodes answer DNS: stored
    once the first Service is (as k3s stores its add-ons), at the DNS address of the
    current ``serviceCIDR``; removed when ``podNetwork: none`` leaves nodes without DNS."""
    made = services.cluster_dns(snapshot.settings.service_cidr)
    stored = snapshot.get(made.key)
    if stored is not None and meta.SOURCE_ANNOTATION in stored.obj.metadata.annotations:
        return []  # Git's own (an older revision; the source refuses it now): left alone
    if snapshot.settings.pod_network == "none":
        return [] if stored is None else [Action(
            ActionKind.DELETE, ObjectRef.of(made), "podNetwork: none: the nodes answer no "
            "cluster DNS", expected_revision=stored.mod_revision, source=SOURCE)]
    ip = made.spec.cluster_ip
    reason = f"the cluster DNS Service at {ip}, answered by every node's agent"
    if stored is None:
        if not any(not services.is_cluster_dns(s) for s in snapshot.of_kind(services.Service)):
            return []
        stamped = made.metadata.model_copy(update={
            "uid": objects.deterministic_uid(snapshot.cluster, made.key, snapshot.revision),
            "creation_timestamp": objects.now_text(clock)})
        return [Action(ActionKind.CREATE, ObjectRef.of(made), reason,
                       obj=made.model_copy(update={"metadata": stamped}),
                       expected_revision=0, source=SOURCE)]
    data = stored.obj.to_dict()
    data["spec"] = made.to_dict()["spec"]
    kept = objects.rebuild(stored.obj, data)
    if objects.same(kept, stored.obj):
        return []
    assert isinstance(stored.obj, services.Service)
    was = stored.obj.spec.cluster_ip
    return [Action(ActionKind.UPDATE, ObjectRef.of(made),
                   reason + (f" (was {was}: serviceCIDR changed)" if was != ip else ""),
                   obj=kept, expected_revision=stored.mod_revision, source=SOURCE)]


# -- LoadBalancer status ------------------------------------------------------------------


def plan_load_balancer_status(snapshot: Snapshot) -> list[Action]:
    """ServiceLB's status: the Ready nodes' addresses, where the Service answers."""
    addresses = sorted({_ingress_address(node) for node in snapshot.of_kind(node_api.Node)
                        if node.ready} - {""}, key=_address_order)
    actions: list[Action] = []
    for svc in snapshot.of_kind(services.Service):
        ingress = ([{"ip": ip} for ip in addresses] if svc.spec.type == "LoadBalancer" else [])
        data = svc.to_dict()
        if (data.get("status") or {}).get("loadBalancer", {}).get("ingress", []) == ingress:
            continue
        data["status"] = {"loadBalancer": {"ingress": ingress} if ingress else {}}
        reason = (f"load balancer on {', '.join(addresses)}" if ingress
                  else "no load balancer address")
        actions.append(Action(ActionKind.UPDATE, ObjectRef.of(svc), reason,
                              obj=objects.rebuild(svc, data), source=SOURCE, status_only=True))
    return actions


def _ingress_address(node: node_api.Node) -> str:
    return node.routable_address or next(
        (a.address for a in node.status.addresses if a.type == "InternalIP"), "")


def _address_order(text: str) -> tuple[int, int | str]:
    try:
        return (0, int(ipaddress.ip_address(text)))
    except ValueError:
        return (1, text)
