"""What a pod gets from the cluster network at creation, compared with what kubelet gives."""

from __future__ import annotations

from gitkube.agent import netprotocol, podnetwork, protocol, security
from gitkube.agent.runtimes import podman_args

RUN = netprotocol.NetworkRun(
    podCIDR="10.244.1.0/24", dnsIP="10.96.0.10", clusterDomain="cluster.local",
    services=[
        netprotocol.ServiceRun(name="redis-primary", namespace="shop", clusterIP="10.96.0.11",
                            ports=[{"name": "", "protocol": "TCP", "port": 6379}]),
        netprotocol.ServiceRun(name="web", namespace="shop", clusterIP="10.96.0.12",
                            ports=[{"name": "http", "protocol": "TCP", "port": 80},
                                   {"name": "dns-udp", "protocol": "UDP", "port": 53}]),
        netprotocol.ServiceRun(name="peers", namespace="shop",
                            ports=[{"name": "", "protocol": "TCP", "port": 80}]),
        netprotocol.ServiceRun(name="other", namespace="elsewhere", clusterIP="10.96.0.13",
                            ports=[{"name": "", "protocol": "TCP", "port": 80}]),
    ])


def test_service_links_are_kubelets_for_the_pods_namespace() -> None:
    env = podnetwork.service_env(RUN, "shop")

    assert env == {
        "REDIS_PRIMARY_SERVICE_HOST": "10.96.0.11",
        "REDIS_PRIMARY_SERVICE_PORT": "6379",
        "REDIS_PRIMARY_PORT": "tcp://10.96.0.11:6379",
        "REDIS_PRIMARY_PORT_6379_TCP": "tcp://10.96.0.11:6379",
        "REDIS_PRIMARY_PORT_6379_TCP_PROTO": "tcp",
        "REDIS_PRIMARY_PORT_6379_TCP_PORT": "6379",
        "REDIS_PRIMARY_PORT_6379_TCP_ADDR": "10.96.0.11",
        "WEB_SERVICE_HOST": "10.96.0.12",
        "WEB_SERVICE_PORT": "80",
        "WEB_SERVICE_PORT_HTTP": "80",
        "WEB_SERVICE_PORT_DNS_UDP": "53",
        "WEB_PORT": "tcp://10.96.0.12:80",
        "WEB_PORT_80_TCP": "tcp://10.96.0.12:80",
        "WEB_PORT_80_TCP_PROTO": "tcp",
        "WEB_PORT_80_TCP_PORT": "80",
        "WEB_PORT_80_TCP_ADDR": "10.96.0.12",
        "WEB_PORT_53_UDP": "udp://10.96.0.12:53",
        "WEB_PORT_53_UDP_PROTO": "udp",
        "WEB_PORT_53_UDP_PORT": "53",
        "WEB_PORT_53_UDP_ADDR": "10.96.0.12",
    }
    assert podnetwork.service_env(None, "shop") == {}


def test_cluster_first_is_kubelets_resolv_conf() -> None:
    host = "nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n"
    dns = protocol.DNSRun(policy="ClusterFirst", searches=["extra.example"],
                          options=["ndots:2", "timeout:1"])
    cluster = podnetwork.cluster_dns(RUN, "shop")

    assert security.resolver(dns, host, cluster) == (
        ["10.96.0.10"],
        ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example",
         "extra.example"],
        ["ndots:2", "timeout:1"])
    assert security.resolver(protocol.DNSRun(policy="ClusterFirst"), host, cluster)[2] == [
        "ndots:5"]


def test_cluster_first_without_a_cluster_dns_is_default() -> None:
    host = "nameserver 192.0.2.53\nsearch corp.example\n"
    dns = protocol.DNSRun(policy="ClusterFirst")

    assert podnetwork.cluster_dns(None, "shop") is None
    assert security.resolver(dns, host, None) == (["192.0.2.53"], ["corp.example"], [])


def test_cluster_first_on_a_node_without_cluster_dns_leaves_podman_its_own() -> None:
    pod = protocol.PodRun(name="p", namespace="shop", dns=protocol.DNSRun(policy="ClusterFirst"))
    host = "nameserver 192.0.2.53\n"

    assert podman_args.pod_args(pod, host, None) == []
    assert podman_args.pod_args(pod, host, podnetwork.cluster_dns(RUN, "shop")) == [
        "--dns", "10.96.0.10", "--dns-search", "shop.svc.cluster.local",
        "--dns-search", "svc.cluster.local", "--dns-search", "cluster.local",
        "--dns-option", "ndots:5"]
