"""Probes lowered for the node's supervisor: the handler named, named ports resolved."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.controllers import lowering

from . import factories as f
from .test_lowering import _container, _lower

PORTS = [{"containerPort": 8080, "name": "http"}]


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        pytest.param({"exec": {"command": ["cat", "/tmp/ok"]}, "periodSeconds": 2},
                     {"handler": "exec", "command": ["cat", "/tmp/ok"], "periodSeconds": 2},
                     id="exec"),
        pytest.param({"httpGet": {"port": "http", "path": "/healthz",
                                  "httpHeaders": [{"name": "X-Probe", "value": "1"}]}},
                     {"handler": "httpGet", "port": 8080, "path": "/healthz", "scheme": "HTTP",
                      "httpHeaders": [{"name": "X-Probe", "value": "1"}], "periodSeconds": 10},
                     id="http-named-port"),
        pytest.param({"tcpSocket": {"port": 5432, "host": "127.0.0.1"}, "timeoutSeconds": 3},
                     {"handler": "tcpSocket", "port": 5432, "host": "127.0.0.1",
                      "timeoutSeconds": 3}, id="tcp-host"),
        pytest.param({"grpc": {"port": 9090}},
                     {"handler": "grpc", "port": 9090, "service": ""}, id="grpc-server"),
        pytest.param({"grpc": {"port": 9090, "service": "billing"}, "timeoutSeconds": 2},
                     {"handler": "grpc", "port": 9090, "service": "billing",
                      "timeoutSeconds": 2}, id="grpc-service"),
    ],
)
def test_probe_lowering(probe: dict[str, Any], expected: dict[str, Any]) -> None:
    run = _lower(_container(ports=PORTS, readinessProbe=probe))
    lowered = run["readinessProbe"]
    defaults = {"initialDelaySeconds": 0, "timeoutSeconds": 1, "periodSeconds": 10,
                "successThreshold": 1, "failureThreshold": 3}
    assert lowered == {**defaults, **expected}


def _hash(container: dict[str, Any]) -> str:
    pod = f.pod("p", node="node-1", containers=[container], uid="pod-uid")
    return lowering.lower_pod(pod, f.snapshot(pod))["hash"]


def test_a_probe_change_replaces_the_pod() -> None:
    assert _hash(_container(livenessProbe={"exec": {"command": ["true"]}})) != _hash(
        _container(livenessProbe={"exec": {"command": ["false"]}}))


def test_a_grpc_service_change_replaces_the_pod() -> None:
    assert _hash(_container(livenessProbe={"grpc": {"port": 9090}})) != _hash(
        _container(livenessProbe={"grpc": {"port": 9090, "service": "billing"}}))
