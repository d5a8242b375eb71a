"""What a pod gets from the cluster network when the runtime creates it, as kubelet gives it.

The node's ``NetworkRun`` in force (``network.json``, read by ``in_force``) and the pod in,
values out; the rest is pure.

- ``in_force``: the node's cluster network (``network.json``), which the pod's sandbox joins
  (``identity.network_name``), or None (podman's default network then);
- ``cluster_dns``: what ``security.resolver`` needs for ``dnsPolicy: ClusterFirst`` (the
  cluster DNS address and domain), None without a cluster DNS (ClusterFirst is Default);
- ``service_env``: the ``<SVC>_SERVICE_HOST``/``_PORT`` and Docker-link variables of the
  Services in the pod's namespace (``enableServiceLinks``), which the container's own ``env``
  overrides. They are read when a container is created, as in Kubernetes: a Service made
  later reaches a pod's containers only when they are created again.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from . import netprotocol, network, security


def in_force(state_dir: Path) -> netprotocol.NetworkRun | None:
    """The node's NetworkRun in force, None when the node has no cluster network."""
    found = network.read_state(state_dir).get("network")
    if isinstance(found, dict) and found.get("podCIDR"):
        return cast(netprotocol.NetworkRun, found)
    return None


def cluster_dns(run: netprotocol.NetworkRun | None, namespace: str
                ) -> security.ClusterDNS | None:
    """What ClusterFirst needs (``security.resolver``), None when the node has no cluster
    DNS (ClusterFirst then is Default)."""
    if run is None or not run.get("dnsIP"):
        return None
    return run["dnsIP"], run.get("clusterDomain") or "cluster.local", namespace


def service_env(run: netprotocol.NetworkRun | None, namespace: str) -> dict[str, str]:
    """kubelet's service environment for a pod in ``namespace`` (FOO_SERVICE_HOST, ...)."""
    env: dict[str, str] = {}
    services = [] if run is None else run.get("services", [])
    for service in sorted(services, key=lambda s: s.get("name", "")):
        ip, ports = service.get("clusterIP"), service.get("ports", [])
        if service.get("namespace") != namespace or not ip or not ports:
            continue
        prefix = _env_name(service.get("name", ""))
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
        for port in ports:
            if port.get("name"):
                env[f"{prefix}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port["port"])
        first = ports[0]
        env[f"{prefix}_PORT"] = f"{first.get('protocol', 'TCP').lower()}://{ip}:{first['port']}"
        for port in ports:
            protocol_name = port.get("protocol", "TCP")
            link = f"{prefix}_PORT_{port['port']}_{protocol_name}"
            env[link] = f"{protocol_name.lower()}://{ip}:{port['port']}"
            env[f"{link}_PROTO"] = protocol_name.lower()
            env[f"{link}_PORT"] = str(port["port"])
            env[f"{link}_ADDR"] = ip
    return env


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")
