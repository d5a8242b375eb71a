"""lower_network: what each node programs (routes, Services with endpoints, DNS), as tables."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gitkube.api import inventory, services
from gitkube.api import node as node_api
from gitkube.api.meta import KubeObject
from gitkube.controllers import endpoints, endpointslices, nodenetwork, podstatus
from gitkube.planning.snapshot import Snapshot

from . import factories as f
from .test_endpointslices import pod

A = f.node("node-a", address="198.18.0.2", pod_cidr="10.244.0.0/24")
B = f.node("node-b", address="198.18.0.3", pod_cidr="10.244.1.0/24")


def settled(*objs: KubeObject) -> Snapshot:
    snap = f.snapshot(*objs)
    return snap.with_actions(endpointslices.plan_endpointslices(snap, f.clock()))


def test_the_nodes_own_subnet_routes_to_the_others_and_the_dns() -> None:
    same_machine = f.node("node-c", address="198.18.0.2", pod_cidr="10.244.2.0/24")
    local_only = f.node("node-d", address="127.0.0.1", pod_cidr="10.244.3.0/24")
    unallocated = f.node("node-e", address="198.18.0.9")
    runs = nodenetwork.lower_networks(f.snapshot(A, B, same_machine, local_only, unallocated),
                                      ["node-a", "node-e", "node-gone"])
    assert list(runs) == ["node-a"]
    assert runs["node-a"] == {
        "podCIDR": "10.244.0.0/24", "clusterCIDR": "10.244.0.0/16",
        "serviceCIDR": "10.96.0.0/12", "dnsIP": "10.96.0.10", "clusterDomain": "cluster.local",
        "routes": [{"node": "node-b", "podCIDR": "10.244.1.0/24", "via": "198.18.0.3"}],
        "services": [],
    }
    off = dataclasses.replace(f.snapshot(A, B), settings=inventory.Settings.model_validate(
        {"podNetwork": "none"}))
    assert nodenetwork.lower_networks(off, ["node-a", "node-b"]) == {}


def test_no_node_gets_the_network_while_one_reports_an_address_in_its_ranges() -> None:
    status = B.status.model_copy(update={"addresses": [
        *B.status.addresses, node_api.NodeAddress(type="InternalIP", address="10.244.9.3")]})
    clash = B.model_copy(update={"status": status})
    assert list(nodenetwork.lower_networks(f.snapshot(A, B), ["node-a", "node-b"])) == [
        "node-a", "node-b"]
    assert nodenetwork.lower_networks(f.snapshot(A, clash), ["node-a", "node-b"]) == {}


def services_of(*objs: KubeObject) -> list[dict[str, Any]]:
    return [dict(s) for s in nodenetwork.lower_services(settled(A, B, *objs))]


WEB_1 = pod("web-1", node="node-a", ip="10.244.0.5")
WEB_2 = pod("web-2", node="node-b", ip="10.244.1.5", ready=False)
WEB_3 = pod("web-3", node="node-b", ip="10.244.1.6", terminating=True)


def endpoint(p: Any, node: str, *, ready: bool = True, terminating: bool = False,
             ports: dict[str, int] | None = None) -> dict[str, Any]:
    return {"ip": p.status.pod_ip, "ports": {"": 8080} if ports is None else ports,
            "ready": ready, "serving": True, "terminating": terminating, "node": node,
            "pod": f"default/{p.name}", "podUID": p.metadata.uid}


@pytest.mark.parametrize(("objs", "expected"), [
    pytest.param([f.service(clusterIP="10.96.0.40"), WEB_1, WEB_2, WEB_3], [{
        "name": "web", "namespace": "default", "type": "ClusterIP", "clusterIP": "10.96.0.40",
        "ports": [{"name": "", "protocol": "TCP", "port": 80}], "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "endpoints": [endpoint(WEB_1, "node-a"),
                      endpoint(WEB_3, "node-b", ready=False, terminating=True)]}],
        id="ready-and-draining-endpoints-not-the-unready"),
    pytest.param([f.service()], [], id="waiting-for-its-address"),
    pytest.param([f.service(clusterIP="None", ports=[{"port": 80, "name": "web"}]),
                  pod("web-1", node="node-a", ip="10.244.0.5", hostname="web-1",
                      subdomain="web")], [{
        "name": "web", "namespace": "default", "type": "ClusterIP",
        "ports": [{"name": "web", "protocol": "TCP", "port": 80}], "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "endpoints": [{**endpoint(WEB_1, "node-a", ports={"web": 80}), "hostname": "web-1"}]}],
        id="headless-with-hostnames"),
    pytest.param([f.service(type="ExternalName", externalName="db.example.com.", ports=[])], [{
        "name": "web", "namespace": "default", "type": "ExternalName",
        "externalName": "db.example.com"}], id="external-name"),
    pytest.param([f.service(type="LoadBalancer", clusterIP="10.96.0.40", sessionAffinity="ClientIP",
                            externalTrafficPolicy="Local",
                            ports=[{"port": 80, "nodePort": 30080, "name": "http"}],
                            selector={"app": "none"})], [{
        "name": "web", "namespace": "default", "type": "LoadBalancer", "clusterIP": "10.96.0.40",
        "ports": [{"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080}],
        "sessionAffinity": "ClientIP", "affinitySeconds": 10800,
        "internalTrafficPolicy": "Cluster", "externalTrafficPolicy": "Local",
        "endpoints": []}], id="node-ports-affinity-policy-no-endpoints"),
])
def test_services(objs: list[KubeObject], expected: list[dict[str, Any]]) -> None:
    assert services_of(*objs) == expected


def test_the_cluster_dns_service_is_the_nodes_own_dns_not_a_rule() -> None:
    dns = services.cluster_dns("10.96.0.0/12")
    assert services_of(dns) == []
    assert endpoints.explain(dns, [], {}) == (
        "the cluster DNS: every node's gitkube agent answers on its address, no pod does")


def test_a_load_balancer_answers_on_its_status_addresses() -> None:
    svc = f.service(type="LoadBalancer", clusterIP="10.96.0.40",
                    ports=[{"port": 80, "nodePort": 30080}])
    data = svc.to_dict()
    data["status"] = {"loadBalancer": {"ingress": [{"ip": "198.18.0.2"}, {"ip": "198.18.0.3"}]}}
    [run] = services_of(type(svc).model_validate(data))
    assert run["loadBalancerIPs"] == ["198.18.0.2", "198.18.0.3"]


@pytest.mark.parametrize(("inventory", "reported", "expected", "routed"), [
    pytest.param("127.0.0.1", ["198.18.0.7", "10.1.0.7"], ["198.18.0.7", "10.1.0.7"],
                 "198.18.0.7", id="reached-as-loopback-known-by-what-it-reports"),
    pytest.param("10.1.0.7", ["198.18.0.7", "10.1.0.7"], ["10.1.0.7", "198.18.0.7"],
                 "10.1.0.7", id="the-inventory-address-first-when-reported"),
    pytest.param("192.168.1.7", [], ["192.168.1.7"], "192.168.1.7", id="nothing-reported"),
    pytest.param("127.0.0.1", [], ["127.0.0.1"], "", id="only-this-machine"),
])
def test_node_addresses(inventory: str, reported: list[str], expected: list[str],
                        routed: str) -> None:
    node = node_api.node_from_inventory(node_api.InventoryNode(name="n", address=inventory))
    status = podstatus.reported_node_status(node, {"facts": {"addresses": reported}}, f.clock())
    assert [(a.type, a.address) for a in status.addresses] == [
        *(("InternalIP", a) for a in expected), ("Hostname", "n")]
    stored = node.model_copy(update={"status": status})
    assert stored.routable_address == routed
    again = podstatus.reported_node_status(stored, {"facts": {"addresses": reported}}, f.clock())
    assert again.addresses == status.addresses
