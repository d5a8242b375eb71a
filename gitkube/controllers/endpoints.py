"""Which pods stand behind a Service, and on which ports: Kubernetes' rules, per pod.

Half of the EndpointSlice controller (``endpointslices`` packs the result into slices).
The rules are those of Kubernetes' ``DesiredEndpointSlicesFromServicePods`` and
``podToEndpoint``:

- a pod of the Service's namespace whose labels match its selector is an endpoint once
  it has an address and while it is not Succeeded or Failed;
- ``serving`` is the pod's Ready condition, ``terminating`` its deletionTimestamp, and
  ``ready`` is serving and not terminating — or always true when the Service sets
  ``publishNotReadyAddresses``. The nodes balance traffic over the ready endpoints only,
  so a pod that fails its readiness probe or is being deleted stops getting traffic;
- a pod bound to a node the cluster does not know is left out (unless the Service
  publishes not-ready addresses);
- a ``targetPort`` given by name is the number of the container port with that name and
  the port's protocol, looked up per pod (pods of one Service may differ); a pod without
  it has no such port, and pods are grouped by the ports they resolve to;
- ``hostname`` is set when the pod's ``subdomain`` is the Service's name (DNS records of
  StatefulSet-style pods).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gitkube.api import core, discovery, podstate, services

#: Node label giving an endpoint its zone (topology.kubernetes.io/zone).
ZONE_LABEL = "topology.kubernetes.io/zone"

#: (name, protocol, port) of each resolved port, in the Service's order.
PortKey = tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class PodNote:
    """Why a selected pod is not an endpoint, or not on every port (``describe service``)."""

    pod: str
    reason: str
    #: False: the pod is an endpoint, without some of the Service's ports.
    excluded: bool = True


def selects(svc: services.Service, pod: core.Pod) -> bool:
    selector = svc.spec.selector
    return (pod.namespace == svc.namespace and bool(selector)
            and all(pod.metadata.labels.get(k) == v for k, v in selector.items()))


def manages_endpoints(svc: services.Service) -> bool:
    """Kubernetes manages slices for Services with a selector, ExternalName excepted."""
    return bool(svc.spec.selector) and svc.spec.type != "ExternalName"


def desired_endpoints(
    svc: services.Service, pods: Iterable[core.Pod], nodes: dict[str, dict[str, str]],
) -> tuple[dict[PortKey, list[discovery.Endpoint]], list[PodNote]]:
    """The endpoints of ``svc`` grouped by resolved ports (in the order of ``pods``), and
    the selected pods left out. ``nodes``: node name → its labels, for the nodes the
    cluster knows."""
    grouped: dict[PortKey, list[discovery.Endpoint]] = {}
    left_out: list[PodNote] = []
    for pod in pods:
        if not selects(svc, pod):
            continue
        why = _exclusion(svc, pod, nodes)
        if why:
            left_out.append(PodNote(pod.name, why))
            continue
        ports, missing = resolve_ports(svc, pod)
        if missing:
            left_out.append(PodNote(pod.name, missing, excluded=False))
        node = nodes.get(pod.spec.node_name or "")
        grouped.setdefault(ports, []).append(pod_endpoint(svc, pod, node))
    return grouped, left_out


def _exclusion(svc: services.Service, pod: core.Pod, nodes: dict[str, dict[str, str]]) -> str:
    if podstate.is_terminal(pod):
        return f"the pod is {pod.status.phase}"
    if not pod.status.pod_ip:
        return "the pod has no IP address yet"
    node = pod.spec.node_name or ""
    if node not in nodes and not svc.spec.publish_not_ready_addresses:
        return f"its node {node or '(none)'} is not a node of the cluster"
    return ""


def not_ready_reason(svc: services.Service, pod: core.Pod) -> str:
    """Why an endpoint of ``pod`` is not ready ('' when it is): no traffic goes to it."""
    if svc.spec.publish_not_ready_addresses:
        return ""
    if pod.metadata.deletion_timestamp:
        return "the pod is terminating"
    if not podstate.is_ready(pod):
        cond = pod.status.condition("Ready")
        detail = f" ({cond.reason})" if cond is not None and cond.reason else ""
        return f"the pod is not Ready{detail}"
    return ""


def resolve_ports(svc: services.Service, pod: core.Pod) -> tuple[PortKey, str]:
    """The Service's ports as ``pod`` serves them, and a sentence for the ones it lacks."""
    resolved: list[tuple[str, str, int]] = []
    missing: list[str] = []
    for port in svc.spec.ports:
        target = port.target_port if port.target_port is not None else port.port
        if isinstance(target, int):
            resolved.append((port.name or "", port.protocol, target))
            continue
        number = next((p.container_port for c in pod.spec.containers for p in c.ports
                       if p.name == target and p.protocol == port.protocol), None)
        if number is None:
            missing.append(f"{target}/{port.protocol}")
        else:
            resolved.append((port.name or "", port.protocol, number))
    why = (f"the pod has no container port named {' or '.join(missing)}, so that port of the "
           "Service does not reach it" if missing else "")
    return tuple(resolved), why


def pod_endpoint(svc: services.Service, pod: core.Pod, node_labels: dict[str, str] | None
                 ) -> discovery.Endpoint:
    serving = podstate.is_ready(pod)
    terminating = pod.metadata.deletion_timestamp is not None
    ready = bool(svc.spec.publish_not_ready_addresses) or (serving and not terminating)
    spec = pod.spec
    hostname = (spec.hostname if spec.hostname and spec.subdomain == svc.name
                and pod.namespace == svc.namespace else None)
    # Built without validation (model_construct): every value comes from validated objects,
    # and this runs for every endpoint of every Service in every round of a pass.
    return discovery.Endpoint.model_construct(
        addresses=[pod.status.pod_ip or ""],
        conditions=discovery.EndpointConditions.model_construct(
            ready=ready, serving=serving, terminating=terminating),
        hostname=hostname,
        target_ref=discovery.ObjectReference.model_construct(
            kind="Pod", namespace=pod.metadata.namespace, name=pod.metadata.name,
            uid=pod.metadata.uid),
        node_name=spec.node_name,
        zone=(node_labels or {}).get(ZONE_LABEL),
    )


def port_key_of(slice_: discovery.EndpointSlice) -> PortKey:
    return tuple((p.name or "", p.protocol or "TCP", p.port or 0) for p in slice_.ports)


def endpoint_ports(key: PortKey, svc: services.Service) -> list[discovery.EndpointPort]:
    app: dict[tuple[str, str], str | None] = {
        (p.name or "", p.protocol): p.app_protocol for p in svc.spec.ports}
    return [discovery.EndpointPort.model_validate({
        "name": name, "protocol": protocol, "port": number,
        "appProtocol": app.get((name, protocol))}) for name, protocol, number in key]


def explain(svc: services.Service, pods: Iterable[core.Pod], nodes: dict[str, dict[str, str]]
            ) -> list[PodNote] | str:
    """Why selected pods get no traffic (or not on every port), by pod name; a sentence
    instead when there is nothing to list (``describe service`` prints either)."""
    if services.is_cluster_dns(svc):
        return "the cluster DNS: every node's gitkube agent answers on its address, no pod does"
    if not manages_endpoints(svc):
        return ("an ExternalName Service has no endpoints" if svc.spec.type == "ExternalName"
                else "the Service has no selector: gitkube manages no endpoints for it")
    selected = [p for p in sorted(pods, key=lambda p: p.name) if selects(svc, p)]
    if not selected:
        wanted = ",".join(f"{k}={v}" for k, v in sorted(svc.spec.selector.items()))
        return f"none match the selector {wanted}"
    _, notes = desired_endpoints(svc, selected, nodes)
    excluded = {n.pod for n in notes if n.excluded}
    notes += [PodNote(p.name, reason) for p in selected if p.name not in excluded
              for reason in [not_ready_reason(svc, p)] if reason]
    if not notes:
        count = len(selected)
        return f"{count} pod{'' if count == 1 else 's'} selected, all serving"
    return sorted(notes, key=lambda n: (n.pod, n.reason))
