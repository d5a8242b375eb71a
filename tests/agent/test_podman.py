"""The agent against a real podman, in a throwaway storage (see ``storage.py``)."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitkube.agent import handler

from .storage import Storage

pytestmark = pytest.mark.podman

SECRET = "hunter2-do-not-leak"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Agent:
    """Requests for one cluster on one simulated node of the session's storage."""

    def __init__(self, storage: Storage, cluster: str, state_dir: Path) -> None:
        self.storage = storage
        self.base = {"cluster": cluster, "node": "node-1", "runtime": storage.runtime(state_dir)}
        self.state_dir = state_dir

    def __call__(self, op: str, **payload: Any) -> dict[str, Any]:
        answer = handler.handle({**self.base, "op": op, **payload})
        assert answer["ok"], answer
        return answer

    def via_subprocess(self, op: str, **payload: Any) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "gitkube.agent"],
            input=json.dumps({**self.base, "op": op, **payload}),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        answer: dict[str, Any] = json.loads(done.stdout)
        assert answer["ok"], answer
        return answer

    def pods(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self("observe")["report"]["pods"]}

    def wait_for(self, check: Callable[[dict[str, dict[str, Any]]], bool]) -> dict[str, Any]:
        """Observe until ``check`` holds (bounded: containers exit or restart on their own)."""
        for _ in range(60):
            pods = self.pods()
            if check(pods):
                return pods
            time.sleep(0.25)
        raise AssertionError(f"the node never reached the expected state: {pods}")




def web_pod(image: str, port: int, spec_hash: str = "h1") -> dict[str, Any]:
    page = base64.b64encode(b"<h1>served by gitkube</h1>\n").decode()
    return {
        "uid": "uid-web",
        "name": "web",
        "namespace": "default",
        "hash": spec_hash,
        "owner": "ReplicaSet/web-1",
        "terminationGracePeriodSeconds": 1,
        "containers": [
            {
                "name": "httpd",
                "image": image,
                "command": ["httpd"],
                "args": ["-f", "-p", "8080", "-h", "/www"],
                "ports": [{"containerPort": 8080, "hostPort": port, "hostIP": "127.0.0.1"}],
                "env": {"SECRET_TOKEN": SECRET},
                "files": [{"path": "/www/index.html", "content": page, "mode": 0o644}],
                "cpuLimitMillis": 500,
                "memoryLimitBytes": 64 * 2**20,
            }
        ],
    }


def sleep_pod(image: str, **extra: Any) -> dict[str, Any]:
    return {
        "uid": "uid-sleep",
        "name": "sleeper",
        "namespace": "default",
        "hash": "h1",
        "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "sleep", "image": image, "command": ["sleep", "1000"]}],
        **extra,
    }


def get(url: str) -> str:
    for _ in range(40):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"nothing answered at {url}")


def container_ids(answer: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["containers"][0]["containerID"] for p in answer["report"]["pods"]}


def test_converge_lifecycle(agent: Agent, podman_storage: Storage) -> None:
    image, port = podman_storage.image, free_port()
    podman_storage.podman(
        "run",
        "-d",
        "--name",
        "other-cluster-box",
        "--label",
        "io.gitkube.cluster=other",
        "--label",
        "io.gitkube.pod-uid=other-uid",
        podman_storage.image,
        "sleep",
        "1000",
    )
    try:
        first = agent("converge", pods=[web_pod(image, port), sleep_pod(image)])
        assert sorted(first["created"]) == ["default/sleeper", "default/web"]
        pods = {p["name"]: p for p in first["report"]["pods"]}
        assert {name: p["phase"] for name, p in pods.items()} == {
            "sleeper": "Running",
            "web": "Running",
        }
        assert pods["web"]["podIP"] and pods["web"]["containers"][0]["ready"] is True
        assert get(f"http://127.0.0.1:{port}/index.html") == "<h1>served by gitkube</h1>\n"

        labels = json.loads(
            podman_storage.podman("inspect", podman_name(agent, "web_httpd")).stdout
        )[0]
        assert {k: v for k, v in labels["Config"]["Labels"].items() if "gitkube" in k} == {
            "io.gitkube.cluster": agent.base["cluster"],
            "io.gitkube.pod-uid": "uid-web",
            "io.gitkube.pod-name": "web",
            "io.gitkube.namespace": "default",
            "io.gitkube.spec-hash": "h1",
            "io.gitkube.owner": "ReplicaSet/web-1",
            "io.gitkube.container": "httpd",
            "io.gitkube.restart-policy": "Always",
            "io.gitkube.grace-seconds": "1",
        }
        assert labels["HostConfig"]["NanoCpus"] == 500_000_000
        assert labels["HostConfig"]["PortBindings"] == {}, "host ports belong to the pod"
        pod_info = json.loads(
            podman_storage.podman(
                "pod", "inspect", podman_name(agent, "web")
            ).stdout
        )
        assert "8080/tcp" in json.dumps(pod_info["InfraConfig"]["PortBindings"])

        # The environment reaches the container but never a command line.
        seen = podman_storage.podman(
            "exec",
            podman_name(agent, "web_httpd"),
            "sh",
            "-c",
            "echo $SECRET_TOKEN",
        ).stdout
        assert seen.strip() == SECRET
        assert SECRET not in json.dumps(labels["Config"]["CreateCommand"])
        assert SECRET not in json.dumps(labels["Args"])
        assert (
            SECRET
            not in subprocess.run(
                ["ps", "auxww"], capture_output=True, text=True, check=True
            ).stdout
        )
        assert list((agent.state_dir / "tmp").iterdir()) == [], "env files are deleted"

        # Converging again (through the agent's command line this time) changes nothing.
        again = agent.via_subprocess("converge", pods=[web_pod(image, port), sleep_pod(image)])
        assert (again["created"], again["removed"]) == ([], [])
        assert container_ids(again) == container_ids(first)

        # A changed spec hash replaces that pod only.
        changed = agent("converge", pods=[web_pod(image, port, "h2"), sleep_pod(image)])
        assert (changed["created"], changed["removed"]) == (["default/web"], ["default/web"])
        assert container_ids(changed)["web"] != container_ids(first)["web"]
        assert container_ids(changed)["sleeper"] == container_ids(first)["sleeper"]
        assert get(f"http://127.0.0.1:{port}/index.html").startswith("<h1>")

        # A pod no longer desired is removed, with what the agent wrote for it.
        gone = agent("converge", pods=[sleep_pod(image)])
        assert gone["removed"] == ["default/web"]
        assert [p["name"] for p in gone["report"]["pods"]] == ["sleeper"]
        assert podman_storage.podman(
            "pod", "exists", podman_name(agent, "web"), check=False
        ).returncode
        assert not (agent.state_dir / "pods" / "uid-web").exists()

        agent("converge", pods=[])
        assert agent.pods() == {}
        listed = json.loads(podman_storage.podman("ps", "-a", "--format", "json").stdout)
        states = {c["Names"][0]: c["State"] for c in listed}
        assert states["other-cluster-box"] == "running", "another cluster's box is untouched"
    finally:
        podman_storage.podman("rm", "-f", "-t", "0", "other-cluster-box", check=False)


def test_a_missing_image_is_reported_and_shipped(
    agent: Agent, podman_storage: Storage, tmp_path: Path
) -> None:
    shipped = "localhost/gitkube-agent-test/shipped:2"
    pod = sleep_pod(shipped)
    pod["containers"][0]["imagePullPolicy"] = "Never"
    answer = agent("converge", pods=[pod])
    assert answer["missing_images"] == [shipped]
    container = answer["report"]["pods"][0]["containers"][0]
    assert (container["state"], container["reason"]) == ("waiting", "ErrImageNeverPull")

    archive = tmp_path / "shipped.tar"
    podman_storage.podman("tag", podman_storage.image, shipped)
    podman_storage.podman("save", "-o", str(archive), shipped)
    podman_storage.podman("rmi", shipped)
    assert agent("load-image", path=str(archive))["loaded"] == [shipped]
    assert not archive.exists()

    answer = agent("converge", pods=[pod])
    assert answer["missing_images"] == [] and answer["created"] == ["default/sleeper"]
    assert answer["report"]["pods"][0]["phase"] == "Running"


def test_a_command_that_cannot_start_is_a_create_error(
    agent: Agent, podman_storage: Storage
) -> None:
    pod = sleep_pod(podman_storage.image)
    pod["containers"][0]["command"] = ["no-such-program"]
    answer = agent("converge", pods=[pod])
    container = answer["report"]["pods"][0]["containers"][0]
    assert (container["state"], container["reason"]) == ("waiting", "CreateContainerError")
    assert "no-such-program" in container["message"]
    assert answer["report"]["pods"][0]["phase"] == "Pending"
    names = podman_storage.podman("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert podman_name(agent, "sleeper_sleep") not in names, (
        "no half-made container is left behind"
    )


def test_jobs_finish_crashes_restart_and_logs_are_read(
    agent: Agent, podman_storage: Storage
) -> None:
    image = podman_storage.image

    def once(uid: str, policy: str, script: str) -> dict[str, Any]:
        return {
            "uid": uid,
            "name": uid,
            "namespace": "jobs",
            "hash": "h1",
            "restartPolicy": policy,
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": image, "command": ["sh", "-c", script]}],
        }

    agent(
        "converge",
        pods=[
            once("ok", "Never", "echo line one; echo line two"),
            once("fails", "Never", "exit 3"),
            once("crashes", "Always", "sleep 0.2; exit 1"),
        ],
    )
    pods = agent.wait_for(
        lambda p: (
            p["ok"]["phase"] == "Succeeded"
            and p["fails"]["phase"] == "Failed"
            and p["crashes"]["containers"][0]["restartCount"] >= 1
        )
    )
    assert pods["fails"]["containers"][0]["exitCode"] == 3
    assert pods["crashes"]["phase"] == "Running"
    logs = agent("logs", pod_uid="ok", container="main", tail=1)["logs"]
    assert logs == "line two\n"


def podman_name(agent: Agent, rest: str) -> str:
    """The podman name gitkube gives a pod (or ``pod_container``) in the default namespace."""
    return f"gk_{agent.base['cluster']}_default_{rest}"
