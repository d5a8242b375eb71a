"""A grpc liveness probe run by the node's supervisor against a real podman pod."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import pod_run, until
from .storage import Storage
from .test_podman import Agent

pytestmark = pytest.mark.podman


def _container(agent: Agent, pod: str) -> dict[str, Any]:
    found: dict[str, Any] = agent.pods()[pod]["containers"][0]
    return found


def test_a_grpc_liveness_probe_with_nothing_listening_restarts_the_container(
    agent: Agent, podman_storage: Storage,
) -> None:
    # Nothing in the pod listens on 50051: the probe (in the pod's namespace) is refused.
    main = {"name": "main", "image": podman_storage.image, "command": ["sleep", "1000"],
            "livenessProbe": {"handler": "grpc", "port": 50051, "service": "",
                              "periodSeconds": 1, "timeoutSeconds": 1,
                              "successThreshold": 1, "failureThreshold": 1}}
    agent("converge", pods=[pod_run("grpcbox", [main])])
    restarted = until(lambda: (c := _container(agent, "grpcbox")).get("restartCount", 0) >= 1
                      and c, "the grpc liveness probe's restart")
    message = restarted["lastState"]["message"]
    assert "liveness probe failed" in message
    assert 'failed to connect service at "127.0.0.1:50051": connection refused' in message
