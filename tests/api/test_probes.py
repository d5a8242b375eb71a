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
                     "a probe needs exactly one handler: exec, httpGet or tcpSocket (2 given)",
                     id="two-handlers"),
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


def test_readiness_may_need_several_successes() -> None:
    probe = _container(readinessProbe={"exec": {"command": ["true"]},
                                       "successThreshold": 3}).readiness_probe
    assert probe is not None and probe.success_threshold == 3
