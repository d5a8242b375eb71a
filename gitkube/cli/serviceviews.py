"""``gitkube get services|endpointslices`` and ``describe service``: kubectl's columns and layout.

kubectl prints a Service as NAME, TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), AGE (``-o wide``
adds SELECTOR) and an EndpointSlice as NAME, ADDRESSTYPE, PORTS, ENDPOINTS, AGE; these
rows are the same, read from stored objects. ``describe service`` is kubectl's, plus what
kubectl cannot say: which selected pods get no traffic, and why (not Ready, terminating,
no address yet, no container port of that name).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from gitkube.api import discovery, services
from gitkube.cli import render
from gitkube.cli.render import NONE

SERVICE_COLUMNS = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
SERVICE_WIDE = ["SELECTOR"]
SLICE_COLUMNS = ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
#: kubectl lists three ports or addresses, then "+ N more...".
_LISTED = 3
#: The width of describe's labels ("External Traffic Policy:" and its padding).
_WIDTH = 26


def cluster_ip(svc: services.Service) -> str:
    if svc.spec.type == "ExternalName":
        return NONE
    return svc.spec.cluster_ip or NONE


def external_ip(svc: services.Service) -> str:
    """kubectl's EXTERNAL-IP: the name of an ExternalName, a LoadBalancer's ingress (or
    <pending> until it has one), <none> otherwise."""
    if svc.spec.type == "ExternalName":
        return svc.spec.external_name or NONE
    if svc.spec.type == "LoadBalancer":
        ingress = [i.ip or i.hostname or "" for i in svc.status.load_balancer.ingress]
        return ",".join(i for i in ingress if i) or "<pending>"
    return NONE


def ports(svc: services.Service) -> str:
    """``80/TCP``, ``80:30080/TCP`` for a NodePort, comma-separated."""
    shown = [f"{p.port}:{p.node_port}/{p.protocol}" if p.node_port else f"{p.port}/{p.protocol}"
             for p in svc.spec.ports]
    return ",".join(shown) or NONE


def selector(svc: services.Service) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(svc.spec.selector.items())) or NONE


def service_row(svc: services.Service, now: dt.datetime) -> list[str]:
    return [svc.name, svc.spec.type, cluster_ip(svc), external_ip(svc), ports(svc),
            render.age(svc.metadata.creation_timestamp, now)]


def service_wide(svc: services.Service, now: dt.datetime) -> list[str]:
    return [selector(svc)]


def _listed(values: Sequence[str]) -> str:
    if len(values) > _LISTED:
        return f"{','.join(values[:_LISTED])} + {len(values) - _LISTED} more..."
    return ",".join(values) or "<unset>"


def slice_row(slice_: discovery.EndpointSlice, now: dt.datetime) -> list[str]:
    port_texts = [str(p.port) if p.port is not None else (p.name or "*") for p in slice_.ports]
    addresses = [a for e in slice_.endpoints for a in e.addresses]
    return [slice_.name, slice_.address_type, _listed(port_texts), _listed(addresses),
            render.age(slice_.metadata.creation_timestamp, now)]


# -- describe service -----------------------------------------------------------------------


def _field(label: str, value: object) -> str:
    shown = value if value not in (None, "") else NONE
    return f"{label + ':':<{_WIDTH}}{shown}"


def _map(values: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(values.items())) or NONE


def _port_lines(svc: services.Service, slices: Sequence[discovery.EndpointSlice]) -> list[str]:
    lines = []
    for port in svc.spec.ports:
        name = port.name or "<unset>"
        lines.append(_field("Port", f"{name}  {port.port}/{port.protocol}"))
        lines.append(_field("TargetPort", f"{port.target_port}/{port.protocol}"))
        if port.node_port:
            lines.append(_field("NodePort", f"{name}  {port.node_port}/{port.protocol}"))
        ready = [f"{e.addresses[0]}:{p.port}" for s in slices for p in s.ports
                 if (p.name or "") == (port.name or "") and p.protocol == port.protocol
                 for e in s.endpoints if e.addresses and e.conditions.ready is not False]
        lines.append(_field("Endpoints", _listed(ready) if ready else ""))
    return lines


def describe_service(svc: services.Service, slices: Iterable[discovery.EndpointSlice],
                     traffic: Sequence[tuple[str, str]] | str) -> list[str]:
    """kubectl's ``describe service``, then the selected pods that get no traffic and why:
    ``traffic`` is (pod, reason) rows, or a sentence when there are none."""
    spec, mine = svc.spec, list(slices)
    lines = [_field("Name", svc.name), _field("Namespace", svc.namespace),
             _field("Labels", _map(svc.metadata.labels)),
             _field("Annotations", _map(svc.metadata.annotations)),
             _field("Selector", _map(spec.selector)), _field("Type", spec.type)]
    if spec.type == "ExternalName":
        lines.append(_field("External Name", spec.external_name))
    else:
        lines += [_field("IP Family Policy", spec.ip_family_policy),
                  _field("IP Families", ",".join(spec.ip_families)),
                  _field("IP", spec.cluster_ip), _field("IPs", ",".join(spec.cluster_ips))]
    ingress = [i.ip or i.hostname for i in svc.status.load_balancer.ingress]
    if spec.type == "LoadBalancer":
        lines.append(_field("LoadBalancer Ingress", ", ".join(i for i in ingress if i)))
    lines += _port_lines(svc, mine)
    lines.append(_field("Session Affinity", spec.session_affinity))
    if spec.session_affinity_config and spec.session_affinity_config.client_ip:
        lines.append(_field("Session Affinity Timeout",
                            f"{spec.session_affinity_config.client_ip.timeout_seconds}s"))
    if spec.external_traffic_policy:
        lines.append(_field("External Traffic Policy", spec.external_traffic_policy))
    if spec.internal_traffic_policy:
        lines.append(_field("Internal Traffic Policy", spec.internal_traffic_policy))
    if spec.publish_not_ready_addresses:
        lines.append(_field("Publish Not Ready", "true"))
    if isinstance(traffic, str):
        return [*lines, _field("Pods", traffic)]
    table = render.format_table(["POD", "WHY IT GETS NO TRAFFIC"],
                                [[pod, reason] for pod, reason in traffic])
    return [*lines, "Pods without traffic:", *("  " + line for line in table.splitlines())]
