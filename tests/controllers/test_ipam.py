"""plan_ipam: pod subnets for nodes, cluster IPs and NodePorts for Services, LoadBalancer status."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from gitkube.api import inventory, network, services
from gitkube.api import node as node_api
from gitkube.api.meta import KubeObject
from gitkube.controllers import ipam
from gitkube.planning.actions import ActionKind
from gitkube.planning.snapshot import Snapshot

from . import factories as f


def plan(*objs: KubeObject, **settings: object) -> list[tuple[str, str, str]]:
    snap = f.snapshot(*objs)
    if settings:
        snap = dataclasses.replace(snap, settings=inventory.Settings.model_validate(settings))
    return [(a.kind.value, a.target.name, a.reason) for a in ipam.plan_ipam(snap, f.clock())]


@pytest.mark.parametrize(("store", "settings", "expected"), [
    pytest.param([f.node("node-1"), f.node("node-2", pod_cidr="10.244.0.0/24")], {}, [
        ("update", "node-1", "pod subnet 10.244.1.0/24 allocated from clusterCIDR "
                             "10.244.0.0/16")], id="lowest-free-subnet"),
    pytest.param([f.node("node-1", pod_cidr="10.244.7.0/24")], {}, [], id="kept-once-given"),
    pytest.param([f.node("node-1", pod_cidr="10.1.0.0/24")], {}, [
        ("update", "node-1", "pod subnet 10.244.0.0/24 allocated from clusterCIDR "
                             "10.244.0.0/16; 10.1.0.0/24 is not a /24 of 10.244.0.0/16")],
        id="outside-a-changed-range"),
    pytest.param([f.node("old", pod_cidr="10.244.0.0/24"),
                  f.node("young", pod_cidr="10.244.0.0/24", created=5)], {}, [
        ("update", "young", "pod subnet 10.244.1.0/24 allocated from clusterCIDR "
                            "10.244.0.0/16; 10.244.0.0/24 is held by another node")],
        id="the-younger-of-two-moves"),
    pytest.param([f.node("a"), f.node("b"), f.node("c")], {"clusterCIDR": "10.244.0.0/23"}, [
        ("update", "a", "pod subnet 10.244.0.0/24 allocated from clusterCIDR 10.244.0.0/23"),
        ("update", "b", "pod subnet 10.244.1.0/24 allocated from clusterCIDR 10.244.0.0/23"),
        ("noop", "test", "clusterCIDR 10.244.0.0/23 has no /24 left for 1 node (c); their "
                         "pods get no address: widen settings.clusterCIDR or raise "
                         "nodeCIDRMaskSize")], id="range-exhausted"),
    pytest.param([f.node("a")], {"clusterCIDR": "10.244.0.0/16", "nodeCIDRMaskSize": 26}, [
        ("update", "a", "pod subnet 10.244.0.0/26 allocated from clusterCIDR 10.244.0.0/16")],
        id="mask-size"),
])
def test_pod_subnets(store: list[KubeObject], settings: dict[str, str],
                     expected: list[tuple[str, str, str]]) -> None:
    assert plan(*store, **settings) == expected


@pytest.mark.parametrize(("store", "expected"), [
    pytest.param([f.service("web")], [
        ("update", "web", "cluster IP 10.96.184.169 allocated from 10.96.0.0/12")],
        id="cluster-ip"),
    pytest.param([f.service("web", clusterIP="10.96.0.40")], [], id="chosen-by-git"),
    pytest.param([f.service("web", clusterIP="None")], [], id="headless"),
    pytest.param([f.service("web", type="ExternalName", externalName="db.example", ports=[])],
                 [], id="external-name"),
    pytest.param([f.service("web", clusterIP="10.0.0.7")], [
        ("update", "web", "cluster IP 10.96.184.169 allocated from 10.96.0.0/12 (its address "
                          "10.0.0.7 is outside it)")], id="outside-a-changed-range"),
    pytest.param([f.service("web", type="NodePort",
                            ports=[{"port": 80, "name": "http"},
                                   {"port": 53, "protocol": "UDP", "name": "dns",
                                    "nodePort": 30053}])], [
        ("update", "web", "cluster IP 10.96.184.169 allocated from 10.96.0.0/12; NodePort "
                          "32583 allocated for 80/TCP")], id="node-port-for-the-port-without"),
    pytest.param([f.service("web", type="LoadBalancer", allocateLoadBalancerNodePorts=False)], [
        ("update", "web", "cluster IP 10.96.184.169 allocated from 10.96.0.0/12")],
        id="load-balancer-without-node-ports"),
])
def test_service_addresses(store: list[KubeObject], expected: list[tuple[str, str, str]]) -> None:
    assert plan(*store) == expected


def test_an_address_held_by_another_service_is_never_given_again() -> None:
    # "web" hashes to 10.96.184.169; while "api" holds it, web gets the next free one.
    assert plan(f.service("api", clusterIP="10.96.184.169"), f.service("web")) == [
        ("update", "web", "cluster IP 10.96.184.170 allocated from 10.96.0.0/12")]


def test_reserved_addresses_are_skipped_and_a_full_range_says_so() -> None:
    # A /28 has 16 addresses: 0 (network), 10 (DNS) and 15 (broadcast) are never given.
    snap = f.snapshot(*[f.service(f"s{i}") for i in range(14)])
    snap = dataclasses.replace(snap, settings=inventory.Settings.model_validate(
        {"serviceCIDR": "10.96.0.0/28"}))
    actions = ipam.plan_ipam(snap, f.clock())
    given = sorted(int(ipaddress.ip_address(a.obj.spec.cluster_ip)) & 15 for a in actions
                   if isinstance(a.obj, services.Service) and a.obj.spec.cluster_ip)
    assert given == [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14]
    assert [a.reason for a in actions if a.kind is ActionKind.NOOP] == [
        "service/s9 gets no address: Service range 10.96.0.0/28 is full"]


def test_allocations_are_planned_the_same_every_time_and_stay() -> None:
    snap = f.snapshot(f.service("web"), f.service("api", type="NodePort"), f.node("node-1"))
    first = ipam.plan_ipam(snap, f.clock())
    assert [a.obj.to_dict() for a in first] == [
        a.obj.to_dict() for a in ipam.plan_ipam(snap, f.clock())]
    after = snap.with_actions(first)
    assert ipam.plan_ipam(after, f.clock()) == []


def test_dynamic_addresses_come_from_the_upper_band() -> None:
    snap = f.snapshot(*[f.service(f"s{i}") for i in range(50)])
    cidr = ipaddress.ip_network(network.DEFAULT_SERVICE_CIDR)
    lower_band_end = int(cidr.network_address) + 256
    for action in ipam.plan_ipam(snap, f.clock()):
        assert isinstance(action.obj, services.Service)
        assert int(ipaddress.ip_address(action.obj.spec.cluster_ip)) >= lower_band_end


def _lb_snapshot(*nodes: node_api.Node) -> Snapshot:
    return f.snapshot(f.service("web", type="LoadBalancer", clusterIP="10.96.0.40",
                                ports=[{"port": 80, "nodePort": 30080}]), *nodes)


def test_a_load_balancer_lists_the_ready_nodes_addresses() -> None:
    snap = _lb_snapshot(f.node("a", heartbeat=0, address="192.168.1.12", pod_cidr="10.244.0.0/24"),
                        f.node("b", heartbeat=0, address="192.168.1.11", pod_cidr="10.244.1.0/24"),
                        f.node("c", address="192.168.1.13", pod_cidr="10.244.2.0/24"))
    [action] = ipam.plan_ipam(snap, f.clock())
    assert isinstance(action.obj, services.Service) and action.status_only
    assert action.obj.to_dict()["status"] == {"loadBalancer": {"ingress": [
        {"ip": "192.168.1.11"}, {"ip": "192.168.1.12"}]}}
    assert action.reason == "load balancer on 192.168.1.11, 192.168.1.12"
    assert ipam.plan_ipam(snap.with_actions([action]), f.clock()) == []


DNS = services.cluster_dns(network.DEFAULT_SERVICE_CIDR)
GIT_DNS = services.Service.model_validate({
    **DNS.to_dict(), "metadata": {**DNS.to_dict()["metadata"],
                                  "annotations": {"gitkube.io/source": "dns.yaml:1"}}})


def dns_plan(*objs: KubeObject, **settings: object) -> list[tuple[str, str, str]]:
    snap = f.snapshot(*objs)
    if settings:
        snap = dataclasses.replace(snap, settings=inventory.Settings.model_validate(settings))
    return [(a.kind.value, f"{a.target.namespace}/{a.target.name}", a.reason)
            for a in ipam.plan_cluster_dns(snap, f.clock())]


AT_TENTH = "the cluster DNS Service at 10.96.0.10, answered by every node's agent"


@pytest.mark.parametrize(("store", "settings", "expected"), [
    pytest.param([], {}, [], id="no-service-no-dns-service"),
    pytest.param([f.service("web")], {}, [("create", "kube-system/kube-dns", AT_TENTH)],
                 id="stored-with-the-first-service"),
    pytest.param([f.service("web"), DNS], {}, [], id="kept"),
    pytest.param([f.service("web"), DNS], {"serviceCIDR": "10.100.0.0/16"}, [
        ("update", "kube-system/kube-dns", "the cluster DNS Service at 10.100.0.10, answered by "
                                           "every node's agent (was 10.96.0.10: serviceCIDR "
                                           "changed)")], id="follows-the-service-range"),
    pytest.param([f.service("web")], {"podNetwork": "none"}, [], id="no-pod-network-none"),
    pytest.param([f.service("web"), DNS], {"podNetwork": "none"}, [
        ("delete", "kube-system/kube-dns", "podNetwork: none: the nodes answer no cluster DNS")],
        id="removed-with-the-pod-network"),
    pytest.param([f.service("web"), GIT_DNS], {"serviceCIDR": "10.100.0.0/16"}, [],
                 id="gits-own-left-alone"),
])
def test_the_cluster_dns_service(store: list[KubeObject], settings: dict[str, str],
                                 expected: list[tuple[str, str, str]]) -> None:
    assert dns_plan(*store, **settings) == expected


def test_the_cluster_dns_service_is_kube_dns_at_the_tenth_address() -> None:
    snap = f.snapshot(f.service("web"))
    [made] = ipam.plan_cluster_dns(snap, f.clock())
    assert isinstance(made.obj, services.Service) and made.obj.metadata.uid
    spec = made.obj.to_dict()["spec"]
    assert (spec["clusterIP"], spec["selector"], spec["ports"]) == ("10.96.0.10", {}, [
        {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}])
    assert made.obj.metadata.labels["k8s-app"] == "kube-dns"
    # Outside a changed range, the other allocator leaves it to plan_cluster_dns.
    moved = dataclasses.replace(snap.with_actions([made]), settings=inventory.Settings(
        serviceCIDR="10.100.0.0/16"))
    assert [a.target.name for a in ipam.plan_service_addresses(moved)] == ["web"]


def reporting(name: str, *addresses: str, pod_cidr: str) -> node_api.Node:
    """A node whose agent reported ``addresses`` (InternalIP) and has ``pod_cidr``."""
    made = f.node(name, pod_cidr=pod_cidr)
    status = made.status.model_copy(update={"addresses": [
        node_api.NodeAddress(type="InternalIP", address=a) for a in addresses]})
    return made.model_copy(update={"status": status})


HELD_BACK = "; until then no node is given the cluster network (routes, Service rules, DNS)"


@pytest.mark.parametrize(("nodes", "settings", "expected"), [
    pytest.param([reporting("a", "192.168.1.5", pod_cidr="10.244.0.0/24")], {}, [],
                 id="elsewhere"),
    pytest.param([reporting("a", "192.168.1.5", "10.244.1.1", pod_cidr="10.244.1.0/24")], {},
                 [], id="its-own-pod-bridge"),
    pytest.param([reporting("a", "192.168.1.5", "10.244.7.20", pod_cidr="10.244.0.0/24")], {}, [
        "settings.clusterCIDR in inventory.yaml: 10.244.0.0/16 overlaps node a's address "
        "(10.244.7.20); choose a range no machine of the cluster is on" + HELD_BACK],
        id="a-second-interface-in-the-pod-range"),
    pytest.param([reporting("a", "10.96.4.4", pod_cidr="10.244.0.0/24"),
                  reporting("b", "10.96.4.4", pod_cidr="10.244.1.0/24")], {}, [
        "settings.serviceCIDR in inventory.yaml: 10.96.0.0/12 overlaps node a's address "
        "(10.96.4.4); choose a range no machine of the cluster is on" + HELD_BACK],
        id="one-machine-in-the-service-range-said-once"),
    pytest.param([reporting("a", "10.96.4.4", pod_cidr="10.244.0.0/24")],
                 {"podNetwork": "none"}, [], id="no-pod-network"),
])
def test_nodes_reporting_an_address_in_a_range(nodes: list[node_api.Node],
                                               settings: dict[str, str],
                                               expected: list[str]) -> None:
    snap = dataclasses.replace(f.snapshot(*nodes),
                               settings=inventory.Settings.model_validate(settings))
    assert ipam.address_clashes(snap) == expected
    assert [a.reason for a in ipam.plan_ipam(snap, f.clock())
            if a.kind is ActionKind.NOOP] == expected
