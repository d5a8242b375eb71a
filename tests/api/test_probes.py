"""Probes in manifests: Kubernetes' defaults, one handler, and the ports they name."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import core, registry
from tests.api import manifests as m


def _container(**probes: Any) -> core.Container:
    pod = registry.parse_object(m.pod({"containers": [m.container(
        ports=[{"containerPort": 8080, "name": "http"}], **probes)]}))
    assert isinstance(pod, core.Pod)
    return pod.spec.containers[0]


def test_kubernetes_defaults() -> None:
    probe = _container(livenessProbe={"httpGet": {"port": "http"}}).liveness_probe
    assert probe is not None
    assert probe.to_dict() == {
        "httpGet": {"path": "/", "port": "http", "scheme": "HTTP", "httpHeaders": []},
        "initialDelaySeconds": 0, "timeoutSeconds": 1, "periodSeconds": 10,
        "successThreshold": 1, "failureThreshold": 3,
    }


@pytest.mark.parametrize(
    ("probes", "path", "message"),
    [
        pytest.param({"readinessProbe": {"exec": {"command": ["true"]},
                                         "tcpSocket": {"port": 1}}},
                     "spec.containers[0].readinessProbe",
                     "a probe needs exactly one handler: exec, httpGet, tcpSocket or grpc "
                     "(2 given)", id="two-handlers"),
        pytest.param({"livenessProbe": {"grpc": {"port": 9090}, "tcpSocket": {"port": 9090}}},
                     "spec.containers[0].livenessProbe",
                     "a probe needs exactly one handler: exec, httpGet, tcpSocket or grpc "
                     "(2 given)", id="grpc-and-tcp"),
        pytest.param({"livenessProbe": {"initialDelaySeconds": 3}},
                     "spec.containers[0].livenessProbe",
                     "a probe needs exactly one handler: exec, httpGet, tcpSocket or grpc "
                     "(0 given)", id="no-handler"),
        pytest.param({"readinessProbe": {"grpc": {"port": 0}}},
                     "spec.containers[0].readinessProbe.grpc.port",
                     "Invalid value: 0: must be between 1 and 65535, inclusive",
                     id="grpc-port-zero"),
        pytest.param({"startupProbe": {"grpc": {"port": 65536, "service": "db"}}},
                     "spec.containers[0].startupProbe.grpc.port",
                     "Invalid value: 65536: must be between 1 and 65535, inclusive",
                     id="grpc-port-range"),
        pytest.param({"livenessProbe": {"grpc": {"port": "http"}}},
                     "spec.containers[0].livenessProbe.grpc.port",
                     "Invalid value: 'http': a grpc probe's port must be a number (Kubernetes "
                     "accepts no port names here); write the port number", id="grpc-named-port"),
        pytest.param({"livenessProbe": {"grpc": {"service": "db"}}},
                     "spec.containers[0].livenessProbe.grpc.port", "field 'port' is required",
                     id="grpc-port-missing"),
        pytest.param({"livenessProbe": {"grpc": {"port": 9090, "tls": True}}},
                     "spec.containers[0].livenessProbe.grpc.tls",
                     "unknown field 'tls' (check its spelling and indentation)",
                     id="grpc-unknown-field"),
        pytest.param({"livenessProbe": {"exec": {"command": ["true"]}, "successThreshold": 2}},
                     "spec.containers[0].livenessProbe.successThreshold", "must be 1",
                     id="liveness-success-threshold"),
        pytest.param({"startupProbe": {"tcpSocket": {"port": "metrics"}}},
                     "spec.containers[0].startupProbe.tcpSocket.port",
                     "Invalid value: 'metrics': names no port of this container; use a number "
                     "or the name of one of its ports", id="unknown-port-name"),
        pytest.param({"readinessProbe": {"httpGet": {"port": 70000}}},
                     "spec.containers[0].readinessProbe.httpGet.port",
                     "Invalid value: 70000: must be between 1 and 65535, inclusive",
                     id="port-range"),
        pytest.param({"readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 0}},
                     "spec.containers[0].readinessProbe.periodSeconds",
                     "must be greater than or equal to 1, not 0", id="period-zero"),
    ],
)
def test_rejected(probes: dict[str, Any], path: str, message: str) -> None:
    found = m.issues(m.pod({"containers": [m.container(
        ports=[{"containerPort": 8080, "name": "http"}], **probes)]}))
    assert found.get(path) == message, found


@pytest.mark.parametrize(
    ("grpc", "expected"),
    [
        pytest.param({"port": 9090}, {"port": 9090}, id="server-health"),
        pytest.param({"port": 9090, "service": "billing"}, {"port": 9090, "service": "billing"},
                     id="named-service"),
        pytest.param({"port": 9090, "service": ""}, {"port": 9090, "service": ""},
                     id="empty-service"),
    ],
)
def test_grpc_probes_are_accepted(grpc: dict[str, Any], expected: dict[str, Any]) -> None:
    for field in ("livenessProbe", "readinessProbe", "startupProbe"):
        container = _container(**{field: {"grpc": grpc, "periodSeconds": 5}})
        probe = {"livenessProbe": container.liveness_probe,
                 "readinessProbe": container.readiness_probe,
                 "startupProbe": container.startup_probe}[field]
        assert probe is not None
        assert probe.to_dict() == {
            "grpc": expected, "initialDelaySeconds": 0, "timeoutSeconds": 1,
            "periodSeconds": 5, "successThreshold": 1, "failureThreshold": 3,
        }


def test_readiness_may_need_several_successes() -> None:
    probe = _container(readinessProbe={"exec": {"command": ["true"]},
                                       "successThreshold": 3}).readiness_probe
    assert probe is not None and probe.success_threshold == 3
