"""Init containers, decided without podman: the next step, the phase, the reports."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.agent import converge, initsteps, protocol, reports

IMAGE = "busybox:1"


def _pod(policy: str = "Always", *inits: dict[str, Any]) -> protocol.PodRun:
    return {"uid": "u", "name": "p", "namespace": "default", "hash": "h",
            "restartPolicy": policy,  # type: ignore[typeddict-item]
            "initContainers": list(inits),  # type: ignore[typeddict-item]
            "containers": [{"name": "app", "image": IMAGE}]}


PLAIN = [{"name": "one", "image": IMAGE}, {"name": "two", "image": IMAGE}]
SIDE = [{"name": "proxy", "image": IMAGE, "restartPolicy": "Always"},
        {"name": "late", "image": IMAGE}]


def _c(name: str, state: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "containerID": f"podman://{name}", "state": state, **fields}


def _found(inits: list[dict[str, Any]], apps: list[dict[str, Any]] | None = None,
           ) -> protocol.PodReport:
    return {"uid": "u", "hash": "h", "initContainers": inits,  # type: ignore[typeddict-item]
            "containers": apps or []}  # type: ignore[typeddict-item]


EXITED_0 = {"exitCode": 0, "reason": "Completed"}


@pytest.mark.parametrize(
    ("pod", "found", "creatable", "failed"),
    [
        pytest.param(_pod("Always", *PLAIN), None, ["one"], False, id="new-pod-first-init"),
        pytest.param(_pod("Always", *PLAIN), _found([_c("one", "running")]), [], False,
                     id="first-running-wait"),
        pytest.param(_pod("Always", *PLAIN), _found([_c("one", "terminated", **EXITED_0)]),
                     ["two"], False, id="first-done-second-next"),
        pytest.param(_pod("Always", *PLAIN), _found([
            _c("one", "terminated", **EXITED_0), _c("two", "terminated", **EXITED_0)]),
            ["app"], False, id="all-done-apps-next"),
        pytest.param(_pod("Never", *PLAIN), _found([_c("one", "terminated", exitCode=1)]),
                     [], True, id="failed-under-never"),
        pytest.param(_pod("OnFailure", *PLAIN), _found([_c("one", "waiting", exitCode=1)]),
                     [], False, id="failed-waits-for-restart"),
        pytest.param(_pod("Always", *SIDE), _found([_c("proxy", "running")]), ["late"], False,
                     id="sidecar-running-next"),
        pytest.param(_pod("Always", *SIDE), _found([_c("proxy", "running", started=False)]),
                     [], False, id="sidecar-startup-probe-pending"),
        pytest.param(_pod("Always", *SIDE), _found([_c("proxy", "waiting", exitCode=0)]),
                     [], False, id="sidecar-exited-waits-restart"),
        pytest.param(_pod("Always", *SIDE), _found([], [_c("app", "running")]), ["proxy"], False,
                     id="initialised-lost-sidecar-only"),
        pytest.param(_pod("Always", *PLAIN), _found([], [_c("app", "running")]), [], False,
                     id="initialised-never-reruns-inits"),
    ],
)
def test_next_step(pod: protocol.PodRun, found: protocol.PodReport | None,
                   creatable: list[str], failed: bool) -> None:
    assert initsteps.creatable(pod, found) == creatable
    assert initsteps.init_progress(pod, found).failed is failed


def test_plan_node_leaves_a_pod_alone_while_its_init_container_runs() -> None:
    pod = _pod("Always", *PLAIN)
    found = {**_found([_c("one", "running")]), "uid": "u", "hash": "h"}
    assert converge.plan_node([pod], [found]) == ([], [])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("inits", "apps", "sidecars", "phase"),
    [
        pytest.param([_c("one", "running")], [], set(), "Pending", id="init-running"),
        pytest.param([_c("one", "terminated", exitCode=0)], [], set(), "Pending",
                     id="init-done-apps-not-yet"),
        pytest.param([_c("one", "terminated", exitCode=2)], [], set(), "Failed",
                     id="init-failed-never"),
        pytest.param([_c("one", "waiting", reason="CrashLoopBackOff")], [], set(), "Pending",
                     id="init-crash-loop"),
        pytest.param([_c("proxy", "running")], [_c("app", "running")], {"proxy"}, "Running",
                     id="sidecar-and-app"),
        pytest.param([_c("proxy", "running")], [_c("app", "terminated", exitCode=0)],
                     {"proxy"}, "Succeeded", id="job-done-sidecar-still-up"),
    ],
)
def test_phase(inits: list[dict[str, Any]], apps: list[dict[str, Any]], sidecars: set[str],
               phase: str) -> None:
    found = _found(inits, apps)
    state = reports.init_state(found, sidecars)
    assert reports.pod_phase(found["containers"], "Never", state) == phase


def test_fill_missing_reports_init_and_app_containers_waiting_for_initialisation() -> None:
    pod = _pod("Always", *PLAIN)
    [report] = reports.fill_missing([pod], [], {})
    assert report["phase"] == "Pending"
    assert [(c["name"], c.get("reason")) for c in report["initContainers"]] == [
        ("one", "PodInitializing"), ("two", "PodInitializing")]
    assert [(c["name"], c.get("reason")) for c in report["containers"]] == [
        ("app", "PodInitializing")]


def test_fill_missing_keeps_completed_init_containers_completed_once_initialised() -> None:
    pod = _pod("Always", *PLAIN)
    found = {**_found([], [_c("app", "running", ready=True)]), "name": "p",
             "namespace": "default"}
    [report] = reports.fill_missing([pod], [found], {})  # type: ignore[list-item]
    assert [(c["name"], c["state"], c.get("reason")) for c in report["initContainers"]] == [
        ("one", "terminated", "Completed"), ("two", "terminated", "Completed")]
    assert report["phase"] == "Running"
