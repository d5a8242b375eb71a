"""NodePorts: two pods cannot bind the same host port on one node.

Conflicts follow ``HostPortInfo.CheckConflict``: a port is (protocol, port) per host
IP, and ``0.0.0.0`` conflicts with every IP on the same (protocol, port).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, ClassVar

from gitkube.scheduler import framework

if TYPE_CHECKING:
    from gitkube.scheduler.cluster import ClusterState

REASON = "node(s) didn't have free ports for the requested pod ports"

_REJECTED = framework.Status("NodePorts", (REASON,))


def conflicts(
    used: dict[tuple[str, int], set[str]], ip: str, protocol: str, port: int
) -> bool:
    ips = used.get((protocol, port))
    if not ips:
        return False
    return ip == framework.BIND_ALL_IP or framework.BIND_ALL_IP in ips or ip in ips


class NodePorts:
    name: ClassVar[str] = "NodePorts"
    scope: ClassVar[framework.Scope] = framework.Scope.NODE

    def __init__(self, cluster: ClusterState) -> None:
        pass

    def relevant(self, pod: framework.PodInfo) -> bool:
        return bool(pod.host_ports)

    def signature(self, pod: framework.PodInfo) -> Hashable:
        return pod.host_ports

    def filter(
        self, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> framework.Status | None:
        used = node.ports
        if not used:
            return None
        for ip, protocol, port in pod.host_ports:
            if conflicts(used, ip, protocol, port):
                return _REJECTED
        return None
