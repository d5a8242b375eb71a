"""The podman output parsers, on output recorded from a real podman (``data/``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitkube.agent import identity, protocol, reports
from gitkube.agent.runtimes import podman_report

DATA = Path(__file__).parent / "data"


def recorded(name: str) -> str:
    return (DATA / name).read_text()


def by_name(pods: list[protocol.PodReport]) -> dict[str, protocol.PodReport]:
    return {pod["name"]: pod for pod in pods}


def test_parse_ps_groups_containers_into_pods_by_uid_label() -> None:
    pods = by_name(podman_report.parse_ps(recorded("ps.json")))
    assert sorted(pods) == ["crash", "done", "failed", "noimage", "web"]
    web = pods["web"]
    assert (web["uid"], web["namespace"], web["hash"]) == ("uid-web", "default", "hash-uid-web")
    assert [c["name"] for c in web["containers"]] == ["httpd", "sidecar"]
    assert web["sandboxID"] and all(
        c["containerID"].startswith("podman://") for c in web["containers"]
    )
    assert pods["failed"]["namespace"] == "batch"
    assert web["terminationGracePeriodSeconds"] == 0


def test_parse_ps_ignores_containers_without_gitkube_labels() -> None:
    names = {pod["name"] for pod in podman_report.parse_ps(recorded("ps_all.json"))}
    assert names == {"crash", "done", "failed", "noimage", "web"}


@pytest.mark.parametrize(
    ("pod", "phase", "states"),
    [
        pytest.param(
            "web",
            "Running",
            [("httpd", "running", None), ("sidecar", "running", None)],
            id="running",
        ),
        pytest.param(
            "done",
            "Succeeded",
            [("main", "terminated", "Completed")],
            id="on-failure-exit-0-succeeds",
        ),
        pytest.param(
            "failed",
            "Failed",
            [("bad", "terminated", "Error"), ("ok", "terminated", "Completed")],
            id="never-with-a-non-zero-exit-fails",
        ),
        pytest.param("noimage", "Pending", [], id="sandbox-only-is-pending"),
    ],
)
def test_recorded_phases_and_states(
    pod: str, phase: str, states: list[tuple[str, str, str | None]]
) -> None:
    report = by_name(podman_report.parse_ps(recorded("ps.json")))[pod]
    assert report["phase"] == phase
    assert [(c["name"], c["state"], c.get("reason")) for c in report["containers"]] == states


def test_terminated_containers_carry_exit_code_and_times() -> None:
    failed = by_name(podman_report.parse_ps(recorded("ps.json")))["failed"]
    bad = next(c for c in failed["containers"] if c["name"] == "bad")
    assert bad["exitCode"] == 3 and bad["ready"] is False
    assert bad["startedAt"].endswith("Z") and bad["finishedAt"] >= bad["startedAt"]


def test_inspect_adds_restart_counts_and_pod_ips() -> None:
    pods = podman_report.parse_ps(recorded("ps.json"))
    podman_report.apply_inspect(pods, podman_report.parse_inspect(recorded("inspect.txt")))
    named = by_name(pods)
    assert named["crash"]["containers"][0]["restartCount"] > 0
    assert named["web"]["containers"][0]["restartCount"] == 0
    assert named["web"]["podIP"].startswith("10.")
    assert "podIP" not in named["noimage"], "a pod whose sandbox never started has no IP"


def entry(state: str, code: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "Id": "abc",
        "State": state,
        "ExitCode": code,
        "StartedAt": 1795838448,
        "ExitedAt": 1795838449 if state == "exited" else -62135596800,
        "Labels": {identity.LABEL_CONTAINER: "c"},
        **extra,
    }


@pytest.mark.parametrize(
    ("podman_state", "code", "policy", "state", "reason"),
    [
        pytest.param("running", 0, "Always", "running", None, id="running"),
        pytest.param("created", 0, "Always", "waiting", "ContainerCreating", id="created"),
        pytest.param("exited", 0, "Never", "terminated", "Completed", id="exited-0-never"),
        pytest.param("exited", 1, "Never", "terminated", "Error", id="exited-1-never"),
        pytest.param("exited", 1, "Always", "waiting", "CrashLoopBackOff", id="restarting"),
        pytest.param(
            "exited",
            1,
            "OnFailure",
            "waiting",
            "CrashLoopBackOff",
            id="on-failure-restarts-failures",
        ),
        pytest.param(
            "exited", 0, "OnFailure", "terminated", "Completed", id="on-failure-keeps-successes"
        ),
        pytest.param("paused", 0, "Always", "running", None, id="paused"),
    ],
)
def test_container_report(
    podman_state: str, code: int, policy: str, state: str, reason: str | None
) -> None:
    report = reports.container_report(podman_report.seen(entry(podman_state, code)), policy)
    assert (report["state"], report.get("reason")) == (state, reason)
    assert report["ready"] is (podman_state == "running")


def c(state: str, reason: str | None = None, code: int | None = None) -> protocol.ContainerReport:
    report = protocol.ContainerReport(name="c", state=state)  # type: ignore[typeddict-item]
    if reason:
        report["reason"] = reason
    if code is not None:
        report["exitCode"] = code
    return report


@pytest.mark.parametrize(
    ("containers", "policy", "phase"),
    [
        pytest.param([], "Always", "Pending", id="no-containers"),
        pytest.param([c("running")], "Always", "Running", id="one-running"),
        pytest.param(
            [c("running"), c("waiting", "ErrImagePull")],
            "Always",
            "Pending",
            id="one-still-pulling-keeps-pending",
        ),
        pytest.param(
            [c("waiting", "CrashLoopBackOff", 1)],
            "Always",
            "Running",
            id="crash-looping-is-running",
        ),
        pytest.param(
            [c("terminated", "Completed", 0)] * 2, "Never", "Succeeded", id="all-zero-never"
        ),
        pytest.param(
            [c("terminated", "Completed", 0)], "OnFailure", "Succeeded", id="all-zero-on-failure"
        ),
        pytest.param(
            [c("terminated", "Completed", 0), c("terminated", "Error", 2)],
            "Never",
            "Failed",
            id="non-zero-never",
        ),
        pytest.param(
            [c("running"), c("terminated", "Error", 2)],
            "Never",
            "Running",
            id="still-running-with-a-failure",
        ),
    ],
)
def test_pod_phase(containers: list[protocol.ContainerReport], policy: str, phase: str) -> None:
    assert reports.pod_phase(containers, policy) == phase


def test_fill_missing_reports_desired_containers_podman_does_not_have() -> None:
    actual = podman_report.parse_ps(recorded("ps.json"))
    desired = [
        protocol.PodRun(
            uid="uid-noimage",
            name="noimage",
            namespace="default",
            hash="hash-uid-noimage",
            containers=[protocol.ContainerRun(name="c", image="localhost/absent:1")],
        ),
        protocol.PodRun(
            uid="uid-new",
            name="new",
            namespace="default",
            hash="h",
            containers=[protocol.ContainerRun(name="main", image="img:1")],
        ),
    ]
    waiting = {"uid-noimage": {"c": {"reason": "ErrImageNeverPull", "message": "ship it"}}}
    pods = by_name(reports.fill_missing(desired, actual, waiting))
    noimage = pods["noimage"]["containers"][0]
    assert (noimage["state"], noimage["reason"], noimage["message"]) == (
        "waiting",
        "ErrImageNeverPull",
        "ship it",
    )
    assert pods["noimage"]["phase"] == "Pending"
    assert pods["new"]["containers"][0]["reason"] == "ContainerCreating"
    assert pods["web"] == by_name(actual)["web"], "pods not in the desired set are untouched"


def test_parse_images_lists_every_name() -> None:
    images = podman_report.parse_images(recorded("images.json"))
    assert "localhost/gitkube-agent-test/busybox:1" in images


def test_parse_stats_in_millicores_and_bytes() -> None:
    stats = podman_report.parse_stats(recorded("stats.json"))
    assert stats and all(len(short) == 12 for short in stats)
    assert all(cpu >= 0 and memory > 1000 for cpu, memory in stats.values())


@pytest.mark.parametrize(
    ("text", "expected"),
    [("426kB / 67.11MB", 426_000), ("1.5GB / 2GB", 1_500_000_000), ("0B / 0B", 0)],
)
def test_parse_stats_sizes(text: str, expected: int) -> None:
    stats = podman_report.parse_stats(
        f'[{{"id": "x", "cpu_percent": "50%", "mem_usage": "{text}"}}]')
    assert stats == {"x": (500, expected)}
