"""Lowering securityContext, lifecycle hooks, DNS and resourceFieldRef, as kubelet reads them."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gitkube.api import core
from gitkube.controllers import lowering

from . import factories as f


def _pod(containers: list[dict[str, Any]], **spec: Any) -> core.Pod:
    return core.Pod.model_validate({
        "metadata": {"name": "p", "namespace": "default", "uid": "pod-uid"},
        "spec": {"nodeName": "node-1", "containers": containers, **spec},
    })


def _run(containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    pod = _pod(containers, **spec)
    node = f.node("node-1", capacity={"cpu": "2", "memory": "4Gi"})
    return dict(lowering.lower_pod(pod, f.snapshot(pod, node)))


def _c(**fields: Any) -> dict[str, Any]:
    return {"name": "app", "image": "busybox:1", **fields}


@pytest.mark.parametrize(
    ("pod_context", "container_context", "expected"),
    [
        pytest.param(None, None, None, id="none"),
        pytest.param({"runAsUser": 1000, "runAsGroup": 3000}, None,
                     {"runAsUser": 1000, "runAsGroup": 3000}, id="pod-user-inherited"),
        pytest.param({"runAsUser": 1000}, {"runAsUser": 2000},
                     {"runAsUser": 2000}, id="container-user-wins"),
        pytest.param({"runAsNonRoot": True}, {"runAsNonRoot": False}, None,
                     id="container-runAsNonRoot-false-wins"),
        pytest.param({"fsGroup": 2000, "supplementalGroups": [4000, 2000]}, None,
                     {"groups": [2000, 4000]}, id="fsGroup-then-supplemental"),
        pytest.param(None, {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
                     {"noNewPrivileges": True, "readOnlyRootFilesystem": True},
                     id="no-new-privileges-read-only"),
        pytest.param(None, {"allowPrivilegeEscalation": True}, None,
                     id="escalation-allowed-is-default"),
        pytest.param(None, {"capabilities": {"add": ["CAP_NET_ADMIN"], "drop": ["all"]}},
                     {"capAdd": ["NET_ADMIN"], "capDrop": ["ALL"]}, id="capabilities"),
        pytest.param({"seccompProfile": {"type": "Unconfined"}},
                     {"seccompProfile": {"type": "RuntimeDefault"}},
                     {"seccomp": "RuntimeDefault"}, id="seccomp-container-wins"),
        pytest.param({"appArmorProfile": {"type": "Localhost", "localhostProfile": "k8s-x"}},
                     None, {"appArmor": "k8s-x"}, id="apparmor-localhost-by-name"),
        pytest.param(None, {"seLinuxOptions": {"level": "s0:c123,c456"}},
                     {"seLinux": {"level": "s0:c123,c456"}}, id="selinux"),
        pytest.param(None, {"privileged": True}, {"privileged": True}, id="privileged"),
        pytest.param({"windowsOptions": {"runAsUserName": "x"}}, None, None,
                     id="windows-options-ignored"),
    ],
)
def test_effective_security(pod_context: dict[str, Any] | None,
                            container_context: dict[str, Any] | None,
                            expected: dict[str, Any] | None) -> None:
    container = _c(**({"securityContext": container_context} if container_context else {}))
    spec = {"securityContext": pod_context} if pod_context else {}
    run = _run([container], **spec)
    assert run["containers"][0].get("security") == expected


def test_pod_level_fs_group_and_sysctls() -> None:
    run = _run([_c()], securityContext={"fsGroup": 2000, "sysctls": [
        {"name": "net/ipv4/tcp_syncookies", "value": "1"},
        {"name": "kernel.shm_rmid_forced", "value": "0"}]})
    assert run["fsGroup"] == 2000
    assert run["sysctls"] == {"net.ipv4.tcp_syncookies": "1", "kernel.shm_rmid_forced": "0"}


def test_security_context_change_replaces_the_pod() -> None:
    plain = _run([_c()])
    hardened = _run([_c(securityContext={"runAsUser": 1000})])
    assert plain["hash"] != hardened["hash"]


@pytest.mark.parametrize(
    ("lifecycle", "expected"),
    [
        pytest.param({"postStart": {"exec": {"command": ["sh", "-c", "echo hi"]}}},
                     {"postStart": {"handler": "exec", "command": ["sh", "-c", "echo hi"]}},
                     id="exec-post-start"),
        pytest.param({"preStop": {"sleep": {"seconds": 5}}},
                     {"preStop": {"handler": "sleep", "seconds": 5}}, id="sleep-pre-stop"),
        pytest.param({"preStop": {"httpGet": {"path": "/quit", "port": "http"}}},
                     {"preStop": {"handler": "httpGet", "path": "/quit", "port": 8080,
                                  "scheme": "HTTP"}}, id="http-named-port"),
    ],
)
def test_hooks(lifecycle: dict[str, Any], expected: dict[str, Any]) -> None:
    container = _c(lifecycle=lifecycle, ports=[{"name": "http", "containerPort": 8080}])
    lowered = _run([container])["containers"][0]
    assert {k: lowered[k] for k in ("postStart", "preStop") if k in lowered} == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param({}, {"policy": "ClusterFirst"}, id="cluster-first-is-the-default"),
        pytest.param({"dnsPolicy": "ClusterFirstWithHostNet"}, {"policy": "ClusterFirst"},
                     id="cluster-first-with-host-net"),
        pytest.param({"dnsPolicy": "Default"}, None, id="default"),
        pytest.param({"dnsPolicy": "Default", "dnsConfig": {"searches": ["a.example"]}},
                     {"policy": "Default", "searches": ["a.example"]}, id="default-extra"),
        pytest.param({"dnsPolicy": "ClusterFirst", "dnsConfig": {"searches": ["a.example"]}},
                     {"policy": "ClusterFirst", "searches": ["a.example"]},
                     id="cluster-first-extra"),
        pytest.param({"dnsPolicy": "None", "dnsConfig": {
            "nameservers": ["192.0.2.1"], "searches": ["ns1.svc.example"],
            "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}},
            {"policy": "None", "nameservers": ["192.0.2.1"], "searches": ["ns1.svc.example"],
             "options": ["ndots:2", "edns0"]}, id="none"),
    ],
)
def test_dns(spec: dict[str, Any], expected: dict[str, Any] | None) -> None:
    assert _run([_c()], **spec).get("dns") == expected


_RESOURCES = {"requests": {"cpu": "125m", "memory": "32Mi"},
              "limits": {"cpu": "250m", "memory": "64Mi"}}


@pytest.mark.parametrize(
    ("resources", "ref", "expected"),
    [
        pytest.param(_RESOURCES, {"resource": "requests.cpu"}, "1", id="cpu-request-rounds-up"),
        pytest.param(_RESOURCES, {"resource": "limits.cpu", "divisor": "1m"}, "250",
                     id="cpu-limit-millis"),
        pytest.param(_RESOURCES, {"resource": "requests.memory"}, "33554432",
                     id="memory-request-bytes"),
        pytest.param(_RESOURCES, {"resource": "limits.memory", "divisor": "1Mi"}, "64",
                     id="memory-limit-mebibytes"),
        pytest.param(_RESOURCES, {"resource": "limits.memory", "divisor": "1G"}, "1",
                     id="memory-rounds-up"),
        pytest.param({}, {"resource": "limits.cpu"}, "2", id="unset-cpu-limit-is-node-allocatable"),
        pytest.param({}, {"resource": "limits.memory", "divisor": "1Mi"}, "4096",
                     id="unset-memory-limit-is-node-allocatable"),
        pytest.param({}, {"resource": "requests.cpu"}, "0", id="unset-request-is-zero"),
        pytest.param({}, {"resource": "limits.ephemeral-storage"}, "0",
                     id="ephemeral-storage-unknown-is-zero"),
        pytest.param({"limits": {"cpu": "1500m"}}, {"resource": "requests.cpu"}, "2",
                     id="request-defaults-to-limit"),
    ],
)
def test_resource_field_ref(resources: dict[str, Any], ref: dict[str, Any],
                            expected: str) -> None:
    container = _c(resources=resources,
                   env=[{"name": "V", "valueFrom": {"resourceFieldRef": ref}}])
    assert _run([container])["containers"][0]["env"] == {"V": expected}


def test_resource_field_ref_of_another_container() -> None:
    sidecar = {"name": "side", "image": "busybox:1", "resources": {"limits": {"memory": "1Gi"}}}
    app = _c(env=[{"name": "SIDE_MEM", "valueFrom": {"resourceFieldRef": {
        "containerName": "side", "resource": "limits.memory", "divisor": "1Mi"}}}])
    assert _run([app, sidecar])["containers"][0]["env"] == {"SIDE_MEM": "1024"}


def test_downward_api_volume_files() -> None:
    pod = core.Pod.model_validate({
        "metadata": {"name": "p", "namespace": "default", "uid": "pod-uid",
                     "labels": {"zone": "us-est-coast", "rack": "rack-22"},
                     "annotations": {"build": "two"}},
        "spec": {"nodeName": "node-1", "containers": [_c(
            resources={"limits": {"memory": "64Mi"}},
            volumeMounts=[{"name": "podinfo", "mountPath": "/etc/podinfo"}])],
            "volumes": [{"name": "podinfo", "downwardAPI": {"defaultMode": 0o440, "items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
                {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}, "mode": 0o400},
                {"path": "mem", "resourceFieldRef": {"containerName": "app",
                                                     "resource": "limits.memory",
                                                     "divisor": "1Mi"}}]}}]},
    })
    run = lowering.lower_pod(pod, f.snapshot(pod))
    files = {item["path"]: (base64.b64decode(item["content"]).decode(), item["mode"])
             for item in run["containers"][0]["files"]}
    assert files == {
        "/etc/podinfo/labels": ('rack="rack-22"\nzone="us-est-coast"', 0o440),
        "/etc/podinfo/annotations": ('build="two"', 0o440),
        "/etc/podinfo/name": ("p", 0o400),
        "/etc/podinfo/mem": ("64", 0o440),
    }
    relabelled = pod.model_copy(deep=True)
    relabelled.metadata.labels["zone"] = "eu-west"
    again = lowering.lower_pod(relabelled, f.snapshot(relabelled))
    # A label change rewrites the file in place: same spec hash, new files hash.
    assert again["hash"] == run["hash"]
    assert again["filesHash"] != run["filesHash"]
