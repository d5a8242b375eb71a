"""The address plan of a whole revision: what no single manifest can see.

Third step of reading a revision, after ``manifests`` validated each document: a
Service's ``clusterIP`` must lie in the inventory's ``serviceCIDR`` (and not be its
network, broadcast or cluster DNS address), no two Services may ask for the same
cluster IP or NodePort, and neither range may overlap a network this machine is on.
Each problem names the file:line of the field, and the revision is refused as a whole.

The machine's networks are read from ``/proc/net/route`` (directly connected routes,
no gateway). Routes gitkube's own agent makes on a node that is this machine — a pod
subnet (a ``/nodeCIDRMaskSize`` inside ``clusterCIDR``) or the Service range itself — are
not conflicts and are left out.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

from gitkube import errors
from gitkube.api import errors as api_errors
from gitkube.api import inventory as api_inventory
from gitkube.api import meta, network, services
from gitkube.source import yamlload

PROC_ROUTE = Path("/proc/net/route")


def check_revision(
    objects: Sequence[meta.KubeObject], documents: Sequence[yamlload.Document],
    inventory: api_inventory.Inventory | None, inventory_docs: Sequence[yamlload.Document],
    host_networks: Iterable[tuple[str, str]],
) -> list[errors.Problem]:
    """Problems of the revision's Services and ranges; ``host_networks`` is (interface,
    CIDR) pairs of this machine (``read_host_networks``)."""
    settings = inventory.settings if inventory is not None else api_inventory.Settings()
    by_where = {doc.where: doc for doc in documents}
    problems: list[errors.Problem] = []
    for obj, issue in service_issues(objects, settings):
        doc = by_where.get(obj.metadata.annotations.get(meta.SOURCE_ANNOTATION, ""))
        if doc is not None:
            problems.append(_problem(doc, issue))
    if inventory is not None and inventory_docs:
        taken = [(f"network {cidr} of {iface} on this machine", cidr)
                 for iface, cidr in host_networks if not _made_by_gitkube(cidr, settings)]
        for issue in network.overlap_issues(settings.cluster_cidr, settings.service_cidr, taken):
            problems.append(_problem(inventory_docs[0], issue))
    return problems


def service_issues(objects: Iterable[meta.KubeObject], settings: api_inventory.Settings
                   ) -> list[tuple[meta.KubeObject, api_errors.FieldIssue]]:
    """Cluster IPs outside the range or asked for twice; NodePorts asked for twice."""
    found: list[tuple[meta.KubeObject, api_errors.FieldIssue]] = []
    ips: dict[str, str] = {}
    node_ports: dict[int, str] = {}
    reserved = _reserved(settings.service_cidr)
    for obj in objects:
        if not isinstance(obj, services.Service):
            continue
        spec, me = obj.spec, f"Service {obj.namespace}/{obj.name}"
        ip = spec.cluster_ip
        if ip and ip != services.NONE and spec.type != "ExternalName":
            problem = _cluster_ip_problem(ip, settings.service_cidr, reserved, ips.get(ip))
            if problem:
                found.append((obj, api_errors.FieldIssue("spec.clusterIP", problem)))
            ips.setdefault(ip, me)
        for i, port in enumerate(spec.ports):
            if port.node_port is None:
                continue
            owner = node_ports.setdefault(port.node_port, me)
            if owner != me:
                found.append((obj, api_errors.FieldIssue(
                    f"spec.ports[{i}].nodePort",
                    f"provided port is already allocated: {owner} asks for NodePort "
                    f"{port.node_port} too; a NodePort belongs to one Service")))
    return found


def _reserved(service_cidr: str) -> dict[str, str]:
    try:
        net = network.parse_cidr(service_cidr)
    except ValueError:
        return {}
    return {str(net.network_address): "the network address of serviceCIDR",
            str(net.broadcast_address): "the broadcast address of serviceCIDR",
            network.dns_service_ip(service_cidr): "the cluster DNS address"}


def _cluster_ip_problem(ip: str, service_cidr: str, reserved: dict[str, str],
                        owner: str | None) -> str:
    if not network.in_network(ip, service_cidr):
        return (f"{ip} is not in the Service range {service_cidr} (settings.serviceCIDR in "
                "inventory.yaml); leave clusterIP out to get one, or pick one in the range")
    if ip in reserved:
        return f"{ip} is reserved: it is {reserved[ip]}"
    if owner is not None:
        return (f"provided IP is already allocated: {owner} asks for {ip} too; a cluster IP "
                "belongs to one Service")
    return ""


def _made_by_gitkube(cidr: str, settings: api_inventory.Settings) -> bool:
    """A route gitkube's agent makes itself: a node's pod subnet or the Service range."""
    try:
        net = network.parse_cidr(cidr)
        pods = network.parse_cidr(settings.cluster_cidr)
    except ValueError:
        return False
    if cidr == settings.service_cidr:
        return True
    return (net.version == pods.version and net.prefixlen == settings.node_cidr_mask_size
            and net.subnet_of(pods))  # type: ignore[arg-type]


def _problem(doc: yamlload.Document, issue: api_errors.FieldIssue) -> errors.Problem:
    message = issue.message if issue.message.endswith(".") else issue.message + "."
    return errors.Problem(doc.path, doc.line_of(issue.path), message, issue.path)


def parse_proc_route(text: str) -> list[tuple[str, str]]:
    """(interface, CIDR) of the directly connected IPv4 routes in ``/proc/net/route``'s
    text: no gateway, not the default route."""
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        iface, destination, gateway, mask = fields[0], fields[1], fields[2], fields[7]
        if int(gateway, 16) != 0 or int(mask, 16) == 0:
            continue
        address = socket.inet_ntoa(struct.pack("<I", int(destination, 16)))
        netmask = socket.inet_ntoa(struct.pack("<I", int(mask, 16)))
        net = ipaddress.IPv4Network(f"{address}/{netmask}", strict=False)
        found.append((iface, str(net)))
    return found


def read_host_networks(path: Path = PROC_ROUTE) -> list[tuple[str, str]]:
    """This machine's connected networks; none where ``/proc`` is not there to read."""
    try:
        return parse_proc_route(path.read_text())
    except OSError:
        return []
