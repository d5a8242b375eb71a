"""The request's ``network`` checked before any of it reaches ``nft``, ``ip`` or a DNS answer.

Names, addresses and ports of a ``NetworkRun`` end up inside an nftables script and in argv
on the node, so only plain values pass: DNS labels for names, parsed IPv4 addresses and
networks, ports in 1-65535, TCP or UDP. ``check`` raises ``ValueError`` with a sentence
naming the field (the handler answers it as a bad request: sending it again will not help).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from . import netprotocol

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?|")
_DOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_NODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,252}")
_UID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def check(network: Any) -> netprotocol.NetworkRun:
    if not isinstance(network, dict):
        raise ValueError("'network' must be an object (the protocol's NetworkRun).")
    if not network.get("podCIDR"):
        raise ValueError("network.podCIDR is required: the node's pod subnet.")
    for field in ("podCIDR", "clusterCIDR", "serviceCIDR"):
        if field in network:
            _cidr(network[field], f"network.{field}")
    if "dnsIP" in network:
        _address(network["dnsIP"], "network.dnsIP")
    if "clusterDomain" in network:
        _match(_DOMAIN, network["clusterDomain"], "network.clusterDomain")
    for index, address in enumerate(_list(network, "nodeAddresses", "network")):
        _address(address, f"network.nodeAddresses[{index}]")
    for index, route in enumerate(_list(network, "routes", "network")):
        where = f"network.routes[{index}]"
        _match(_NODE, _get(route, "node", where), f"{where}.node")
        _cidr(_get(route, "podCIDR", where), f"{where}.podCIDR")
        _address(_get(route, "via", where), f"{where}.via")
    for index, service in enumerate(_list(network, "services", "network")):
        _service(service, f"network.services[{index}]")
    return network  # type: ignore[return-value]


def _service(service: Any, where: str) -> None:
    for field in ("name", "namespace"):
        _match(_LABEL, _get(service, field, where), f"{where}.{field}")
    if service.get("type", "ClusterIP") not in ("ClusterIP", "NodePort", "LoadBalancer",
                                                "ExternalName"):
        raise ValueError(f"{where}.type {service.get('type')!r} is not a Service type.")
    if "clusterIP" in service:
        _address(service["clusterIP"], f"{where}.clusterIP")
    if "externalName" in service:
        _match(_DOMAIN, service["externalName"], f"{where}.externalName")
    for field in ("loadBalancerIPs", "externalIPs"):
        for index, address in enumerate(_list(service, field, where)):
            _address(address, f"{where}.{field}[{index}]")
    seconds = service.get("affinitySeconds", 1)
    if not isinstance(seconds, int) or not 1 <= seconds <= 86400:
        raise ValueError(f"{where}.affinitySeconds must be 1-86400 seconds, not {seconds!r}.")
    for index, port in enumerate(_list(service, "ports", where)):
        at = f"{where}.ports[{index}]"
        _match(_PORT_NAME, port.get("name", ""), f"{at}.name")
        if port.get("protocol", "TCP") not in ("TCP", "UDP"):
            raise ValueError(f"{at}.protocol must be TCP or UDP, not {port.get('protocol')!r}.")
        _port(_get(port, "port", at), f"{at}.port")
        if "nodePort" in port:
            _port(port["nodePort"], f"{at}.nodePort")
    for index, endpoint in enumerate(_list(service, "endpoints", where)):
        at = f"{where}.endpoints[{index}]"
        _address(_get(endpoint, "ip", at), f"{at}.ip")
        ports = endpoint.get("ports", {})
        if not isinstance(ports, dict):
            raise ValueError(f"{at}.ports must map port names to numbers.")
        for name, number in ports.items():
            _match(_PORT_NAME, name, f"{at}.ports key")
            _port(number, f"{at}.ports[{name!r}]")
        if "hostname" in endpoint:
            _match(_LABEL, endpoint["hostname"], f"{at}.hostname")
        if "podUID" in endpoint:
            _match(_UID, endpoint["podUID"], f"{at}.podUID")
        if "node" in endpoint:
            _match(_NODE, endpoint["node"], f"{at}.node")


def _get(item: Any, field: str, where: str) -> Any:
    if not isinstance(item, dict) or field not in item:
        raise ValueError(f"{where}.{field} is required.")
    return item[field]


def _list(item: dict[str, Any], field: str, where: str) -> list[Any]:
    value = item.get(field, [])
    if not isinstance(value, list):
        raise ValueError(f"{where}.{field} must be a list.")
    return value


def _match(pattern: re.Pattern[str], value: Any, where: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{where} {value!r} is not a plain name.")
    return value


def _address(value: Any, where: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except (ValueError, TypeError):
        raise ValueError(f"{where} {value!r} is not an IPv4 address.") from None


def _cidr(value: Any, where: str) -> None:
    try:
        ipaddress.IPv4Network(value)
    except (ValueError, TypeError):
        raise ValueError(f"{where} {value!r} is not an IPv4 network such as 10.244.0.0/16."
                         ) from None


def _port(value: Any, where: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise ValueError(f"{where} {value!r} is not a port (1-65535).")
