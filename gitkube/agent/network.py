"""The node's share of the cluster network, made real: pod network, routes, Services, DNS.

The handler calls ``apply`` with the request's ``NetworkRun`` before it converges pods (and
on observe); the node's supervisor calls ``withhold`` when one of its pods' readiness fails.
What it does on the node, all of it idempotent and kept in force by the kernel (no process
of gitkube needs to run for traffic to flow):

- the cluster's pod network ``gitkube-<cluster>`` on the node's ``podCIDR``, made by the
  runtime (``Runtime.pod_network``: podman's DNS off, the cluster DNS answers instead),
  which the runtime attaches pods to;
- IPv4 forwarding on, a route to every other node's pod subnet via that node (host-gw), and,
  when the node has no route to ``serviceCIDR`` at all, one to its main interface so a packet
  to a virtual IP reaches the rules (kube-proxy relies on a default route for that). Routes
  are tagged ``proto`` ``ROUTE_PROTO``; only those inside this cluster's ranges are removed;
- the Services: ``nftables.render``'s transaction in one ``nft -f`` (the cluster's table only);
- the DNS records (``dnszone``), which the node's DNS server (``dnsserver``) reloads at once.

``network.json`` in the state directory keeps the NetworkRun in force (with its hash and the
pods withheld), so the supervisor and the DNS server read what the control plane last said.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import netprotocol, nftables
from .runtimes import base

STATE_FILE = "network.json"
#: The routing protocol number on gitkube's routes (iproute2's ``proto``), so they are told
#: apart from everyone else's.
ROUTE_PROTO = "152"
_FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")
#: The bridges podman makes for its networks (netavark's and CNI's names).
_PODMAN_BRIDGES = ("podman", "cni-")

class NetworkFailure(Exception):
    """A command that programs the node's network failed (a sentence naming the node)."""


def gateway(pod_cidr: str) -> str:
    """The pod network's first address: the node's side of it, where its DNS answers."""
    return str(next(ipaddress.ip_network(pod_cidr).hosts()))


def digest(network: netprotocol.NetworkRun) -> str:
    return hashlib.sha256(json.dumps(network, sort_keys=True).encode()).hexdigest()


def read_state(state_dir: Path) -> dict[str, Any]:
    try:
        loaded = json.loads((state_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _write_state(state_dir: Path, record: dict[str, Any]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    partial = state_dir / f".{STATE_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(record, sort_keys=True))
    os.replace(partial, state_dir / STATE_FILE)


def apply(network: netprotocol.NetworkRun, *, cluster: str, node: str, state_dir: Path,
          runtime: base.Runtime, withheld: Iterable[str] | None = None
          ) -> tuple[netprotocol.NetworkReport, bool]:
    """Make the node's networking what ``network`` says; (the report, whether anything had
    to change). An unchanged network costs one ``nft`` listing.

    ``withheld`` (pod uids) replaces the supervisor's set; None keeps the one in force.
    """
    before = read_state(state_dir)
    hidden = sorted(before.get("withheld", []) if withheld is None else set(withheld))
    hidden = [uid for uid in hidden if _local_uid(network, node, uid)]
    wanted = {"hash": digest(network), "withheld": hidden}
    table = nftables.table_name(cluster)
    listing = _run(["nft", "-j", "list", "table", "ip", table], node, check=False)
    changed = listing is None or any(before.get(k) != v for k, v in wanted.items())
    if not changed:
        return report(network, hidden, list(before.get("errors", []))), False
    subnet = network["podCIDR"]
    errors = runtime.pod_network(cluster, subnet, gateway(subnet)) + _routes(network, node)
    existing = nftables.parse_listing(listing) if listing else None
    script = nftables.render(network, cluster, node, gateway=gateway(network["podCIDR"]),
                             existing=existing, withheld=hidden)
    _run(["nft", "-f", "-"], node, stdin=script)
    _write_state(state_dir, {**wanted, "network": network, "errors": errors})
    return report(network, hidden, errors), True


def withhold(state_dir: Path, *, cluster: str, node: str, runtime: base.Runtime,
             unready: Iterable[str]) -> list[str] | None:
    """The supervisor's part: take this node's pods ``unready`` (uids) out of its rules.

    Only pods the control plane sent as ready count; returns the withheld uids when that
    set changed (and the rules with it), else None."""
    record = read_state(state_dir)
    network: netprotocol.NetworkRun | None = record.get("network")
    if not network:
        return None
    ready_here = {ep.get("podUID") for svc in network.get("services", [])
                  for ep in svc.get("endpoints", [])
                  if ep.get("node") == node and (ep.get("ready") or ep.get("serving"))}
    hidden = sorted(set(unready) & ready_here)
    if hidden == record.get("withheld", []):
        return None
    apply(network, cluster=cluster, node=node, state_dir=state_dir, runtime=runtime,
          withheld=hidden)
    return hidden


def report(network: netprotocol.NetworkRun, hidden: list[str],
           errors: list[str]) -> netprotocol.NetworkReport:
    uids = {ep.get("podUID"): ep.get("pod", "") for svc in network.get("services", [])
            for ep in svc.get("endpoints", [])}
    out = netprotocol.NetworkReport(hash=digest(network), podCIDR=network.get("podCIDR", ""),
                                 dnsAddress=gateway(network["podCIDR"]))
    if hidden:
        out["withheld"] = sorted(uids.get(uid) or uid for uid in hidden)
    if errors:
        out["errors"] = errors
    return out


def _local_uid(network: netprotocol.NetworkRun, node: str, uid: str) -> bool:
    return any(ep.get("podUID") == uid and ep.get("node") == node
               for svc in network.get("services", []) for ep in svc.get("endpoints", []))


def _routes(network: netprotocol.NetworkRun, node: str) -> list[str]:
    if _FORWARDING.read_text().strip() != "1":
        _FORWARDING.write_text("1\n")
    errors: list[str] = []
    wanted: dict[str, list[str]] = {}
    for route in network.get("routes", []):
        hop = _route_to(route["via"], node)
        if hop is None or hop.get("gateway"):
            errors.append(
                f"{node} cannot reach {route['node']}'s address {route['via']} directly, so "
                f"{route['node']}'s pods ({route['podCIDR']}) are unreachable from here: "
                "host-gw routing needs the nodes on one network.")
            continue
        wanted[route["podCIDR"]] = ["via", route["via"]]
    ours = {r.get("dst", ""): r for r in json.loads(
        _run(["ip", "-j", "route", "show", "proto", ROUTE_PROTO], node) or "[]")}
    service_cidr = network.get("serviceCIDR")
    if service_cidr:
        first = str(next(ipaddress.ip_network(service_cidr).hosts()))
        if service_cidr in ours or _route_to(first, node) is None:
            device = _main_interface(network, node)
            if device:
                wanted[service_cidr] = ["dev", device]
    ranges = [c for c in (network.get("clusterCIDR"), service_cidr) if c]
    for dst in ours:
        if dst not in wanted and any(_within(dst, r) for r in ranges):
            _run(["ip", "route", "del", dst, "proto", ROUTE_PROTO], node, check=False)
    for dst, how in wanted.items():
        _run(["ip", "route", "replace", dst, *how, "proto", ROUTE_PROTO], node)
    return errors


def bridge_mac(gateway: str) -> str:
    """The pod network bridge's fixed address: locally administered, from the gateway's."""
    return "02:6b:" + ":".join(f"{int(part):02x}" for part in gateway.split("."))


def hold_bridge(device: str, gateway: str, subnet: str, node: str) -> list[str]:
    """Make the pod network's bridge ``device`` before podman does and keep it.

    A Linux bridge takes the lowest address of its ports unless one is set, so with
    podman's own bridge its address changes as pods come and go, and a pod that learnt the
    old one (its gateway's) loses the cluster until its ARP entry expires. A set address
    stays; a port of gitkube's (a veth whose peer is unused) keeps podman from deleting the
    bridge with its last pod (and a new one, with a new address, coming with the next)."""
    mac = bridge_mac(gateway)
    shown = json.loads(_run(["ip", "-j", "link", "show", "dev", device], node, check=False)
                       or "[]")
    if not shown:
        _run(["ip", "link", "add", device, "type", "bridge"], node)
    if not shown or shown[0].get("address") != mac:
        _run(["ip", "link", "set", "dev", device, "address", mac], node)
    prefix = ipaddress.ip_network(subnet).prefixlen
    _run(["ip", "addr", "replace", f"{gateway}/{prefix}", "dev", device], node)
    _run(["ip", "link", "set", "dev", device, "up"], node)
    hold = f"gkhold-{device}"[:15]
    if not _run(["ip", "-j", "link", "show", "dev", hold], node, check=False):
        _run(["ip", "link", "add", hold, "type", "veth", "peer", "name",
              f"gkpeer-{device}"[:15]], node)
        _run(["ip", "link", "set", "dev", hold, "master", device, "up"], node)
    return []


def _route_to(address: str, node: str) -> dict[str, Any] | None:
    text = _run(["ip", "-j", "route", "get", address], node, check=False)
    routes = json.loads(text) if text else []
    return routes[0] if routes else None


def _main_interface(network: netprotocol.NetworkRun, node: str) -> str:
    """Where a virtual IP's packets go when nothing else routes them: the interface towards
    the other nodes, else the one holding the node's (first) address."""
    for route in network.get("routes", []):
        hop = _route_to(route["via"], node)
        if hop and hop.get("dev"):
            return str(hop["dev"])
    named = set(network.get("nodeAddresses", []))
    for device, address in _own_addresses(node):
        if not named or address in named:
            return device
    return ""


def _own_addresses(node: str) -> list[tuple[str, str]]:
    """(interface, address) of the node's global IPv4 addresses but podman's bridges (its
    networks' gateways): the default route's interface first, other bridges last."""
    links = json.loads(_run(["ip", "-d", "-j", "-4", "addr", "show", "scope", "global"], node,
                            check=False) or "[]")
    default = json.loads(_run(["ip", "-j", "route", "show", "default"], node,
                              check=False) or "[]")
    first = default[0].get("dev") if default else None
    found: list[tuple[int, str, str]] = []
    for link in links:
        name = str(link.get("ifname"))
        bridge = link.get("linkinfo", {}).get("info_kind") == "bridge"
        if bridge and name.startswith(_PODMAN_BRIDGES):
            continue
        rank = 0 if name == first else 2 if bridge else 1
        found += [(rank, name, str(info.get("local"))) for info in link.get("addr_info", [])]
    return [(name, address) for _, name, address in sorted(found, key=lambda f: f[0])]


def addresses() -> list[str]:
    """The node's own IPv4 addresses (NodeFacts.addresses), the default route's first."""
    return [address for _, address in _own_addresses("the node")]


def _within(cidr: str, outer: str) -> bool:
    try:
        return ipaddress.ip_network(cidr).subnet_of(ipaddress.ip_network(outer))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False


def _run(argv: list[str], node: str, *, stdin: str = "", check: bool = True) -> str | None:
    """A command's stdout; None when it failed and ``check`` is off."""
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60,
                              check=False)
    except FileNotFoundError as exc:
        raise NetworkFailure(f"{argv[0]} is not installed on {node}; install nftables and "
                             "iproute2 there.") from exc
    except subprocess.TimeoutExpired as exc:
        raise NetworkFailure(f"'{' '.join(argv[:3])}' did not finish on {node} within 60 s.") \
            from exc
    if done.returncode != 0:
        if not check:
            return None
        raise NetworkFailure(f"'{' '.join(argv[:4])}' failed on {node}: "
                             f"{done.stderr.strip()[-600:] or done.returncode}")
    return done.stdout
