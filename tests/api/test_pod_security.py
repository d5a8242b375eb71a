"""securityContext, lifecycle, dnsPolicy/dnsConfig and resourceFieldRef: accepted as Kubernetes
accepts them, or refused with the field path and a reason."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import errors, registry


def _pod(spec: dict[str, Any] | None = None, **container: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "app", "image": "busybox:1", **container}],
                     **(spec or {})}}


def _issues(doc: dict[str, Any]) -> dict[str, str]:
    try:
        registry.parse_object(doc)
    except errors.ObjectInvalid as exc:
        return {i.path: i.message for i in exc.issues}
    return {}


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(_pod({"securityContext": {
            "runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "runAsNonRoot": True,
            "supplementalGroups": [4000], "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
            "sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65000"}]}}),
            id="pod-context"),
        pytest.param(_pod(securityContext={
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
            "procMount": "Default", "seLinuxOptions": {"level": "s0:c1"},
            "windowsOptions": {"runAsUserName": "ContainerUser"},
            "appArmorProfile": {"type": "Unconfined"}}), id="container-context"),
        pytest.param(_pod(lifecycle={"postStart": {"httpGet": {"path": "/", "port": 80}},
                                     "preStop": {"sleep": {"seconds": 5}}}), id="hooks"),
        pytest.param(_pod({"dnsPolicy": "None", "dnsConfig": {
            "nameservers": ["192.0.2.1", "2001:db8::1"], "searches": ["svc.example.", "."],
            "options": [{"name": "ndots", "value": "2"}]}}), id="dns-none"),
        pytest.param(_pod(env=[{"name": "M", "valueFrom": {"resourceFieldRef": {
            "resource": "limits.memory", "divisor": "1Mi"}}}]), id="resource-field-ref"),
    ],
)
def test_accepted(doc: dict[str, Any]) -> None:
    assert _issues(doc) == {}


@pytest.mark.parametrize(
    ("doc", "path", "message"),
    [
        pytest.param(_pod(securityContext={"runAsUser": -1}),
                     "spec.containers[0].securityContext.runAsUser",
                     "must be between 0 and 2147483647, inclusive", id="negative-uid"),
        pytest.param(_pod({"securityContext": {"fsGroup": 2**31}}),
                     "spec.securityContext.fsGroup",
                     "must be between 0 and 2147483647, inclusive", id="fsgroup-too-big"),
        pytest.param(_pod(securityContext={"privileged": True,
                                           "allowPrivilegeEscalation": False}),
                     "spec.containers[0].securityContext",
                     "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
                     id="privileged-without-escalation"),
        pytest.param(_pod(securityContext={"capabilities": {"add": ["NET_ADMN"]}}),
                     "spec.containers[0].securityContext.capabilities.add[0]",
                     "unknown capability 'NET_ADMN': use a Linux capability name such as "
                     "NET_ADMIN or CAP_NET_ADMIN (see capabilities(7)), or ALL",
                     id="unknown-capability"),
        pytest.param(_pod(securityContext={"seccompProfile": {
            "type": "Localhost", "localhostProfile": "my.json"}}),
            "spec.containers[0].securityContext.seccompProfile.type",
            "Localhost seccomp profiles are not supported by gitkube: Kubernetes reads them "
            "from kubelet's seccomp directory, which gitkube nodes do not have; use "
            "RuntimeDefault (podman's profile) or Unconfined", id="seccomp-localhost"),
        pytest.param(_pod(securityContext={"seccompProfile": {"type": "Localhost"}}),
                     "spec.containers[0].securityContext.seccompProfile.localhostProfile",
                     "must be set when seccomp type is Localhost", id="localhost-no-profile"),
        pytest.param(_pod(securityContext={"procMount": "Unmasked"}),
                     "spec.containers[0].securityContext.procMount",
                     "`hostUsers` must be false to use `Unmasked`, and gitkube does not support "
                     "user namespaces (hostUsers) yet; use Default", id="proc-mount-unmasked"),
        pytest.param(_pod(securityContext={"windowsOptions": {"hostProcess": True}}),
                     "spec.containers[0].securityContext.windowsOptions.hostProcess",
                     "Windows HostProcess containers need a Windows node (and hostNetwork); "
                     "gitkube runs Linux containers only", id="host-process"),
        pytest.param(_pod({"securityContext": {"sysctls": [
            {"name": "kernel.msgmax", "value": "1"}]}}),
            "spec.securityContext.sysctls[0].name",
            "sysctl 'kernel.msgmax' is not in Kubernetes' safe set, which is all a node allows "
            "without --allowed-unsafe-sysctls (gitkube has no such setting); safe: "
            "kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, "
            "net.ipv4.ip_local_reserved_ports, net.ipv4.ip_unprivileged_port_start, "
            "net.ipv4.ping_group_range, net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl, "
            "net.ipv4.tcp_keepalive_probes, net.ipv4.tcp_keepalive_time, net.ipv4.tcp_rmem, "
            "net.ipv4.tcp_syncookies, net.ipv4.tcp_wmem", id="unsafe-sysctl"),
        pytest.param(_pod({"securityContext": {"supplementalGroupsPolicy": "Strict"}}),
                     "spec.securityContext.supplementalGroupsPolicy",
                     "field 'supplementalGroupsPolicy' is not supported by gitkube yet",
                     id="supplemental-groups-policy"),
        pytest.param(_pod(lifecycle={"preStop": {"tcpSocket": {"port": 80}}}),
                     "spec.containers[0].lifecycle.preStop.tcpSocket",
                     "tcpSocket is not supported as a lifecycle handler: Kubernetes keeps it "
                     "only for old manifests and the hook always fails at run time; use exec, "
                     "httpGet or sleep", id="tcp-socket-hook"),
        pytest.param(_pod(lifecycle={"preStop": {}}), "spec.containers[0].lifecycle.preStop",
                     "must specify a handler type: exec, httpGet or sleep", id="empty-hook"),
        pytest.param(_pod({"terminationGracePeriodSeconds": 10},
                          lifecycle={"preStop": {"sleep": {"seconds": 20}}}),
                     "spec.containers[0].lifecycle.preStop.sleep.seconds",
                     "must be non-negative and less than terminationGracePeriodSeconds (10)",
                     id="sleep-longer-than-grace"),
        pytest.param(_pod({"dnsPolicy": "None"}), "spec.dnsConfig",
                     "must provide `dnsConfig` when `dnsPolicy` is None", id="none-no-config"),
        pytest.param(_pod({"dnsPolicy": "None", "dnsConfig": {"searches": ["a"]}}),
                     "spec.dnsConfig.nameservers",
                     "must provide at least one DNS nameserver when `dnsPolicy` is None",
                     id="none-no-nameserver"),
        pytest.param(_pod({"dnsConfig": {"nameservers": ["1.1.1.1", "1.0.0.1", "8.8.8.8",
                                                         "8.8.4.4"]}}),
                     "spec.dnsConfig.nameservers", "must not have more than 3 nameservers",
                     id="four-nameservers"),
        pytest.param(_pod({"dnsConfig": {"nameservers": ["dns.example"]}}),
                     "spec.dnsConfig.nameservers[0]", "'dns.example' must be a valid IP address",
                     id="nameserver-not-ip"),
        pytest.param(_pod({"dnsConfig": {"searches": [f"s{i}.example" for i in range(33)]}}),
                     "spec.dnsConfig.searches", "must not have more than 32 search paths",
                     id="too-many-searches"),
        pytest.param(_pod({"dnsPolicy": "Cluster"}), "spec.dnsPolicy",
                     "unsupported value 'Cluster': supported values are 'ClusterFirst', "
                     "'ClusterFirstWithHostNet', 'Default' or 'None'", id="bad-policy"),
        pytest.param(_pod(env=[{"name": "X", "valueFrom": {"resourceFieldRef": {
            "resource": "limits.gpu"}}}]),
            "spec.containers[0].env[0].valueFrom.resourceFieldRef.resource",
            "unsupported value 'limits.gpu': supported values are limits.cpu, "
            "limits.ephemeral-storage, limits.memory, requests.cpu, requests.ephemeral-storage, "
            "requests.memory", id="resource-unknown"),
        pytest.param(_pod(env=[{"name": "X", "valueFrom": {"resourceFieldRef": {
            "resource": "limits.cpu", "divisor": "10m"}}}]),
            "spec.containers[0].env[0].valueFrom.resourceFieldRef.divisor",
            "only divisor's values 1m, 1 are supported with the cpu resource", id="cpu-divisor"),
        pytest.param(_pod(env=[{"name": "X", "valueFrom": {"resourceFieldRef": {
            "resource": "limits.cpu", "containerName": "nope"}}}]),
            "spec.containers[0].env[0].valueFrom.resourceFieldRef.containerName",
            "Not found: no container named 'nope' in the pod", id="container-name"),
        pytest.param(_pod({"volumes": [{"name": "info", "downwardAPI": {"items": [
            {"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}}]}}]}),
            "spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath",
            "unsupported value 'status.podIP': supported values are metadata.annotations, "
            "metadata.labels, metadata.name, metadata.namespace, metadata.uid, "
            "metadata.labels['<key>'] and metadata.annotations['<key>']",
            id="downward-volume-env-only-field"),
        pytest.param(_pod({"volumes": [{"name": "info", "downwardAPI": {"items": [
            {"path": "cpu", "resourceFieldRef": {"resource": "limits.cpu"}}]}}]}),
            "spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName",
            "field 'containerName' is required in a volume", id="downward-volume-container"),
        pytest.param(_pod({"volumes": [{"name": "info", "downwardAPI": {"items": [
            {"path": "../x", "fieldRef": {"fieldPath": "metadata.name"}}]}}]}),
            "spec.volumes[0].downwardAPI.items[0].path", "must not contain '..'",
            id="downward-volume-path"),
    ],
)
def test_rejected(doc: dict[str, Any], path: str, message: str) -> None:
    assert _issues(doc).get(path) == message, _issues(doc)
