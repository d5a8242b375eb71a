"""A containerd node on the cluster network: its pods on the node's pod subnet, as podman's.

One of the session's namespace nodes (tests/fixtures/netns.py) runs its pods on a containerd
of this session's own instead of podman. Its agent gets a network (over SSH, as the control
plane sends it) on a subnet and Service range of this module's own, then a pod: the CNI
bridge gives it an address on the node's podCIDR behind the gateway, the node reaches it
there and through a Service's virtual IP (the nftables rules of ``network.py``), its
hostPort answers on the node, and its resolv.conf names the cluster DNS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from gitkube.agent import daemons, dnsserver, netprotocol, protocol, supervisor
from gitkube.agent.runtimes import cni
from gitkube.api.inventory import RuntimeSettings
from gitkube.nodes import client as node_client
from tests.fixtures import containerd
from tests.fixtures.netns import NetnsNode
from tests.waiting import until

pytestmark = [pytest.mark.ssh, pytest.mark.podman, pytest.mark.containerd]

CLUSTER = f"ncd{os.getpid()}"
SERVICE_IP, DNS_IP = "10.97.0.30", "10.97.0.10"


def _network(node: NetnsNode, endpoints: list[netprotocol.EndpointRun]) -> netprotocol.NetworkRun:
    service = netprotocol.ServiceRun(name="web", namespace="default", clusterIP=SERVICE_IP,
                                  ports=[{"name": "http", "protocol": "TCP", "port": 80}],
                                  endpoints=endpoints)
    return netprotocol.NetworkRun(podCIDR="10.245.2.0/24", clusterCIDR="10.245.0.0/16",
                               serviceCIDR="10.97.0.0/16", dnsIP=DNS_IP,
                               clusterDomain="cluster.local", routes=[], services=[service])


def _web(image: str) -> protocol.PodRun:
    script = "mkdir /www && echo web > /www/index.html && exec httpd -f -p 8080 -h /www"
    return protocol.PodRun(
        uid="uid-web", name="web", namespace="default", hash="h1", restartPolicy="Always",
        terminationGracePeriodSeconds=0, dns=protocol.DNSRun(policy="ClusterFirst"),
        containers=[protocol.ContainerRun(
            name="main", image=image, command=["sh", "-c", script],
            ports=[protocol.PortRun(containerPort=8080, hostPort=18080, protocol="TCP")])])


@pytest.fixture(scope="module")
def node(netns_nodes: list[NetnsNode]) -> Iterator[tuple[NetnsNode, node_client.NodeClient,
                                                           containerd.Containerd]]:
    daemon = containerd.start("net")
    made = netns_nodes[1]
    state = made.home / f"containerd-{CLUSTER}"
    inventory = made.inventory.model_copy(update={
        "runtime": RuntimeSettings.model_validate(daemon.runtime()),
        "state_dir": str(state)})
    client = node_client.NodeClient(node_client.connect(inventory), inventory, CLUSTER)
    try:
        yield made, client, daemon
    finally:
        client.request("converge", pods=[], network=_network(made, []))
        client.close()
        # Its DNS server and supervisor go too: later tests count the node's processes.
        daemons.stop(state, supervisor.NAME)
        daemons.stop(state, dnsserver.NAME)
        made.run("nft", "delete", "table", "ip", f"gitkube-{CLUSTER}", check=False)
        made.run("ip", "link", "del", _bridge(), check=False)
        daemon.stop()
        containerd.unmount_under(state)


def _bridge() -> str:
    return cni.bridge_name(f"gitkube-{CLUSTER}")


def _get(address: str, port: int) -> str:
    return f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {address} {port} | tail -n 1"


def test_a_containerd_pod_joins_the_nodes_pod_subnet_and_its_services(
    node: tuple[NetnsNode, node_client.NodeClient, containerd.Containerd],
) -> None:
    netns, client, daemon = node
    client.request("observe", network=_network(netns, []))
    client.request("converge", pods=[_web(daemon.image)], network=_network(netns, []))

    def running() -> dict[str, Any] | None:
        pods = client.request("observe", network=_network(netns, []))["report"]["pods"]
        return next((p for p in pods if p["phase"] == "Running" and p.get("podIP")), None)

    pod = until(running, "the pod runs with an address")
    assert pod["podIP"].startswith("10.245.2.") and pod["podIP"] != "10.245.2.1"
    assert netns.run("busybox", "sh", "-c", _get(pod["podIP"], 8080)).stdout.strip() == "web"
    assert netns.run("busybox", "sh", "-c", _get("127.0.0.1", 18080)).stdout.strip() == "web"

    endpoint = netprotocol.EndpointRun(ip=pod["podIP"], ports={"http": 8080}, node=netns.name,
                                    pod="default/web", podUID="uid-web", ready=True,
                                    serving=True, terminating=False)
    client.request("observe", network=_network(netns, [endpoint]))
    assert netns.run("busybox", "sh", "-c", _get(SERVICE_IP, 80)).stdout.strip() == "web"

    cid = pod["containers"][0]["containerID"].removeprefix("containerd://")
    resolv = daemon.ctr("tasks", "exec", "--exec-id", "resolv", cid, "cat",
                        "/etc/resolv.conf").stdout
    assert f"nameserver {DNS_IP}" in resolv
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
