"""The node-resident supervisor against a real podman: restarts, back-off, probes, its pid."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitkube.agent import handler, supervisor

from .storage import Storage
from .test_podman import Agent, podman_name

pytestmark = pytest.mark.podman


@pytest.fixture
def agent(podman_storage: Storage, tmp_path: Path,
          request: pytest.FixtureRequest) -> Iterator[Agent]:
    cluster = request.node.name.replace("_", "-")[:40]
    made = Agent(podman_storage, cluster, tmp_path / "state")
    yield made
    handler.handle({**made.base, "op": "converge", "pods": []})
    supervisor.stop(made.state_dir)


def _pod(name: str, containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"uid": f"uid-{name}", "name": name, "namespace": "default", "hash": "h1",
            "terminationGracePeriodSeconds": 0, "containers": containers, **extra}


def _until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it answers something true (bounded: the supervisor ticks each s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def _inspect(storage: Storage, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = json.loads(storage.podman("inspect", name).stdout)
    return found[0]


def _container(agent: Agent, pod: str, name: str = "main") -> dict[str, Any]:
    found: dict[str, Any] = next(
        c for c in agent.pods()[pod]["containers"] if c["name"] == name)
    return found


def test_a_killed_container_is_restarted_with_no_request_in_between(
    agent: Agent, podman_storage: Storage,
) -> None:
    agent("converge", pods=[_pod("box", [{"name": "main", "image": podman_storage.image,
                                          "command": ["sleep", "1000"]}])])
    running = supervisor.read_pid(agent.state_dir)
    assert running is not None
    os.kill(running[0], 0)  # it runs
    name = podman_name(agent, "box_main")
    before = _inspect(podman_storage, name)["State"]["StartedAt"]
    podman_storage.podman("kill", name)
    # Nothing asks the agent anything now: the supervisor alone brings it back.
    _until(lambda: (state := _inspect(podman_storage, name)["State"])["Running"]
           and state["StartedAt"] != before, "the container restarted")
    container = _container(agent, "box")
    assert (container["state"], container["restartCount"]) == ("running", 1)
    assert container["lastState"]["exitCode"] == 137
    assert container["lastState"]["reason"] == "Error"


def test_crash_loop_back_off_after_the_first_restart(
    agent: Agent, podman_storage: Storage,
) -> None:
    agent("converge", pods=[_pod("crash", [{"name": "main", "image": podman_storage.image,
                                            "command": ["sh", "-c", "exit 2"]}])])
    container = _until(lambda: (c := _container(agent, "crash")).get("reason") ==
                       "CrashLoopBackOff" and "back-off 10s" in c.get("message", "") and c,
                       "a 10 s back-off after the immediate first restart")
    assert container["restartCount"] == 1
    assert container["lastState"]["exitCode"] == 2
    assert agent.pods()["crash"]["phase"] == "Running"


def test_a_failing_liveness_probe_restarts_and_readiness_gates(
    agent: Agent, podman_storage: Storage,
) -> None:
    # The first run never writes /tmp/alive; the restarted one does (podman keeps /tmp).
    script = ("if [ -f /tmp/crashed ]; then echo ok > /tmp/alive; else echo > /tmp/crashed; fi;"
              " mkdir -p /www; exec httpd -f -p 8080 -h /www")
    fast = {"periodSeconds": 1, "timeoutSeconds": 1, "successThreshold": 1}
    web = {"name": "web", "image": podman_storage.image, "command": ["sh", "-c", script],
           "livenessProbe": {"handler": "exec", "command": ["cat", "/tmp/alive"],
                             "failureThreshold": 2, **fast},
           "readinessProbe": {"handler": "httpGet", "port": 8080, "path": "/index.html",
                              "failureThreshold": 1, **fast}}
    side = {"name": "side", "image": podman_storage.image, "command": ["sleep", "1000"],
            "readinessProbe": {"handler": "tcpSocket", "port": 8080, "failureThreshold": 1,
                               **fast}}
    agent("converge", pods=[_pod("probed", [web, side])])

    restarted = _until(lambda: (c := _container(agent, "probed", "web")).get("restartCount") == 1
                       and c, "the liveness probe's restart")
    assert "liveness probe failed" in restarted["lastState"]["message"]
    assert _until(lambda: _container(agent, "probed", "side")["ready"], "side ready: port open")
    assert _container(agent, "probed", "web")["ready"] is False, "no index.html yet"
    podman_storage.podman("exec", podman_name(agent, "probed_web"), "sh", "-c",
                          "echo hi > /www/index.html")
    assert _until(lambda: _container(agent, "probed", "web")["ready"], "web ready: page served")
    assert _container(agent, "probed", "web")["restartCount"] == 1


def test_stopped_by_its_pid_and_started_again_by_the_next_request(
    agent: Agent, podman_storage: Storage,
) -> None:
    agent("converge", pods=[_pod("box", [{"name": "main", "image": podman_storage.image,
                                          "command": ["sleep", "1000"]}])])
    first = supervisor.read_pid(agent.state_dir)
    assert first is not None
    assert supervisor.stop(agent.state_dir)
    assert supervisor.read_pid(agent.state_dir) is None
    assert supervisor.stop(agent.state_dir) is False, "nothing left to stop"

    agent("observe")
    second = supervisor.read_pid(agent.state_dir)
    assert second is not None and second[0] != first[0]
    podman_storage.podman("kill", podman_name(agent, "box_main"))
    _until(lambda: _container(agent, "box").get("restartCount") == 1, "restart by the new one")
