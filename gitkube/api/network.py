"""The cluster's address plan: pod and Service ranges, the DNS address, NodePorts.

``inventory.yaml``'s ``settings`` names two ranges, as kube-controller-manager and
kube-apiserver take them: ``clusterCIDR`` (pods; each node gets a ``/24`` of it, its
``spec.podCIDR``) and ``serviceCIDR`` (Services' virtual IPs). The cluster DNS answers
on the tenth address of ``serviceCIDR``, the address kubeadm gives ``kube-dns``
(10.96.0.10 by default), so that address is never given to another Service.

The rules here are pure (standard library ``ipaddress``); the planners of
``controllers/ipam.py`` allocate from these ranges and ``network_issues`` says what is
wrong with a range before anything is allocated from it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from gitkube.api import errors

DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"
DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
DEFAULT_CLUSTER_DOMAIN = "cluster.local"
#: kube-controller-manager's --node-cidr-mask-size default for IPv4.
DEFAULT_NODE_MASK = 24
#: kube-apiserver's --service-node-port-range default.
NODE_PORT_MIN, NODE_PORT_MAX = 30000, 32767
#: kubeadm's kube-dns Service sits at this offset of the Service range.
DNS_OFFSET = 10

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_cidr(text: str) -> Network:
    """``text`` as a network; ``ValueError`` with a sentence when it is not one."""
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a network in CIDR notation such as 10.96.0.0/12 "
                         f"({exc})") from None


def dns_service_ip(service_cidr: str) -> str:
    """The cluster DNS address: the tenth address of the Service range (kubeadm's rule)."""
    return str(parse_cidr(service_cidr)[DNS_OFFSET])


def in_network(address: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(address) in parse_cidr(cidr)
    except ValueError:
        return False


def range_issues(cluster_cidr: str, service_cidr: str, node_mask: int) -> list[errors.FieldIssue]:
    """What is wrong with the two ranges on their own and with each other."""
    issues: list[errors.FieldIssue] = []
    parsed: dict[str, Network] = {}
    for field, text in (("settings.clusterCIDR", cluster_cidr),
                        ("settings.serviceCIDR", service_cidr)):
        try:
            net = parse_cidr(text)
        except ValueError as exc:
            issues.append(errors.FieldIssue(field, str(exc)))
            continue
        if net.version != 4:
            issues.append(errors.FieldIssue(field, f"{text} is IPv6; gitkube's pod and Service "
                                                   "networks are IPv4 only"))
            continue
        parsed[field] = net
    pods = parsed.get("settings.clusterCIDR")
    services = parsed.get("settings.serviceCIDR")
    if pods is not None and not pods.prefixlen <= node_mask <= 30:
        issues.append(errors.FieldIssue("settings.nodeCIDRMaskSize", (
            f"must be between the prefix of clusterCIDR ({pods.prefixlen}) and 30, not "
            f"{node_mask}")))
    if services is not None and services.num_addresses < 16:
        issues.append(errors.FieldIssue("settings.serviceCIDR", (
            f"{services} is too small: it needs room for the cluster DNS address (the "
            f"{DNS_OFFSET}th) and Services; use a /28 or larger")))
    if pods is not None and services is not None and pods.overlaps(services):
        issues.append(errors.FieldIssue("settings.serviceCIDR", (
            f"{services} overlaps clusterCIDR {pods}; pod and Service addresses must not "
            "share a range")))
    return issues


def overlap_issues(cluster_cidr: str, service_cidr: str, taken: Iterable[tuple[str, str]]
                   ) -> list[errors.FieldIssue]:
    """Ranges that overlap a network already in use: ``taken`` is (what, address or CIDR)
    pairs such as ("node node-1's address", "192.168.1.10")."""
    issues: list[errors.FieldIssue] = []
    for field, text in (("settings.clusterCIDR", cluster_cidr),
                        ("settings.serviceCIDR", service_cidr)):
        try:
            net = parse_cidr(text)
        except ValueError:
            continue  # range_issues says so
        for what, used in taken:
            try:
                other = ipaddress.ip_network(used, strict=False)
            except ValueError:
                continue  # a hostname, not an address: nothing to compare
            if other.version == net.version and net.overlaps(other):
                issues.append(errors.FieldIssue(field, (
                    f"{net} overlaps {what} ({used}); choose a range no machine of the "
                    "cluster is on")))
    return issues
