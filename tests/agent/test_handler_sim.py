"""The agent's protocol end to end on the simulated runtime: fast, no podman needed."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

import gitkube.agent
from gitkube.agent import converge, handler, protocol
from gitkube.agent.runtimes import sim


def pod(uid: str, spec_hash: str = "h1", image: str = "img:1", **extra: Any) -> dict[str, Any]:
    container = {"name": "main", "image": image, **extra}
    return {
        "uid": uid,
        "name": f"p-{uid}",
        "namespace": "ns",
        "hash": spec_hash,
        "containers": [container],
    }


@pytest.fixture
def request_base(tmp_path: Path) -> dict[str, Any]:
    return {
        "cluster": "c1",
        "node": "n1",
        "runtime": {"kind": "sim", "images": ["img:1"]},
        "state_dir": str(tmp_path / "state"),
    }


def converge_to(base: dict[str, Any], *pods: dict[str, Any]) -> dict[str, Any]:
    answer = handler.handle({**base, "op": "converge", "pods": list(pods)})
    assert answer["ok"], answer
    return answer


def ids(answer: dict[str, Any]) -> dict[str, str]:
    return {p["uid"]: p["containers"][0].get("containerID", "") for p in answer["report"]["pods"]}


def test_converge_creates_keeps_replaces_and_removes(request_base: dict[str, Any]) -> None:
    first = converge_to(request_base, pod("a"), pod("b"))
    assert first["created"] == ["ns/p-a", "ns/p-b"] and first["removed"] == []
    assert {p["phase"] for p in first["report"]["pods"]} == {"Running"}

    again = converge_to(request_base, pod("a"), pod("b"))
    assert (again["created"], again["removed"], again["report"]["events"]) == ([], [], [])
    assert ids(again) == ids(first)

    changed = converge_to(request_base, pod("a"), pod("b", "h2"))
    assert changed["removed"] == ["ns/p-b"] and changed["created"] == ["ns/p-b"]
    assert ids(changed)["a"] == ids(first)["a"] and ids(changed)["b"] != ids(first)["b"]

    gone = converge_to(request_base, pod("a"))
    assert gone["removed"] == ["ns/p-b"]
    observed = handler.handle({**request_base, "op": "observe"})
    assert [p["uid"] for p in observed["report"]["pods"]] == ["a"]


def test_desired_pods_are_kept_on_the_node_privately(request_base: dict[str, Any]) -> None:
    converge_to(request_base, pod("a", env={"TOKEN": "s3cret"}))
    desired = Path(request_base["state_dir"]) / "desired.json"
    assert stat.S_IMODE(desired.stat().st_mode) == 0o600
    saved = json.loads(desired.read_text())
    assert (saved["cluster"], [p["uid"] for p in saved["pods"]]) == ("c1", ["a"])


def test_a_missing_image_is_reported_then_shipped(
    request_base: dict[str, Any], tmp_path: Path
) -> None:
    answer = converge_to(request_base, pod("a", image="img:2"))
    assert answer["missing_images"] == ["img:2"]
    container = answer["report"]["pods"][0]["containers"][0]
    assert (container["state"], container["reason"]) == ("waiting", "ErrImagePull")
    assert answer["report"]["pods"][0]["phase"] == "Pending"
    observed = handler.handle({**request_base, "op": "observe"})
    assert observed["report"]["pods"][0]["containers"][0]["reason"] == "ErrImagePull"

    archive = tmp_path / "img.tar"
    with tarfile.open(archive, "w") as tar:
        manifest = json.dumps([{"RepoTags": ["img:2"]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    loaded = handler.handle({**request_base, "op": "load-image", "path": str(archive)})
    assert loaded == {"ok": True, "loaded": ["img:2"]}
    assert not archive.exists(), "the shipped archive is deleted once loaded"

    answer = converge_to(request_base, pod("a", image="img:2"))
    assert answer["missing_images"] == [] and answer["created"] == ["ns/p-a"]
    assert answer["report"]["pods"][0]["phase"] == "Running"
    waiting = json.loads((Path(request_base["state_dir"]) / "waiting.json").read_text())
    assert waiting["containers"] == {} and waiting["pulls"] == {}


def test_pull_policy_never_does_not_pull(request_base: dict[str, Any]) -> None:
    rt = sim.SimRuntime.in_memory({"kind": "sim", "images": []})
    answer = handler.handle(
        {**request_base, "op": "converge", "pods": [pod("a", imagePullPolicy="Never")]},
        runtime=rt,
    )
    assert answer["report"]["pods"][0]["containers"][0]["reason"] == "ErrImageNeverPull"
    assert answer["missing_images"] == ["img:1"] and rt.pull_attempts == 0


def test_failed_pulls_back_off() -> None:
    rt = sim.SimRuntime.in_memory({"kind": "sim", "images": []})
    desired: list[protocol.PodRun] = [pod("a", imagePullPolicy="IfNotPresent")]  # type: ignore[list-item]
    waiting: dict[str, Any] = {}

    def reason_at(now: float) -> str:
        converge.execute(rt, "c1", desired, rt.list_pods("c1"), waiting, now=now)
        return str(waiting["containers"]["a"]["main"]["reason"])

    assert (reason_at(1000.0), rt.pull_attempts) == ("ErrImagePull", 1)
    assert (reason_at(1005.0), rt.pull_attempts) == ("ImagePullBackOff", 1)
    assert (reason_at(1010.0), rt.pull_attempts) == ("ErrImagePull", 2)
    assert (reason_at(1025.0), rt.pull_attempts) == ("ImagePullBackOff", 2), "back-off doubles"
    assert (reason_at(1030.0), rt.pull_attempts) == ("ErrImagePull", 3)


def test_in_memory_nodes_are_independent_and_write_no_files(
    request_base: dict[str, Any],
) -> None:
    one, two = sim.SimRuntime.in_memory(node="n1"), sim.SimRuntime.in_memory(node="n2")
    answer = handler.handle({**request_base, "op": "converge", "pods": [pod("a")]}, runtime=one)
    assert answer["created"] == ["ns/p-a"]
    assert len(one.list_pods("c1")) == 1 and two.list_pods("c1") == []
    assert one.list_pods("other-cluster") == []
    assert not Path(request_base["state_dir"]).exists()
    observed = handler.handle({**request_base, "op": "observe"}, runtime=one)
    assert [p["uid"] for p in observed["report"]["pods"]] == ["a"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"op": "reboot"}, "Unknown op", id="unknown-op"),
        pytest.param({"cluster": "../etc"}, "not a plain name", id="unsafe-cluster"),
        pytest.param({"node": None}, "not a plain name", id="no-node"),
        pytest.param({"protocol": 99}, "speaks protocol 1", id="protocol-mismatch"),
        pytest.param({"pods": None}, "needs 'pods'", id="no-pods"),
        pytest.param({"pods": [pod("a"), pod("a")]}, "listed twice", id="duplicate-pod"),
        pytest.param(
            {"pods": [{"uid": "x", "name": "y", "containers": []}]},
            "at least one container",
            id="no-containers",
        ),
        pytest.param({"runtime": {"kind": "docker"}}, "Unknown runtime", id="unknown-runtime"),
        pytest.param({"pods": [{**pod("a"), "uid": "../../etc"}]}, "invalid uid", id="path-uid"),
        pytest.param(
            {"pods": [pod("a", image="--privileged")]}, "invalid image", id="image-that-is-a-flag"
        ),
        pytest.param({"pods": [{**pod("a"), "name": "Web_1"}]}, "invalid name", id="bad-name"),
    ],
)
def test_bad_requests_fail_permanently(
    request_base: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    answer = handler.handle({**request_base, "op": "converge", "pods": [], **change})
    assert answer["ok"] is False and answer["permanent"] is True
    assert message in answer["error"]


def run_agent(argv: list[str], stdin: str, cwd: Path | None = None) -> dict[str, Any]:
    done = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, cwd=cwd, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_main_answers_bad_json_with_a_permanent_error() -> None:
    answer = run_agent([sys.executable, "-m", "gitkube.agent"], "{not json")
    assert answer["ok"] is False and answer["permanent"] is True


#: Nodes run the agent with their own python3, 3.9 or later: try the oldest one we have too.
PYTHON_39 = Path("/root/.pyenv/versions/3.9.18/bin/python3.9")


@pytest.mark.parametrize(
    "python",
    [
        pytest.param("/usr/bin/python3", id="system-python3"),
        pytest.param(
            str(PYTHON_39),
            id="python3.9",
            marks=pytest.mark.skipif(not PYTHON_39.exists(), reason="no Python 3.9 here"),
        ),
    ],
)
def test_the_shipped_copy_runs_alone_on_a_plain_python(
    request_base: dict[str, Any], tmp_path: Path, python: str
) -> None:
    shipped = tmp_path / "ship"
    shutil.copytree(
        Path(gitkube.agent.__file__).parent,
        shipped / "gitkube_agent",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    request = {**request_base, "op": "converge", "pods": [pod("a")]}
    # As gitkube.nodes.client starts it on a node: env PYTHONPATH=<dir> python3 -m gitkube_agent
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PYTHONPATH"] = str(shipped)
    done = subprocess.run(
        [python, "-m", "gitkube_agent"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["ok"] and answer["created"] == ["ns/p-a"], answer
