"""Agent reports of pods with init containers → initContainerStatuses, phase, conditions."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import core
from gitkube.controllers import podreports

from . import factories as f

INITS = [{"name": "setup", "image": "busybox:1"},
         {"name": "proxy", "image": "busybox:1", "restartPolicy": "Always"}]


def _pod() -> core.Pod:
    base = f.pod("p", node="node-1", uid="u").to_dict()
    base["spec"]["initContainers"] = INITS
    return core.Pod.model_validate(base)


def _c(name: str, state: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:1", "state": state, "restartCount": 0, **fields}


DONE = _c("setup", "terminated", exitCode=0, reason="Completed", containerID="podman://s")
PROXY_UP = _c("proxy", "running", started=True, ready=True, containerID="podman://p")
APP_WAITING = _c("web", "waiting", reason="PodInitializing")
APP_UP = _c("web", "running", ready=True, containerID="podman://w")


@pytest.mark.parametrize(
    ("inits", "apps", "phase", "initialized", "ready", "message"),
    [
        pytest.param([_c("setup", "running", containerID="podman://s"),
                      _c("proxy", "waiting", reason="PodInitializing")], [APP_WAITING],
                     "Pending", "False", "False",
                     "containers with incomplete status: [setup proxy]", id="first-running"),
        pytest.param([DONE, _c("proxy", "running", started=False, containerID="podman://p")],
                     [APP_WAITING], "Pending", "False", "False",
                     "containers with incomplete status: [proxy]", id="sidecar-not-started"),
        pytest.param([DONE, PROXY_UP], [APP_UP], "Running", "True", "True", None,
                     id="all-up"),
        pytest.param([DONE, {**PROXY_UP, "ready": False}], [APP_UP], "Running", "True", "False",
                     None, id="sidecar-not-ready-pod-not-ready"),
        pytest.param([_c("setup", "terminated", exitCode=3, reason="Error",
                         containerID="podman://s"),
                      _c("proxy", "waiting", reason="PodInitializing")], [APP_WAITING],
                     "Failed", "False", "False",
                     "containers with incomplete status: [setup proxy]", id="failed-never"),
    ],
)
def test_init_container_statuses_and_conditions(
    inits: list[dict[str, Any]], apps: list[dict[str, Any]], phase: str, initialized: str,
    ready: str, message: str | None,
) -> None:
    report = {"uid": "u", "phase": phase, "initContainers": inits, "containers": apps}
    status = podreports.pod_status(_pod(), report, "127.0.0.2", f.clock(5))
    assert status.phase == phase
    assert [s.name for s in status.init_container_statuses] == ["setup", "proxy"]
    conditions = {c.type: c for c in status.conditions}
    assert conditions["Initialized"].status == initialized
    assert conditions["Initialized"].message == message
    assert conditions["Ready"].status == ready
    setup = status.init_container_statuses[0]
    assert (setup.state.terminated is not None) == (inits[0]["state"] == "terminated")


def test_a_pod_without_init_containers_has_no_init_statuses() -> None:
    pod = f.pod("p", node="node-1", uid="u")
    report = {"uid": "u", "phase": "Running", "containers": [APP_UP]}
    status = podreports.pod_status(pod, report, "127.0.0.2", f.clock(5))
    assert status.init_container_statuses == []
    assert status.condition("Initialized") is not None
    assert status.condition("Initialized").status == "True"  # type: ignore[union-attr]
