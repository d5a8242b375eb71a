"""Table tests for the agent's converge planner: desired pods + what podman shows → changes."""

from __future__ import annotations

import pytest

from gitkube.agent import converge, initsteps, protocol


def want(uid: str, spec_hash: str = "h1", *containers: str) -> protocol.PodRun:
    names = containers or ("main",)
    return protocol.PodRun(
        uid=uid,
        name=f"pod-{uid}",
        namespace="default",
        hash=spec_hash,
        containers=[protocol.ContainerRun(name=n, image="img:1") for n in names],
    )


def have(uid: str, spec_hash: str = "h1", *containers: str) -> protocol.PodReport:
    names = containers or ("main",)
    return protocol.PodReport(
        uid=uid,
        name=f"pod-{uid}",
        namespace="default",
        hash=spec_hash,
        phase="Running",
        containers=[
            protocol.ContainerReport(name=n, containerID=f"podman://{uid}-{n}", state="running")
            for n in names
        ],
    )


def with_image(report: protocol.PodReport, image: str) -> protocol.PodReport:
    for container in report["containers"]:
        container["image"] = image
    return report


def never_started(report: protocol.PodReport) -> protocol.PodReport:
    """What podman shows once its run directory was reset under a running pod."""
    for container in report["containers"]:
        container.update(state="waiting", reason="ContainerCreating", ready=False)
    return report


CASES = [
    pytest.param([], [], [], [], id="empty-node-stays-empty"),
    pytest.param([want("a"), want("b")], [], ["a", "b"], [], id="fresh-node-creates-all"),
    pytest.param([want("a")], [have("a")], [], [], id="same-uid-and-hash-is-a-no-op"),
    pytest.param([want("a", "h2")], [have("a", "h1")], ["a"], ["a"], id="hash-changed-replaces"),
    pytest.param([want("a")], [with_image(have("a"), "docker.io/library/img:1")], [], [],
                 id="same-image-by-its-full-name-is-a-no-op"),
    pytest.param([want("a")], [with_image(have("a"), "other:2")], ["a"], ["a"],
                 id="image-changed-by-hand-replaces"),
    pytest.param([], [have("a"), have("b")], [], ["a", "b"], id="undesired-pods-are-removed"),
    pytest.param([want("a")], [never_started(have("a"))], ["a"], ["a"],
                 id="a-container-the-runtime-never-started-replaces-its-pod"),
    pytest.param(
        [want("a", "h1", "web", "log")],
        [have("a", "h1", "web")],
        ["a"],
        [],
        id="missing-container-completes-the-pod",
    ),
    pytest.param(
        [want("a", "h1", "web")],
        [have("a", "h1")],
        ["a"],
        [],
        id="container-renamed-without-hash-change-is-completed",
    ),
    pytest.param(
        [want("new")],
        [have("old")],
        ["new"],
        ["old"],
        id="recreated-pod-with-new-uid-replaces-the-old",
    ),
    pytest.param(
        [want("a"), want("b", "h2"), want("c")],
        [have("a"), have("b"), have("d")],
        ["b", "c"],
        ["d", "b"],
        id="mixed",
    ),
]


@pytest.mark.parametrize(("desired", "actual", "creates", "removes"), CASES)
def test_plan_node(
    desired: list[protocol.PodRun],
    actual: list[protocol.PodReport],
    creates: list[str],
    removes: list[str],
) -> None:
    to_create, to_remove = converge.plan_node(desired, actual)
    assert [pod["uid"] for pod in to_create] == creates
    assert [pod["uid"] for pod in to_remove] == removes


def test_a_waiting_container_without_an_id_counts_as_missing() -> None:
    found = have("a")
    found["containers"] = [
        protocol.ContainerReport(name="main", state="waiting", reason="ErrImagePull")
    ]
    assert initsteps.creatable(want("a"), found) == ["main"]


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        pytest.param("busybox", "Always", id="untagged"),
        pytest.param("busybox:latest", "Always", id="latest"),
        pytest.param("registry:5000/busybox", "Always", id="registry-port-is-not-a-tag"),
        pytest.param("registry:5000/busybox:1.36", "IfNotPresent", id="tagged-with-registry"),
        pytest.param("busybox:1.36", "IfNotPresent", id="tagged"),
        pytest.param("busybox@sha256:abc", "IfNotPresent", id="digest"),
    ],
)
def test_default_pull_policy_follows_kubernetes(image: str, policy: str) -> None:
    assert converge.default_pull_policy(image) == policy
