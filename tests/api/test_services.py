"""Services as Kubernetes defaults and refuses them; EndpointSlices are not written by people."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import registry, services
from tests.api import manifests as m


def service(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}}


def parsed(doc: dict[str, Any]) -> services.Service:
    obj = registry.parse_object(doc)
    assert isinstance(obj, services.Service)
    return obj


def test_a_cluster_ip_service_gets_kubernetes_defaults() -> None:
    spec = parsed(service()).to_dict()["spec"]
    assert spec == {
        "type": "ClusterIP", "selector": {"app": "web"},
        "ports": [{"protocol": "TCP", "port": 80, "targetPort": 80}],
        "clusterIPs": [], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
        "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
    }


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({"type": "NodePort"}, {"externalTrafficPolicy": "Cluster"}, id="nodeport"),
    pytest.param({"type": "LoadBalancer"}, {"externalTrafficPolicy": "Cluster",
                                            "allocateLoadBalancerNodePorts": True},
                 id="loadbalancer"),
    pytest.param({"sessionAffinity": "ClientIP"},
                 {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}}},
                 id="client-ip-affinity"),
    pytest.param({"clusterIP": "None"}, {"clusterIP": "None", "clusterIPs": ["None"]},
                 id="headless"),
    pytest.param({"clusterIP": "10.96.0.20"},
                 {"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"]}, id="chosen-ip"),
    pytest.param({"ports": [{"port": 80, "targetPort": "http"}]},
                 {"ports": [{"protocol": "TCP", "port": 80, "targetPort": "http"}]},
                 id="named-target-port"),
    pytest.param({"ipFamilyPolicy": "PreferDualStack"}, {"ipFamilyPolicy": "PreferDualStack",
                                                         "ipFamilies": ["IPv4"]},
                 id="prefer-dual-stack-is-single-here"),
])
def test_defaults(spec: dict[str, Any], expected: dict[str, Any]) -> None:
    got = parsed(service(**spec)).to_dict()["spec"]
    assert {k: got.get(k) for k in expected} == expected


def test_external_name_has_no_address_fields() -> None:
    spec = parsed(service(type="ExternalName", externalName="db.example.com", ports=[],
                          selector={})).to_dict()["spec"]
    assert spec["externalName"] == "db.example.com"
    assert "ipFamilyPolicy" not in spec and "internalTrafficPolicy" not in spec


@pytest.mark.parametrize(("doc", "path", "message"), [
    pytest.param(service(ports=[{"port": 0}]), "spec.ports[0].port",
                 "0 must be between 1 and 65535, inclusive", id="port-zero"),
    pytest.param(service(ports=[{"port": 70000}]), "spec.ports[0].port",
                 "70000 must be between 1 and 65535, inclusive", id="port-too-big"),
    pytest.param(service(ports=[{"port": 80, "targetPort": 0}]), "spec.ports[0].targetPort",
                 "0 must be between 1 and 65535, inclusive", id="target-port-zero"),
    pytest.param(service(type="NodePort", ports=[{"port": 80, "nodePort": 8080}]),
                 "spec.ports[0].nodePort",
                 "8080 is not in the valid range: NodePorts are 30000-32767", id="nodeport-range"),
    pytest.param(service(ports=[{"port": 80, "nodePort": 30080}]), "spec.ports[0].nodePort",
                 "may not be used when `type` is 'ClusterIP'", id="nodeport-on-clusterip"),
    pytest.param(service(ports=[{"port": 80, "name": "a"}, {"port": 81}]),
                 "spec.ports[1].name",
                 "field 'name' is required when a Service has more than one port",
                 id="unnamed-second-port"),
    pytest.param(service(ports=[{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]),
                 "spec.ports[1]", "Duplicate value: port 80/TCP is listed twice",
                 id="same-port-twice"),
    pytest.param(service(ports=[{"port": 80, "targetPort": "web_http"}]),
                 "spec.ports[0].targetPort",
                 "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                 id="bad-port-name"),
    pytest.param(service(ports=[{"port": 80, "protocol": "SCTP"}]), "spec.ports[0].protocol",
                 "unsupported value 'SCTP': supported values are 'TCP' or 'UDP'", id="sctp"),
    pytest.param(service(clusterIP="10.96.0.300"), "spec.clusterIP",
                 "'10.96.0.300' must be a valid IPv4 address (or None for a headless Service)",
                 id="bad-cluster-ip"),
    pytest.param(service(type="NodePort", clusterIP="None"), "spec.clusterIP",
                 "may not be set to 'None' for NodePort services", id="headless-nodeport"),
    pytest.param(service(type="ExternalName", ports=[]), "spec.externalName",
                 "field 'externalName' is required for a Service of type ExternalName",
                 id="external-name-missing"),
    pytest.param(service(externalTrafficPolicy="Local"), "spec.externalTrafficPolicy",
                 "may only be set for externally-accessible services (NodePort or LoadBalancer)",
                 id="local-policy-on-clusterip"),
    pytest.param(service(sessionAffinity="ClientIP",
                         sessionAffinityConfig={"clientIP": {"timeoutSeconds": 0}}),
                 "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                 "must be greater than 0 and less than or equal to 86400", id="affinity-timeout"),
    pytest.param(service(ipFamilyPolicy="RequireDualStack"), "spec.ipFamilyPolicy",
                 "RequireDualStack is not supported by gitkube: its Service network is IPv4 "
                 "only; use SingleStack or PreferDualStack", id="dual-stack"),
    pytest.param(service(loadBalancerIP="192.168.1.5"), "spec.loadBalancerIP",
                 "field 'loadBalancerIP' is not supported by gitkube yet", id="lb-ip"),
    pytest.param(service(ports=[]), "spec.ports",
                 "field 'ports' is required: a Service needs at least one port", id="no-ports"),
    pytest.param({**service(), "metadata": {"name": "1web"}}, "metadata.name",
                 "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                 "start with an alphabetic character, and end with an alphanumeric character "
                 "(e.g. 'my-name', or 'abc-123', regex used for validation is "
                 "'[a-z]([-a-z0-9]*[a-z0-9])?')", id="name-starts-with-digit"),
    pytest.param({**service(), "metadata": {"name": "kube-dns", "namespace": "kube-system"}},
                 "metadata.name", "kube-system/kube-dns is the cluster DNS Service, which "
                 "gitkube keeps itself (on the tenth address of serviceCIDR, answered by every "
                 "node's agent); give this Service another name or namespace",
                 id="the-cluster-dns-service"),
])
def test_refused_with_the_field_named(doc: dict[str, Any], path: str, message: str) -> None:
    assert m.issues(doc).get(path) == message


def test_a_selector_that_selects_nothing_and_a_headless_service_without_ports_are_valid() -> None:
    parsed(service(selector={"app": "nothing-has-this"}))
    parsed(service(clusterIP="None", ports=[]))


def test_pods_may_name_a_subdomain_and_turn_service_links_off() -> None:
    doc = m.pod({"containers": [m.container()], "hostname": "web-0", "subdomain": "web",
                 "enableServiceLinks": False})
    registry.parse_object(doc)
    assert m.issues(m.pod({"containers": [m.container()], "subdomain": "Web"})) == {
        "spec.subdomain": "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                          "characters or '-', and must start and end with an alphanumeric "
                          "character (e.g. 'my-name' or '123-abc', regex used for validation "
                          "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"}


@pytest.mark.parametrize(("declared", "stored", "expected"), [
    pytest.param({"ports": [{"port": 80}]},
                 {"clusterIP": "10.96.0.5", "ports": [{"port": 80}]},
                 {"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"], "ports": [{"port": 80}]},
                 id="allocated-ip-kept"),
    pytest.param({"type": "ExternalName", "externalName": "x.example"},
                 {"clusterIP": "10.96.0.5"}, {"type": "ExternalName", "externalName": "x.example"},
                 id="ip-dropped-for-external-name"),
    pytest.param({"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP"},
                                                {"port": 53, "protocol": "UDP"}]},
                 {"clusterIP": "10.96.0.5", "type": "NodePort",
                  "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31000}]},
                 {"type": "NodePort", "clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"],
                  "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31000},
                            {"port": 53, "protocol": "UDP"}]},
                 id="node-port-kept-by-port-and-protocol"),
    pytest.param({"ports": [{"port": 80}]},
                 {"type": "NodePort", "ports": [{"port": 80, "nodePort": 31000}]},
                 {"ports": [{"port": 80}]}, id="node-port-dropped-for-cluster-ip"),
])
def test_keep_allocated(declared: dict[str, Any], stored: dict[str, Any],
                        expected: dict[str, Any]) -> None:
    assert services.keep_allocated({"spec": declared}, {"spec": stored}) == {"spec": expected}
