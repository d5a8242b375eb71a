"""kube-proxy's nftables mode, rendered: a node's Services as one ``nft -f`` transaction.

Pure (``render`` takes the request's ``NetworkRun`` and returns the script; ``network.py``
runs ``nft`` and hands back what the table holds now). The table is the cluster's own,
``ip gitkube-<cluster>``; nothing else on the node is touched. Its shape follows
kube-proxy's nftables proxier:

- ``services`` (from the nat prerouting and output hooks) looks the destination up in the
  ``service-ips`` map (cluster IPs, LoadBalancer and external IPs) and, for the node's own
  addresses, in ``service-nodeports``; a hit jumps to the Service port's chain;
- a Service port's chains: ``svc-`` (its cluster IP: internalTrafficPolicy), ``ext-``
  (NodePort, LoadBalancer, external IPs: externalTrafficPolicy), ``all-``/``loc-`` (the
  balancing over the usable endpoints, everywhere or on this node only: ClientIP affinity
  sets first, then ``numgen random mod N``), one ``ep-`` chain per endpoint (the DNAT);
- a Service port without usable endpoints is in ``no-endpoint-services`` /
  ``no-endpoint-nodeports`` instead, which the filter hooks answer with a reject (nothing
  anywhere: refused at once) or a drop (only elsewhere, and the traffic policy is Local);
- ``masquerading`` (nat postrouting): masquerade what was marked (hairpin, clients outside
  the cluster), keep pod addresses between pods (podman's own rules would masquerade what
  leaves a pod's subnet: an identity SNAT runs first and settles the connection), and
  masquerade what pods send out of the cluster;
- the cluster DNS address is DNATed to the node's own DNS server (``dns``).

Endpoints are kube-proxy's: the ready ones, or, when none is ready, those serving and
terminating; pods this node's supervisor withheld (readiness failed locally) are neither.
The transaction flushes the chains and maps that exist and deletes those no longer wanted,
but keeps the ClientIP affinity sets that are still wanted, so a rule change does not move
clients (kube-proxy's sets survive its updates too).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import netprotocol

MASQ_MARK = "0x4000"
DEFAULT_AFFINITY_SECONDS = 10800

#: The chains that hook into the kernel: (name, type, hook, priority). Priorities are
#: numbers (nft names "dstnat" for prerouting only): -100 is dstnat; 99 runs just before
#: podman's own nat postrouting (netavark's iptables-nft at srcnat, 100), so the identity
#: SNAT that keeps pod addresses settles the connection first.
BASE_CHAINS = (
    ("nat-prerouting", "nat", "prerouting", -100),
    ("nat-output", "nat", "output", -100),
    ("nat-postrouting", "nat", "postrouting", 99),
    ("filter-input", "filter", "input", -5),
    ("filter-forward", "filter", "forward", -5),
    ("filter-output", "filter", "output", -5),
)
_MAPS = {
    "service-ips": "ipv4_addr . inet_proto . inet_service : verdict",
    "service-nodeports": "inet_proto . inet_service : verdict",
    "no-endpoint-services": "ipv4_addr . inet_proto . inet_service : verdict",
    "no-endpoint-nodeports": "inet_proto . inet_service : verdict",
}


def table_name(cluster: str) -> str:
    return f"gitkube-{cluster}"


@dataclass
class Existing:
    """What the table holds now (``parse_listing`` of ``nft -j list table``)."""

    chains: set[str] = field(default_factory=set)
    sets: set[str] = field(default_factory=set)
    maps: set[str] = field(default_factory=set)


def parse_listing(text: str) -> Existing:
    """``nft -j list table ip T``'s output → the names of its chains, sets and maps."""
    found = Existing()
    for item in json.loads(text).get("nftables", []):
        for kind, names in (("chain", found.chains), ("set", found.sets), ("map", found.maps)):
            if kind in item:
                names.add(str(item[kind]["name"]))
    return found


@dataclass
class _Script:
    table: str
    chains: list[str] = field(default_factory=list)
    sets: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    elements: dict[str, list[str]] = field(default_factory=dict)

    def chain(self, name: str, *rules: str) -> None:
        self.chains.append(name)
        self.lines += [f"add rule ip {self.table} {name} {rule}" for rule in rules]

    def element(self, name: str, item: str) -> None:
        self.elements.setdefault(name, []).append(item)


def render(network: netprotocol.NetworkRun, cluster: str, node: str, *, gateway: str,
           existing: Existing | None = None, withheld: Iterable[str] = ()) -> str:
    """The ``nft -f`` script that makes the table what ``network`` says, in one transaction.

    ``gateway`` is where the node's DNS server answers; ``withheld`` the uids of this node's
    pods its supervisor took out; ``existing`` what the table holds (None: no table yet).
    """
    table = table_name(cluster)
    out = _Script(table)
    cluster_cidr = network.get("clusterCIDR") or network.get("podCIDR", "")
    _fixed_chains(out, network, cluster_cidr)
    dns_ip = network.get("dnsIP")
    if dns_ip:
        out.chain("dns", f"meta l4proto {{ tcp, udp }} dnat to {gateway}:53")
        for proto in ("tcp", "udp"):
            out.element("service-ips", f"{dns_ip} . {proto} . 53 : goto dns")
    hidden = set(withheld)
    for service in network.get("services", []):
        for port in service.get("ports", []):
            if service.get("clusterIP"):
                _service_port(out, service, port, node, cluster_cidr, hidden)
    return _transaction(out, existing or Existing(), cluster, network.get("nodeAddresses"))


def _fixed_chains(out: _Script, network: netprotocol.NetworkRun, cluster_cidr: str) -> None:
    out.chain("nat-prerouting", "jump services")
    out.chain("nat-output", "jump services")
    out.chain("nat-postrouting", "jump masquerading")
    nodeports = ("ip daddr @nodeport-ips" if network.get("nodeAddresses")
                 else "fib daddr type local ip daddr != 127.0.0.0/8")
    out.chain("services", "ip daddr . meta l4proto . th dport vmap @service-ips",
              f"{nodeports} meta l4proto . th dport vmap @service-nodeports")
    out.chain("filter-input", "ct state new jump endpoints-check",
              f"ct state new {nodeports} meta l4proto . th dport vmap @no-endpoint-nodeports")
    out.chain("filter-forward", "ct state new jump endpoints-check")
    out.chain("filter-output", "ct state new jump endpoints-check")
    out.chain("endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services")
    out.chain("reject-chain", "reject")
    out.chain("mark-for-masquerade", f"meta mark set meta mark | {MASQ_MARK}")
    masquerading = [f"meta mark & {MASQ_MARK} != 0 meta mark set meta mark ^ {MASQ_MARK} "
                    "masquerade"]
    if cluster_cidr:
        masquerading.append(f"ip saddr {cluster_cidr} ip daddr {cluster_cidr} snat to ip saddr")
        if network.get("podCIDR"):
            masquerading.append(f"ip saddr {network['podCIDR']} ip daddr != {cluster_cidr} "
                                "masquerade")
    out.chain("masquerading", *masquerading)


def _service_port(out: _Script, service: netprotocol.ServiceRun, port: netprotocol.ServicePortRun,
                  node: str, cluster_cidr: str, withheld: set[str]) -> None:
    proto = port.get("protocol", "TCP").lower()
    name = port.get("name", "")
    ident = f"{service.get('namespace', 'default')}/{service.get('name', '')}/{proto}/" + (
        name or str(port.get("port")))
    key = _hash(ident)
    everywhere = usable(service.get("endpoints", []), name, withheld, node=None)
    here = usable(service.get("endpoints", []), name, withheld, node=node)
    seconds = (service.get("affinitySeconds", DEFAULT_AFFINITY_SECONDS)
               if service.get("sessionAffinity") == "ClientIP" else 0)
    local = "Local" in (service.get("internalTrafficPolicy"), service.get("externalTrafficPolicy"))
    every = _balance(out, f"all-{key}-{ident}", everywhere, proto, key, seconds)
    own = _balance(out, f"loc-{key}-{ident}", here if local else [], proto, key, seconds)
    masquerade_outside = f"ip saddr != {cluster_cidr} jump mark-for-masquerade" \
        if cluster_cidr else "jump mark-for-masquerade"
    internal = own if service.get("internalTrafficPolicy") == "Local" else every
    vip_key = f"{service['clusterIP']} . {proto} . {port['port']}"
    if internal:
        out.chain(f"svc-{key}-{ident}", masquerade_outside, f"goto {internal}")
        out.element("service-ips", f"{vip_key} : goto svc-{key}-{ident}")
    else:
        out.element("no-endpoint-services", f"{vip_key} : {_refusal(everywhere)}")
    _external(out, service, port, f"ext-{key}-{ident}", every, own, cluster_cidr)


def _external(out: _Script, service: netprotocol.ServiceRun, port: netprotocol.ServicePortRun,
              chain: str, every: str, own: str, cluster_cidr: str) -> None:
    """NodePort, LoadBalancer and external IPs: the ``ext-`` chain and its entries, or a
    refusal when the Service has no usable endpoint anywhere."""
    proto = port.get("protocol", "TCP").lower()
    entries = [("service-ips", "no-endpoint-services", f"{address} . {proto} . {port['port']}")
               for address in [*service.get("loadBalancerIPs", []),
                               *service.get("externalIPs", [])]]
    if port.get("nodePort"):
        entries.append(("service-nodeports", "no-endpoint-nodeports",
                        f"{proto} . {port['nodePort']}"))
    for found, refused, item in entries:
        if every:
            out.element(found, f"{item} : goto {chain}")
        else:
            out.element(refused, f"{item} : goto reject-chain")
    if not entries or not every:
        return
    if service.get("externalTrafficPolicy") != "Local":
        out.chain(chain, "jump mark-for-masquerade", f"goto {every}")
        return
    # Pods and the node itself get every endpoint (kube-proxy's short circuit); a client
    # from outside only this node's, its address kept (dropped when this node has none).
    rules = [f"ip saddr {cluster_cidr} goto {every}"] if cluster_cidr else []
    rules += ["fib saddr type local jump mark-for-masquerade",
              f"fib saddr type local goto {every}", f"goto {own}" if own else "drop"]
    out.chain(chain, *rules)


def _refusal(anywhere: list[tuple[netprotocol.EndpointRun, int]]) -> str:
    """No endpoint here: refused at once when there is none at all, dropped when there are
    some on other nodes but the traffic policy keeps to this one (kube-proxy's rule)."""
    return "drop" if anywhere else "goto reject-chain"


def usable(endpoints: list[netprotocol.EndpointRun], port_name: str, withheld: set[str], *,
           node: str | None) -> list[tuple[netprotocol.EndpointRun, int]]:
    """The endpoints traffic may go to, with their port: the ready ones, else the serving
    and terminating ones (kube-proxy's CategorizeEndpoints), ``node``'s only when given."""
    candidates = [(ep, ep["ports"][port_name]) for ep in endpoints
                  if port_name in ep.get("ports", {}) and ep.get("ip")
                  and (node is None or ep.get("node") == node)
                  and ep.get("podUID") not in withheld]
    ready = [c for c in candidates if c[0].get("ready")]
    if ready:
        return ready
    return [c for c in candidates if c[0].get("serving") and c[0].get("terminating")]


def _balance(out: _Script, chain: str, endpoints: list[tuple[netprotocol.EndpointRun, int]],
             proto: str, key: str, affinity_seconds: int) -> str:
    """The chain spreading over ``endpoints`` (and their endpoint chains); "" when none."""
    if not endpoints:
        return ""
    rules: list[str] = []
    targets: list[str] = []
    for endpoint, target_port in sorted(endpoints, key=lambda e: (e[0]["ip"], e[1])):
        address = f"{endpoint['ip']}:{target_port}"
        ep_key = _hash(f"{key}/{address}/{affinity_seconds}")
        ep_chain = f"ep-{ep_key}-{endpoint['ip']}/{target_port}"
        targets.append(ep_chain)
        ep_rules = [f"ip saddr {endpoint['ip']} jump mark-for-masquerade"]
        if affinity_seconds:
            affinity = f"affinity-{ep_key}"
            out.sets[affinity] = (f"type ipv4_addr; flags dynamic,timeout; "
                                  f"timeout {affinity_seconds}s;")
            rules.append(f"ip saddr @{affinity} goto {ep_chain}")
            ep_rules.append(f"update @{affinity} {{ ip saddr }}")
        ep_rules.append(f"meta l4proto {proto} dnat to {address}")
        if ep_chain not in out.chains:
            out.chain(ep_chain, *ep_rules)
    if len(targets) == 1:
        rules.append(f"goto {targets[0]}")
    else:
        spread = ", ".join(f"{i} : goto {t}" for i, t in enumerate(targets))
        rules.append(f"numgen random mod {len(targets)} vmap {{ {spread} }}")
    if chain not in out.chains:
        out.chain(chain, *rules)
    return chain


def _transaction(out: _Script, existing: Existing, cluster: str,
                 node_addresses: list[str] | None) -> str:
    table = out.table
    base = {name: (kind, hook, priority) for name, kind, hook, priority in BASE_CHAINS}
    lines = [f'add table ip {table} {{ comment "gitkube cluster {cluster}: Services, '
             'written whole by its agent; changes here are lost"; }']
    # Empty everything first, so nothing still refers to what is deleted next.
    lines += [f"flush chain ip {table} {name}" for name in sorted(existing.chains)]
    lines += [f"flush map ip {table} {name}" for name in sorted(existing.maps)]
    if "nodeport-ips" in existing.sets:
        lines.append(f"flush set ip {table} nodeport-ips")
    wanted_sets = {*out.sets, "nodeport-ips"}
    lines += [f"delete chain ip {table} {name}"
              for name in sorted(existing.chains - set(out.chains))]
    lines += [f"delete set ip {table} {name}" for name in sorted(existing.sets - wanted_sets)]
    lines += [f"delete map ip {table} {name}" for name in sorted(existing.maps - set(_MAPS))]
    for name in out.chains:
        if name in base:
            kind, hook, priority = base[name]
            lines.append(f"add chain ip {table} {name} {{ type {kind} hook {hook} "
                         f"priority {priority}; policy accept; }}")
        else:
            lines.append(f"add chain ip {table} {name}")
    lines += [f"add map ip {table} {name} {{ type {kind}; }}" for name, kind in _MAPS.items()]
    lines.append(f"add set ip {table} nodeport-ips {{ type ipv4_addr; }}")
    lines += [f"add set ip {table} {name} {{ {spec} }}" for name, spec in sorted(out.sets.items())]
    lines += out.lines
    if node_addresses:
        out.elements["nodeport-ips"] = list(node_addresses)
    for name, items in out.elements.items():
        lines.append(f"add element ip {table} {name} {{ {', '.join(items)} }}")
    return "\n".join(lines) + "\n"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]

