"""The runtime conformance suite: every runtime runs the same pods the same way.

Each case takes the node as a parameter (``node_under_test``: podman, containerd, sim)
and asserts only what a user of the agent sees: what converge answers, what observe reports
once the node settled, the logs, and the names and labels on the node itself. The
simulated runtime must answer like the real ones wherever it models a thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .runtimes_under_test import ContainerdNode, NodeUnderTest, PodmanNode, SimNode, pods_of

#: The sim runtime has every image; the name is the podman storage's test image.
IMAGE = "localhost/gitkube-agent-test/busybox:1"


@pytest.fixture(params=[pytest.param("podman", marks=pytest.mark.podman),
                        pytest.param("containerd", marks=[pytest.mark.containerd,
                                                          pytest.mark.podman]), "sim"])
def node_under_test(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeUnderTest]:
    cluster = "conf-" + request.node.name.split("[")[0].removeprefix("test_")[:20].replace(
        "_", "-").strip("-")
    made: PodmanNode | ContainerdNode | SimNode
    if request.param == "podman":
        made = PodmanNode(request.getfixturevalue("podman_storage"), cluster, tmp_path / "state")
    elif request.param == "containerd":
        made = ContainerdNode(request.getfixturevalue("containerd_daemon"), cluster,
                              tmp_path / "state")
    else:
        made = SimNode(cluster, tmp_path / "state", IMAGE)
    try:
        yield made
    finally:
        made.close()


def pod(name: str, *containers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"uid": f"uid-{name}", "name": name, "namespace": "default", "hash": "h1",
            "owner": f"ReplicaSet/{name}", "terminationGracePeriodSeconds": 0,
            "containers": list(containers), **extra}


def sh(name: str, image: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": image, "command": ["sh", "-c", script], **extra}


def ids(pods: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    return {name: [c.get("containerID", "") for c in p["containers"]] for name, p in pods.items()}


def test_pod_lifecycle_with_deterministic_names(node_under_test: NodeUnderTest) -> None:
    node, image = node_under_test, node_under_test.image
    web = pod("web", sh("main", image, "sleep 1000"), sh("side", image, "sleep 1000"))
    box = pod("box", sh("main", image, "sleep 1000"))
    first = node.request("converge", pods=[web, box])
    assert sorted(first["created"]) == ["default/box", "default/web"]
    assert {n: p["phase"] for n, p in pods_of(first).items()} == {"box": "Running",
                                                                   "web": "Running"}
    prefix = f"gk_{node.cluster}_default_"
    assert sorted(node.shown()) == [prefix + "box_main", prefix + "web_main", prefix + "web_side"]

    again = node.request("converge", pods=[web, box])
    assert (again["created"], again["removed"]) == ([], [])
    assert ids(pods_of(again)) == ids(pods_of(first)), "nothing is made twice"

    changed = node.request("converge", pods=[{**web, "hash": "h2"}, box])
    assert (changed["created"], changed["removed"]) == (["default/web"], ["default/web"])
    assert ids(pods_of(changed))["box"] == ids(pods_of(first))["box"]
    assert ids(pods_of(changed))["web"] != ids(pods_of(first))["web"]

    gone = node.request("converge", pods=[])
    assert sorted(gone["removed"]) == ["default/box", "default/web"]
    assert pods_of(node.request("observe")) == {}
    assert node.shown() == {}


def test_every_container_carries_the_pods_labels(node_under_test: NodeUnderTest) -> None:
    node, image = node_under_test, node_under_test.image
    hook = {"handler": "exec", "command": ["true"]}
    spec = pod("labelled", sh("app", image, "sleep 1000", preStop=hook),
               initContainers=[sh("setup", image, "exit 0")], restartPolicy="OnFailure")
    node.request("converge", pods=[spec])
    node.settle(lambda p: p["labelled"]["phase"] == "Running", "the app runs")
    common = {
        "io.gitkube.cluster": node.cluster, "io.gitkube.pod-uid": "uid-labelled",
        "io.gitkube.pod-name": "labelled", "io.gitkube.namespace": "default",
        "io.gitkube.spec-hash": "h1", "io.gitkube.owner": "ReplicaSet/labelled",
        "io.gitkube.restart-policy": "OnFailure", "io.gitkube.grace-seconds": "0",
    }
    prefix = f"gk_{node.cluster}_default_labelled_"
    shown = node.shown()
    # The preStop hook rides along as JSON (removal runs it with the pod no longer desired).
    assert json.loads(shown[prefix + "app"].pop("io.gitkube.pre-stop")) == hook
    assert shown == {
        prefix + "setup": {**common, "io.gitkube.container": "setup", "io.gitkube.init": "0"},
        prefix + "app": {**common, "io.gitkube.container": "app"},
    }


def test_init_containers_run_in_order_before_the_app(node_under_test: NodeUnderTest) -> None:
    node, image = node_under_test, node_under_test.image
    spec = pod("ordered", sh("app", image, "echo app; sleep 1000"), initContainers=[
        sh("first", image, "echo first; sleep 2"), sh("second", image, "echo second")])
    answer = pods_of(node.request("converge", pods=[spec]))["ordered"]
    assert answer["phase"] == "Pending"
    assert [(c["name"], c["state"], c.get("reason")) for c in answer["initContainers"]] == [
        ("first", "running", None), ("second", "waiting", "PodInitializing")]
    assert (answer["containers"][0]["state"], answer["containers"][0]["reason"]) == (
        "waiting", "PodInitializing")

    done = node.settle(lambda p: p["ordered"]["phase"] == "Running", "the pod initialised")
    first, second = done["ordered"]["initContainers"]
    app = done["ordered"]["containers"][0]
    assert [(c["state"], c["reason"], c["exitCode"]) for c in (first, second)] == [
        ("terminated", "Completed", 0)] * 2
    assert first["finishedAt"] <= second["startedAt"] <= second["finishedAt"] <= app["startedAt"]
    logs = [node.request("logs", pod_uid="uid-ordered", container=name, tail=-1)["logs"]
            for name in ("first", "second")]
    assert logs == ["first\n", "second\n"]


def test_restart_policies_and_logs(node_under_test: NodeUnderTest) -> None:
    node, image = node_under_test, node_under_test.image
    node.request("converge", pods=[
        pod("ok", sh("main", image, "echo line one; echo line two"), restartPolicy="Never"),
        pod("fails", sh("main", image, "exit 3"), restartPolicy="Never"),
        pod("once", sh("main", image, "exit 0"), restartPolicy="OnFailure"),
        pod("crashes", sh("main", image, "sleep 0.2; exit 1"), restartPolicy="Always"),
    ])
    pods = node.settle(lambda p: p["ok"]["phase"] == "Succeeded"
                       and p["fails"]["phase"] == "Failed" and p["once"]["phase"] == "Succeeded"
                       and p["crashes"]["containers"][0]["restartCount"] >= 1,
                       "the pods finished or restarted")
    fails = pods["fails"]["containers"][0]
    assert (fails["state"], fails["reason"], fails["exitCode"]) == ("terminated", "Error", 3)
    assert pods["once"]["containers"][0]["restartCount"] == 0
    crashes = pods["crashes"]
    assert crashes["phase"] == "Running"
    assert crashes["containers"][0]["lastState"]["exitCode"] == 1
    assert node.request("logs", pod_uid="uid-ok", container="main", tail=1)["logs"] == (
        "line two\n")
    assert node.request("logs", pod_uid="uid-ok", container="main", tail=-1)["logs"] == (
        "line one\nline two\n")


def test_a_failing_liveness_probe_restarts_the_container(
    node_under_test: NodeUnderTest,
) -> None:
    node, image = node_under_test, node_under_test.image
    probe = {"handler": "exec", "command": ["false"], "periodSeconds": 1,
             "failureThreshold": 1, "timeoutSeconds": 1}
    node.request("converge", pods=[pod("probed", sh("main", image, "sleep 1000",
                                                    livenessProbe=probe))])
    pods = node.settle(lambda p: p["probed"]["containers"][0]["restartCount"] >= 1,
                       "the supervisor restarted the container its liveness probe failed")
    last = pods["probed"]["containers"][0]["lastState"]
    assert (last["exitCode"], last["reason"]) == (137, "Error")
    assert last["message"].startswith("liveness probe failed")


def test_removing_a_clusters_pods_leaves_other_clusters_alone(
    node_under_test: NodeUnderTest, tmp_path: Path,
) -> None:
    node, image = node_under_test, node_under_test.image
    other = node.neighbour(node.cluster + "-b", tmp_path / "other-state")
    try:
        other.request("converge", pods=[pod("theirs", sh("main", image, "sleep 1000"))])
        node.request("converge", pods=[pod("ours", sh("main", image, "sleep 1000"))])
        assert node.request("converge", pods=[])["removed"] == ["default/ours"]
        assert node.shown() == {}
        assert list(other.shown()) == [f"gk_{other.cluster}_default_theirs_main"]
        assert pods_of(other.request("observe"))["theirs"]["phase"] == "Running"
    finally:
        other.close()
