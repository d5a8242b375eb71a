"""The address plan of a revision: Service addresses, NodePorts and ranges, with file:line."""

from __future__ import annotations

import pytest

from gitkube.source import manifests, networkcheck, repo, yamlload

from .source_helpers import WorkRepo

INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
nodes:
  - name: node-1
    address: 192.168.7.10
settings:
  serviceCIDR: 10.96.0.0/16
  clusterCIDR: 10.244.0.0/16
"""


def service(name: str, **spec: str | int) -> str:
    extra = "".join(f"  {key}: {value}\n" for key, value in spec.items() if key != "nodePort")
    node_port = f"\n      nodePort: {spec['nodePort']}" if "nodePort" in spec else ""
    return (f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n"
            f"  selector: {{app: {name}}}\n{extra}"
            f"  ports:\n    - port: 80{node_port}\n")


def problems(text: str, inventory: str = INVENTORY,
             host: list[tuple[str, str]] | None = None) -> list[str]:
    docs = yamlload.load_documents(text, "svc.yaml")
    objects, invalid = manifests.validate_documents(docs)
    assert invalid == []
    inv_docs = yamlload.load_documents(inventory, "inventory.yaml")
    inv, inv_problems = manifests.validate_inventory(inv_docs)
    assert inv_problems == []
    found = networkcheck.check_revision(objects, docs, inv, inv_docs, host or [])
    return [str(p) for p in found]


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param(service("web", clusterIP="10.96.3.4"), [], id="chosen-ip-in-range"),
    pytest.param(service("web", clusterIP="10.97.0.4"), [
        "svc.yaml:7: spec.clusterIP: 10.97.0.4 is not in the Service range 10.96.0.0/16 "
        "(settings.serviceCIDR in inventory.yaml); leave clusterIP out to get one, or pick one "
        "in the range."], id="ip-outside-service-cidr"),
    pytest.param(service("web", clusterIP="10.96.0.10"), [
        "svc.yaml:7: spec.clusterIP: 10.96.0.10 is reserved: it is the cluster DNS address."],
        id="the-dns-address"),
    pytest.param(service("web", clusterIP="10.96.3.4") + "---\n"
                 + service("api", clusterIP="10.96.3.4"), [
        "svc.yaml:17: spec.clusterIP: provided IP is already allocated: Service default/web "
        "asks for 10.96.3.4 too; a cluster IP belongs to one Service."], id="ip-taken-twice"),
    pytest.param(service("web", type="NodePort", nodePort=30080) + "---\n"
                 + service("api", type="NodePort", nodePort=30080), [
        "svc.yaml:21: spec.ports[0].nodePort: provided port is already allocated: Service "
        "default/web asks for NodePort 30080 too; a NodePort belongs to one Service."],
        id="node-port-taken-twice"),
    pytest.param(service("web", clusterIP="None"), [], id="headless"),
])
def test_service_addresses(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


@pytest.mark.parametrize(("host", "expected"), [
    pytest.param([("eth0", "192.0.2.0/24")], [], id="elsewhere"),
    pytest.param([("eth1", "10.96.128.0/20")], [
        "inventory.yaml:7: settings.serviceCIDR: 10.96.0.0/16 overlaps network 10.96.128.0/20 "
        "of eth1 on this machine (10.96.128.0/20); choose a range no machine of the cluster is "
        "on."], id="service-range-on-a-lan"),
    pytest.param([("gk0", "10.244.3.0/24"), ("gk1", "10.96.0.0/16")], [],
                 id="gitkube-own-pod-subnet-and-service-route"),
])
def test_ranges_against_this_machines_networks(host: list[tuple[str, str]],
                                               expected: list[str]) -> None:
    assert problems(service("web"), host=host) == expected


@pytest.mark.parametrize(("settings", "expected"), [
    pytest.param("serviceCIDR: 10.244.0.0/20", [
        "inventory.yaml:7: settings.serviceCIDR: 10.244.0.0/20 overlaps clusterCIDR "
        "10.244.0.0/16; pod and Service addresses must not share a range."], id="overlap"),
    pytest.param("clusterCIDR: 192.168.0.0/16", [
        "inventory.yaml:7: settings.clusterCIDR: 192.168.0.0/16 overlaps node node-1's address "
        "(192.168.7.10); choose a range no machine of the cluster is on."], id="node-address"),
    pytest.param("clusterCIDR: 10.244.0.1/16", [
        "inventory.yaml:7: settings.clusterCIDR: '10.244.0.1/16' is not a network in CIDR "
        "notation such as 10.96.0.0/12 (10.244.0.1/16 has host bits set)."], id="host-bits"),
    pytest.param("clusterDomain: Cluster.Local", [
        "inventory.yaml:7: settings.clusterDomain: a lowercase RFC 1123 subdomain must consist "
        "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')."],
        id="domain"),
])
def test_inventory_ranges(settings: str, expected: list[str]) -> None:
    text = ("apiVersion: gitkube.io/v1alpha1\nkind: Inventory\nnodes:\n  - name: node-1\n"
            f"    address: 192.168.7.10\nsettings:\n  {settings}\n")
    _, found = manifests.validate_inventory(yamlload.load_documents(text, "inventory.yaml"))
    assert [str(p) for p in found] == expected


RECORDED_ROUTES = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
podman0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t0000000A\t010200C0\t0003\t0\t0\t0\t000000FF\t0\t0\t0
"""


def test_proc_route_gives_the_connected_networks() -> None:
    assert networkcheck.parse_proc_route(RECORDED_ROUTES) == [
        ("podman0", "10.88.0.0/16"), ("eth0", "192.0.2.0/24")]


def test_a_revision_with_a_port_taken_twice_is_refused_as_a_whole(work_repo: WorkRepo) -> None:
    work_repo.commit("two services", {
        "inventory.yaml": INVENTORY,
        "web.yaml": service("web", type="NodePort", nodePort=30080),
        "api.yaml": service("api", type="NodePort", nodePort=30080),
    })
    revision = repo.load_revision(work_repo.path, "main")
    assert [str(p) for p in revision.problems] == [
        "web.yaml:10: spec.ports[0].nodePort: provided port is already allocated: Service "
        "default/api asks for NodePort 30080 too; a NodePort belongs to one Service."]
