"""emptyDir volumes and init containers (sidecars too) against a real podman.

The pods here are small and quick (stop timeouts of 0, sleeps under a second) and the
waits are bounded polls: the supervisor advances init containers once a second.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from gitkube.agent import daemons, handler, identity, supervisor

from .helpers import pod_run, until
from .storage import Storage
from .test_podman import Agent, free_port, podman_name

pytestmark = pytest.mark.podman






def _sh(name: str, image: str, script: str, *mounts: dict[str, Any],
        **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": image, "command": ["sh", "-c", script],
            "mounts": list(mounts), **extra}




def _exec(storage: Storage, agent: Agent, container: str, script: str,
          ) -> tuple[int, str]:
    done = storage.podman("exec", podman_name(agent, container), "sh", "-c", script, check=False)
    return done.returncode, (done.stdout + done.stderr).strip()


def _status(pod: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in [*pod.get("initContainers", []), *pod["containers"]]
                                 if c["name"] == name)
    return found


# -- emptyDir --------------------------------------------------------------------------------


def test_two_containers_share_an_empty_dir_that_outlives_a_restart(
    agent: Agent, podman_storage: Storage,
) -> None:
    image = podman_storage.image
    pod = pod_run("share", [
        _sh("writer", image, "echo hello > /data/msg; sleep 1000",
            {"volume": "shared", "mountPath": "/data"}),
        _sh("reader", image, "sleep 1000",
            {"volume": "shared", "mountPath": "/in", "readOnly": True},
            {"volume": "shared", "mountPath": "/logs", "subPath": "logs"}),
    ], volumes=[{"name": "shared", "kind": "emptyDir"}])
    agent("converge", pods=[pod])
    until(lambda: _exec(podman_storage, agent, "share_reader", "cat /in/msg") == (0, "hello"),
           "the reader sees what the writer wrote")
    code, _ = _exec(podman_storage, agent, "share_reader", "echo x > /in/other")
    assert code != 0, "a readOnly mount is read-only"
    assert _exec(podman_storage, agent, "share_reader", "echo log > /logs/a") == (0, "")
    host = agent.state_dir / "pods" / "uid-share" / "volumes" / "shared"
    assert (host / "logs" / "a").read_text() == "log\n", "subPath is a directory in the volume"

    podman_storage.podman("kill", podman_name(agent, "share_writer"))
    until(lambda: _status(agent.pods()["share"], "writer").get("restartCount") == 1,
           "the supervisor restarts the killed writer")
    assert (host / "msg").read_text() == "hello\n"
    assert _exec(podman_storage, agent, "share_reader", "cat /in/msg") == (0, "hello")

    agent("converge", pods=[])
    assert not (agent.state_dir / "pods" / "uid-share").exists(), "gone with the pod"


def test_a_memory_empty_dir_is_a_tmpfs_shared_by_the_pod_and_removed_with_it(
    agent: Agent, podman_storage: Storage,
) -> None:
    image = podman_storage.image
    mount = {"volume": "cache", "mountPath": "/cache"}
    pod = pod_run("mem", [
        _sh("a", image, "echo fast > /cache/x; sleep 1000", mount),
        _sh("b", image, "sleep 1000", mount),
    ], volumes=[{"name": "cache", "kind": "emptyDir", "medium": "Memory",
                 "sizeBytes": 1 << 20}])
    agent("converge", pods=[pod])
    until(lambda: _exec(podman_storage, agent, "mem_b", "cat /cache/x") == (0, "fast"),
           "b reads what a wrote in the tmpfs")
    _, mounts = _exec(podman_storage, agent, "mem_b", "cat /proc/mounts")
    line = next(m for m in mounts.splitlines() if " /cache " in m)
    assert line.startswith("tmpfs /cache tmpfs") and "size=1024k" in line
    name = identity.volume_name(agent.base["cluster"], "uid-mem", "cache")
    assert podman_storage.podman("volume", "exists", name, check=False).returncode == 0

    agent("converge", pods=[])
    assert podman_storage.podman("volume", "exists", name, check=False).returncode != 0


# -- init containers -------------------------------------------------------------------------


def test_an_init_container_prepares_what_the_app_serves(
    agent: Agent, podman_storage: Storage,
) -> None:
    image, port = podman_storage.image, free_port()
    work = {"volume": "www", "mountPath": "/www"}
    pod = pod_run("site", [{
        "name": "httpd", "image": image, "command": ["httpd"],
        "args": ["-f", "-p", "8080", "-h", "/www"], "mounts": [work],
        "ports": [{"containerPort": 8080, "hostPort": port, "hostIP": "127.0.0.1"}],
    }], volumes=[{"name": "www", "kind": "emptyDir"}], initContainers=[
        _sh("fetch", image, "sleep 0.5; echo prepared > /work/index.html",
            {"volume": "www", "mountPath": "/work"}),
    ])
    first = agent("converge", pods=[pod])["report"]["pods"][0]
    assert first["phase"] == "Pending"
    assert _status(first, "httpd")["reason"] == "PodInitializing"
    assert "containerID" not in _status(first, "httpd"), "no app container before init is done"

    ready = until(lambda: (p := agent.pods()["site"])["phase"] == "Running" and p,
                   "the app container runs once the init container completed")
    fetch = _status(ready, "fetch")
    assert (fetch["state"], fetch["reason"], fetch["exitCode"]) == ("terminated", "Completed", 0)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as answer:
        assert answer.read() == b"prepared\n"

    again = agent("converge", pods=[pod])
    assert again["created"] == [], "nothing is created twice"
    after = _status(again["report"]["pods"][0], "fetch")
    assert after["containerID"] == fetch["containerID"] and after.get("restartCount", 0) == 0


def test_a_failed_init_container_under_never_fails_thepod(
    agent: Agent, podman_storage: Storage,
) -> None:
    image = podman_storage.image
    pod = pod_run("doomed", [_sh("app", image, "sleep 1000")], restartPolicy="Never",
               initContainers=[_sh("check", image, "exit 3")])
    agent("converge", pods=[pod])
    failed = until(lambda: (p := agent.pods()["doomed"])["phase"] == "Failed" and p,
                    "the pod fails with its init container")
    check = _status(failed, "check")
    assert (check["state"], check["reason"], check["exitCode"]) == ("terminated", "Error", 3)
    agent("converge", pods=[pod])
    app = _status(agent.pods()["doomed"], "app")
    assert "containerID" not in app and app["reason"] == "PodInitializing"


def test_a_failing_init_container_under_always_crash_loops(
    agent: Agent, podman_storage: Storage,
) -> None:
    image = podman_storage.image
    pod = pod_run("looping", [_sh("app", image, "sleep 1000")],
               initContainers=[_sh("check", image, "exit 1")])
    agent("converge", pods=[pod])
    looping = until(
        lambda: (p := agent.pods()["looping"]) and _status(p, "check").get("reason")
        == "CrashLoopBackOff" and _status(p, "check").get("restartCount", 0) >= 1 and p,
        "the init container is restarted with kubelet's back-off")
    assert looping["phase"] == "Pending"
    assert _status(looping, "check")["lastState"]["exitCode"] == 1
    assert "containerID" not in _status(looping, "app")


def test_a_sidecar_starts_first_and_keeps_running_beside_the_app(
    agent: Agent, podman_storage: Storage,
) -> None:
    image = podman_storage.image
    shared = {"volume": "data", "mountPath": "/data"}
    pod = pod_run("sided", [_sh("app", image, "sleep 1000", shared)],
               volumes=[{"name": "data", "kind": "emptyDir"}], initContainers=[
        _sh("proxy", image, "echo up > /data/proxy; sleep 1000", shared,
            restartPolicy="Always",
            startupProbe={"handler": "exec", "command": ["cat", "/data/proxy"],
                          "periodSeconds": 1, "failureThreshold": 30}),
        # Runs only once the sidecar started: its startup probe saw the file.
        _sh("after", image, "cat /data/proxy", shared),
    ])
    agent("converge", pods=[pod])
    running = until(lambda: (p := agent.pods()["sided"])["phase"] == "Running"
                     and _status(p, "app")["state"] == "running" and p,
                     "the app runs after the sidecar and the second init container")
    assert _status(running, "proxy")["state"] == "running"
    assert _status(running, "after")["reason"] == "Completed"
    logs = agent("logs", pod_uid="uid-sided", container="after")["logs"]
    assert logs.strip() == "up"


def test_converge_alone_advances_init_containers(
    agent: Agent, podman_storage: Storage,
) -> None:
    """With no supervisor running, every converge still takes the step that is due."""
    image = podman_storage.image
    pod = pod_run("steps", [_sh("app", image, "sleep 1000")],
               initContainers=[_sh("one", image, "true"), _sh("two", image, "true")])
    daemons.stop(agent.state_dir, supervisor.NAME)

    def converge() -> dict[str, Any]:
        later: list[Callable[[], None]] = []  # never run: no supervisor is started
        answer = handler.handle({**agent.base, "op": "converge", "pods": [pod]}, later=later)
        assert answer["ok"], answer
        found: dict[str, Any] = answer["report"]["pods"][0]
        return found

    def created(step: str) -> Callable[[], Any]:
        return lambda: (p := converge()) and "containerID" in _status(p, step) and p

    seen = [until(created(step), f"converge created {step}") for step in ("one", "two", "app")]
    assert [s["phase"] for s in seen] == ["Pending", "Pending", "Running"]
    assert daemons.running(agent.state_dir, supervisor.NAME) is None
