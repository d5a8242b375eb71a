"""The agent's node networking on three namespace nodes: pods reach pods across nodes, a Service
is a virtual IP balanced over its endpoints, NodePorts answer on every node, DNS names them.

Each node gets its network from the agent itself (an observe carrying ``network``, over SSH),
as the control plane sends it; the pods are started with podman on the cluster's pod network
the agent made. Traffic is busybox's httpd answering its pod's name and ``nc`` asking.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitkube.agent import daemons, dnsserver, netprotocol, network, protocol
from gitkube.nodes import client as node_client
from tests.fixtures.netns import NetnsNode
from tests.fixtures.podman import BUSYBOX_IMAGE
from tests.waiting import until

pytestmark = [pytest.mark.ssh, pytest.mark.podman]

CLUSTER = f"net{os.getpid()}"
NETWORK = f"gitkube-{CLUSTER}"
WEB_IP, EMPTY_IP, ONE_IP, DNS_IP = "10.96.0.20", "10.96.0.21", "10.96.0.22", "10.96.0.10"
#: (node index, pod name, address) of the pods serving ``web``.
BACKENDS = [(1, "web-b", "10.244.2.10"), (2, "web-c", "10.244.3.10")]


def _endpoint(node: NetnsNode, name: str, ip: str, **extra: Any) -> netprotocol.EndpointRun:
    endpoint = netprotocol.EndpointRun(ip=ip, ports={"http": 8080}, node=node.name,
                                    pod=f"default/{name}", podUID=f"uid-{name}", ready=True,
                                    serving=True, terminating=False)
    endpoint.update(extra)  # type: ignore[typeddict-item]
    return endpoint


def _services(nodes: list[NetnsNode], **changes: Any) -> list[netprotocol.ServiceRun]:
    web = netprotocol.ServiceRun(
        name="web", namespace="default", type="NodePort", clusterIP=WEB_IP,
        ports=[{"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080}],
        endpoints=[_endpoint(nodes[i], name, ip) for i, name, ip in BACKENDS])
    empty = netprotocol.ServiceRun(name="empty", namespace="default", clusterIP=EMPTY_IP,
                                ports=[{"name": "", "protocol": "TCP", "port": 80}],
                                endpoints=[])
    sticky = netprotocol.ServiceRun(
        name="sticky", namespace="default", clusterIP=ONE_IP, sessionAffinity="ClientIP",
        affinitySeconds=600, ports=[{"name": "http", "protocol": "TCP", "port": 80}],
        endpoints=web["endpoints"])
    headless = netprotocol.ServiceRun(
        name="peers", namespace="default", ports=[{"name": "http", "protocol": "TCP",
                                                    "port": 8080}],
        endpoints=[_endpoint(nodes[i], name, ip, hostname=name) for i, name, ip in BACKENDS])
    return [*changes.get("services", [web, empty, sticky, headless])]


def _network(nodes: list[NetnsNode], index: int,
             services: list[netprotocol.ServiceRun]) -> netprotocol.NetworkRun:
    return netprotocol.NetworkRun(
        podCIDR=f"10.244.{index + 1}.0/24", clusterCIDR="10.244.0.0/16",
        serviceCIDR="10.96.0.0/12", dnsIP=DNS_IP, clusterDomain="cluster.local",
        routes=[{"node": n.name, "podCIDR": f"10.244.{i + 1}.0/24", "via": n.wire_address}
                for i, n in enumerate(nodes) if i != index],
        services=services)


class Cluster:
    """The three nodes with their agents, the serving pods and a client pod on node-1."""

    def __init__(self, nodes: list[NetnsNode]) -> None:
        self.nodes = nodes
        self.clients = [node_client.NodeClient(node_client.connect(n.inventory_for(CLUSTER)),
                                               n.inventory_for(CLUSTER), CLUSTER)
                        for n in nodes]

    def program(self, services: list[netprotocol.ServiceRun]) -> list[netprotocol.NetworkReport]:
        return [client.request("observe", network=_network(self.nodes, i, services))
                ["report"]["network"] for i, client in enumerate(self.clients)]

    def pod(self, index: int, name: str, ip: str, *command: str) -> None:
        self.nodes[index].podman("run", "-d", "--name", f"{CLUSTER}-{name}", "--network",
                                 NETWORK, "--ip", ip, "--label", f"io.gitkube.cluster={CLUSTER}",
                                 BUSYBOX_IMAGE, *command)

    def sh(self, script: str, *, check: bool = True) -> str:
        """``script`` in the client pod on node-1: stdout, or stdout and stderr unchecked."""
        done = self.nodes[0].podman("exec", f"{CLUSTER}-client", "sh", "-c", script,
                                    check=check)
        return done.stdout if check else done.stdout + done.stderr

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for node in self.nodes:
            names = node.podman("ps", "-aq", "--filter", f"label=io.gitkube.cluster={CLUSTER}",
                                check=False).stdout.split()
            if names:
                node.podman("rm", "-f", "-t", "0", *names, check=False)
            node.forget_cluster(CLUSTER)


def get(address: str, port: int = 80) -> str:
    """A shell line asking ``address:port`` for its page; prints the body's last line."""
    return (f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {address} {port} | tail -n 1")


@pytest.fixture(scope="module")
def cluster(netns_nodes: list[NetnsNode]) -> Iterator[Cluster]:
    made = Cluster(netns_nodes)
    try:
        made.program(_services(netns_nodes))
        for index, name, ip in BACKENDS:
            made.pod(index, name, ip, "sh", "-c", f"mkdir /www && echo {name} > /www/index.html"
                     " && exec httpd -f -v -p 8080 -h /www")
        made.pod(0, "client", "10.244.1.10", "sleep", "3600")
        yield made
    finally:
        made.close()


def test_a_pod_reaches_pods_on_other_nodes_by_their_own_address(cluster: Cluster) -> None:
    for _, name, ip in BACKENDS:
        assert cluster.sh(get(ip, 8080)).strip() == name


def test_a_service_ip_balances_over_the_endpoints_on_other_nodes(cluster: Cluster) -> None:
    answers = cluster.sh(f"for i in $(seq 24); do {get(WEB_IP)}; done").split()

    assert set(answers) == {"web-b", "web-c"}
    assert len(answers) == 24


def test_a_service_without_endpoints_refuses_at_once(cluster: Cluster) -> None:
    said = cluster.sh(f"nc -w 10 {EMPTY_IP} 80 </dev/null", check=False)

    assert "Connection refused" in said


def test_client_ip_affinity_keeps_one_endpoint(cluster: Cluster) -> None:
    answers = cluster.sh(f"for i in $(seq 12); do {get(ONE_IP)}; done").split()

    assert len(answers) == 12
    assert len(set(answers)) == 1


def test_a_nodeport_answers_on_every_node(cluster: Cluster) -> None:
    for node in cluster.nodes:
        for target in cluster.nodes:
            said = node.run("busybox", "sh", "-c", get(target.wire_address, 30080)).stdout
            assert said.strip() in {"web-b", "web-c"}, (node.name, target.name)


def test_pods_keep_their_addresses_between_nodes(cluster: Cluster) -> None:
    cluster.sh(get("10.244.2.10", 8080))

    logged = cluster.nodes[1].podman("logs", f"{CLUSTER}-web-b").stderr
    assert "10.244.1.10" in logged


def test_cluster_dns_names_services_and_headless_pods(cluster: Cluster) -> None:
    web = cluster.sh(f"nslookup web.default.svc.cluster.local {DNS_IP}")
    peers = cluster.sh(f"nslookup peers.default.svc.cluster.local {DNS_IP}")
    one = cluster.sh(f"nslookup web-b.peers.default.svc.cluster.local {DNS_IP}")
    missing = cluster.sh(f"nslookup nothing.default.svc.cluster.local {DNS_IP}", check=False)

    assert WEB_IP in web
    assert "10.244.2.10" in peers and "10.244.3.10" in peers
    assert "10.244.2.10" in one and "10.244.3.10" not in one
    assert "NXDOMAIN" in missing


def test_a_dns_answer_follows_an_endpoint_change_as_soon_as_the_node_has_it(
        cluster: Cluster) -> None:
    moved = _services(cluster.nodes)
    moved[3]["endpoints"] = moved[3]["endpoints"][:1]
    try:
        cluster.program(moved)
        # No wait: the agent answered once the node's DNS server had the new records.
        peers = cluster.sh(f"nslookup peers.default.svc.cluster.local {DNS_IP}")
        assert "10.244.2.10" in peers and "10.244.3.10" not in peers
    finally:
        cluster.program(_services(cluster.nodes))


def test_a_node_that_cannot_be_routed_to_is_named(cluster: Cluster) -> None:
    services = _services(cluster.nodes)
    run = _network(cluster.nodes, 0, services)
    run["routes"] = [*run["routes"], {"node": "node-9", "podCIDR": "10.244.9.0/24",
                                      "via": "10.250.0.9"}]
    try:
        report = cluster.clients[0].request("observe", network=run)["report"]["network"]
        assert report["errors"] == [
            "node-1 cannot reach node-9's address 10.250.0.9 directly, so node-9's pods "
            "(10.244.9.0/24) are unreachable from here: host-gw routing needs the nodes on one "
            "network."]
        # The other routes are made all the same.
        assert cluster.sh(get("10.244.2.10", 8080)).strip() == "web-b"
    finally:
        cluster.program(services)


def test_services_work_with_no_gitkube_process_on_the_nodes(cluster: Cluster) -> None:
    for client in cluster.clients:
        client.close()  # the agent sessions end
    for node in cluster.nodes:
        assert any(" dns " in command for command in _gitkube_processes(node))
        daemons.stop(Path(node.state_dir_for(CLUSTER)), dnsserver.NAME)
        assert not _gitkube_processes(node)

    answers = cluster.sh(f"for i in $(seq 8); do {get(WEB_IP)}; done").split()
    nodeport = cluster.nodes[1].run("busybox", "sh", "-c",
                                    get(cluster.nodes[2].wire_address, 30080)).stdout
    assert set(answers) <= {"web-b", "web-c"} and len(answers) == 8
    assert nodeport.strip() in {"web-b", "web-c"}
    cluster.program(_services(cluster.nodes))  # back, for whatever runs next


def _gitkube_processes(node: NetnsNode) -> list[str]:
    """Command lines of gitkube agent processes in ``node``'s network namespace."""
    theirs = os.stat(f"/run/netns/{node.netns}").st_ino
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(entry / "ns" / "net").st_ino != theirs:
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "gitkube_agent" in command or "-m gitkube.agent" in command:
            found.append(command)
    return found


def _gated_pod() -> protocol.PodRun:
    script = ("mkdir /www && echo gated > /www/index.html && touch /tmp/ready"
              " && exec httpd -f -p 8080 -h /www")
    probe = protocol.ProbeRun(handler="exec", command=["test", "-f", "/tmp/ready"],
                              periodSeconds=1, failureThreshold=1)
    return protocol.PodRun(
        uid="uid-gated", name="gated", namespace="default", hash="h1", restartPolicy="Always",
        terminationGracePeriodSeconds=1, dns=protocol.DNSRun(policy="ClusterFirst"),
        containers=[protocol.ContainerRun(name="main", image=BUSYBOX_IMAGE,
                                          command=["sh", "-c", script],
                                          readinessProbe=probe)])


def test_a_pod_the_agent_makes_joins_the_network_and_leaves_the_rules_when_unready(
        cluster: Cluster) -> None:
    node, client = cluster.nodes[1], cluster.clients[1]
    services = _services(cluster.nodes)
    run = _network(cluster.nodes, 1, services)
    client.request("converge", pods=[_gated_pod()], network=run)
    try:
        pod = until(lambda: _ready_pod(client.request("observe", network=run)), "gated ready")
        assert pod["podIP"].startswith("10.244.2.")
        name = f"gk_{CLUSTER}_default_gated_main"
        resolv = node.podman("exec", name, "cat", "/etc/resolv.conf").stdout
        assert "nameserver 10.96.0.10" in resolv
        assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
        assert "ndots:5" in resolv
        env = node.podman("exec", name, "env").stdout.split()
        assert f"WEB_SERVICE_HOST={WEB_IP}" in env and "WEB_SERVICE_PORT_HTTP=80" in env

        gate = netprotocol.ServiceRun(name="gate", namespace="default", clusterIP="10.96.0.30",
                                   ports=[{"name": "http", "protocol": "TCP", "port": 80}],
                                   endpoints=[_endpoint(node, "gated", pod["podIP"],
                                                        podUID="uid-gated")])
        run = _network(cluster.nodes, 1, [*services, gate])
        client.request("observe", network=run)
        ask = get("10.96.0.30")
        assert node.run("busybox", "sh", "-c", ask).stdout.strip() == "gated"

        node.podman("exec", name, "rm", "/tmp/ready")
        # The node's supervisor takes it out on its own: the control plane still says ready.
        until(lambda: "Connection refused" in node.run("busybox", "sh", "-c", ask,
                                                       check=False).stderr,
              "the unready pod refused by its own node")
        report = client.request("observe", network=run)["report"]["network"]
        assert report["withheld"] == ["default/gated"]
    finally:
        client.request("converge", pods=[], network=_network(cluster.nodes, 1, services))


def _ready_pod(answer: dict[str, Any]) -> dict[str, Any] | None:
    for pod in answer["report"]["pods"]:
        if pod["name"] == "gated" and all(c.get("ready") for c in pod["containers"]):
            return dict(pod)
    return None


def test_the_pod_networks_bridge_keeps_its_address_as_pods_come_and_go(
        cluster: Cluster) -> None:
    node = cluster.nodes[0]
    device = json.loads(node.podman("network", "inspect", NETWORK).stdout)[0][
        "network_interface"]

    def address() -> str:
        return str(json.loads(node.run("ip", "-j", "link", "show", "dev", device).stdout)[0][
            "address"])

    fixed = network.bridge_mac("10.244.1.1")
    assert address() == fixed
    cluster.pod(0, "passing", "10.244.1.20", "sleep", "600")
    assert address() == fixed
    node.podman("rm", "-f", "-t", "0", f"{CLUSTER}-passing")
    assert address() == fixed
    # A pod that learnt the gateway's address still reaches the cluster.
    assert cluster.sh(get("10.244.2.10", 8080)).strip() == "web-b"
