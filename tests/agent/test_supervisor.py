"""The node-resident supervisor against a real podman: restarts, back-off, probes, its pid."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from gitkube.agent import daemons, supervisor

from .helpers import pod_run, until
from .storage import Storage
from .test_podman import Agent, podman_name

pytestmark = pytest.mark.podman








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
    agent("converge", pods=[pod_run("box", [{"name": "main", "image": podman_storage.image,
                                          "command": ["sleep", "1000"]}])])
    running = daemons.running(agent.state_dir, supervisor.NAME)
    assert running is not None
    os.kill(running[0], 0)  # it runs
    name = podman_name(agent, "box_main")
    before = _inspect(podman_storage, name)["State"]["StartedAt"]
    podman_storage.podman("kill", name)
    # Nothing asks the agent anything now: the supervisor alone brings it back.
    until(lambda: (state := _inspect(podman_storage, name)["State"])["Running"]
           and state["StartedAt"] != before, "the container restarted")
    container = _container(agent, "box")
    assert (container["state"], container["restartCount"]) == ("running", 1)
    assert container["lastState"]["exitCode"] == 137
    assert container["lastState"]["reason"] == "Error"


def test_crash_loop_back_off_after_the_first_restart(
    agent: Agent, podman_storage: Storage,
) -> None:
    agent("converge", pods=[pod_run("crash", [{"name": "main", "image": podman_storage.image,
                                            "command": ["sh", "-c", "exit 2"]}])])
    container = until(lambda: (c := _container(agent, "crash")).get("reason") ==
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
    agent("converge", pods=[pod_run("probed", [web, side])])

    restarted = until(lambda: (c := _container(agent, "probed", "web")).get("restartCount") == 1
                       and c, "the liveness probe's restart")
    assert "liveness probe failed" in restarted["lastState"]["message"]
    assert until(lambda: _container(agent, "probed", "side")["ready"], "side ready: port open")
    assert _container(agent, "probed", "web")["ready"] is False, "no index.html yet"
    podman_storage.podman("exec", podman_name(agent, "probed_web"), "sh", "-c",
                          "echo hi > /www/index.html")
    assert until(lambda: _container(agent, "probed", "web")["ready"], "web ready: page served")
    assert _container(agent, "probed", "web")["restartCount"] == 1


def test_stopped_by_its_pid_and_started_again_by_the_next_request(
    agent: Agent, podman_storage: Storage,
) -> None:
    agent("converge", pods=[pod_run("box", [{"name": "main", "image": podman_storage.image,
                                          "command": ["sleep", "1000"]}])])
    first = daemons.running(agent.state_dir, supervisor.NAME)
    assert first is not None
    # As the README says: the pid file holds the pid alone.
    pid_file = agent.state_dir / "supervisor.pid"
    assert pid_file.read_text() == f"{first[0]}\n"
    subprocess.run(["sh", "-c", f"kill $(cat {pid_file})"], check=True)
    until(lambda: daemons.running(agent.state_dir, supervisor.NAME) is None,
          "the supervisor left")
    assert daemons.stop(agent.state_dir, supervisor.NAME) is False, "nothing left to stop"

    agent("observe")
    second = daemons.running(agent.state_dir, supervisor.NAME)
    assert second is not None and second[0] != first[0]
    podman_storage.podman("kill", podman_name(agent, "box_main"))
    until(lambda: _container(agent, "box").get("restartCount") == 1, "restart by the new one")
