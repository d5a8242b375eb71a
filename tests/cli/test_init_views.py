"""STATUS, READY and RESTARTS of pods with init containers, as kubectl prints them, and
``describe pod``'s "Init Containers:" section."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import podstate, registry
from gitkube.api.meta import KubeObject
from gitkube.cli import describe
from tests.cli import objects as o

INITS = [{"name": "setup", "image": "busybox:1"}, {"name": "migrate", "image": "busybox:1"}]
SIDECAR = {"name": "proxy", "image": "busybox:1", "restartPolicy": "Always"}


def _s(name: str, state: dict[str, Any], restarts: int = 0, *, ready: bool = False,
       started: bool | None = None) -> dict[str, Any]:
    out = {"name": name, "ready": ready, "restartCount": restarts, "state": state}
    if started is not None:
        out["started"] = started
    return out


DONE = {"terminated": {"exitCode": 0, "reason": "Completed"}}
RUNNING = {"running": {"startedAt": "2026-01-01T11:55:00Z"}}
INITIALIZING = {"waiting": {"reason": "PodInitializing"}}


def _pod(inits: list[dict[str, Any]], init_statuses: list[dict[str, Any]],
         statuses: list[dict[str, Any]], *, phase: str = "Pending",
         initialized: bool = False) -> KubeObject:
    base = o.pod("p", phase=phase, statuses=statuses).to_dict()
    base["spec"]["initContainers"] = inits
    base["status"]["initContainerStatuses"] = init_statuses
    base["status"]["conditions"] = [
        {"type": "Initialized", "status": "True" if initialized else "False"}]
    return registry.from_stored(base)


APP_WAITING = [_s("web", INITIALIZING)]


@pytest.mark.parametrize(
    ("pod", "status", "ready", "restarts"),
    [
        pytest.param(_pod(INITS, [_s("setup", INITIALIZING), _s("migrate", INITIALIZING)],
                          APP_WAITING), "Init:0/2", "0/1", 0, id="first-init-starting"),
        pytest.param(_pod(INITS, [_s("setup", DONE), _s("migrate", RUNNING)], APP_WAITING),
                     "Init:1/2", "0/1", 0, id="second-init-running"),
        pytest.param(_pod(INITS, [_s("setup", {"terminated": {"exitCode": 3, "reason": "Error"}}),
                                  _s("migrate", INITIALIZING)], APP_WAITING, phase="Failed"),
                     "Init:Error", "0/1", 0, id="init-failed-never"),
        pytest.param(_pod(INITS, [_s("setup", {"terminated": {"exitCode": 2}}),
                                  _s("migrate", INITIALIZING)], APP_WAITING, phase="Failed"),
                     "Init:ExitCode:2", "0/1", 0, id="init-failed-no-reason"),
        pytest.param(_pod(INITS, [_s("setup", {"waiting": {"reason": "CrashLoopBackOff"}}, 4),
                                  _s("migrate", INITIALIZING)], APP_WAITING),
                     "Init:CrashLoopBackOff", "0/1", 4, id="init-crash-loop"),
        pytest.param(_pod(INITS, [_s("setup", {"waiting": {"reason": "ErrImagePull"}}),
                                  _s("migrate", INITIALIZING)], APP_WAITING),
                     "Init:ErrImagePull", "0/1", 0, id="init-image"),
        pytest.param(_pod(INITS, [_s("setup", DONE), _s("migrate", DONE)], [o.running(2)],
                          phase="Running", initialized=True),
                     "Running", "1/1", 2, id="initialised-running"),
        pytest.param(_pod(INITS, [_s("setup", DONE), _s("migrate", DONE)], APP_WAITING,
                          initialized=True), "PodInitializing", "0/1", 0,
                     id="initialised-app-starting"),
        pytest.param(_pod([SIDECAR, INITS[0]],
                          [_s("proxy", RUNNING, 1, ready=True, started=True),
                           _s("setup", RUNNING)], APP_WAITING),
                     "Init:1/2", "1/2", 1, id="sidecar-started-init-running"),
        pytest.param(_pod([SIDECAR], [_s("proxy", RUNNING, 1, ready=True, started=True)],
                          [o.running(2)], phase="Running", initialized=True),
                     "Running", "2/2", 3, id="sidecar-beside-app"),
    ],
)
def test_get_pods_columns(pod: KubeObject, status: str, ready: str, restarts: int) -> None:
    assert (podstate.status_word(pod), podstate.ready_column(pod),
            podstate.restarts_column(pod)) == (status, ready, restarts)


def test_describe_pod_lists_init_containers_first() -> None:
    pod = _pod([SIDECAR, INITS[0]], [_s("proxy", RUNNING, ready=True, started=True),
                                     _s("setup", DONE)],
               [o.running()], phase="Running", initialized=True)
    lines = describe.describe_pod(pod, o.NOW)
    start = lines.index("Init Containers:")
    assert lines[start:lines.index("Conditions:")] == [
        "Init Containers:",
        "  proxy:",
        "    Image:       busybox:1",
        "    Restart Policy: Always",
        "    State:       Running",
        "      Started:   2026-01-01T11:55:00Z",
        "    Ready:       True",
        "    Restart Count: 0",
        "  setup:",
        "    Image:       busybox:1",
        "    State:       Terminated",
        "      Reason:    Completed",
        "      Exit Code: 0",
        "    Ready:       False",
        "    Restart Count: 0",
        "Containers:",
        "  web:",
        "    Image:       busybox:1",
        "    State:       Running",
        "      Started:   2026-01-01T11:55:00Z",
        "    Ready:       True",
        "    Restart Count: 0",
    ]


def test_a_pod_without_init_containers_has_no_init_section() -> None:
    lines = describe.describe_pod(o.pod("p", statuses=[o.running()]), o.NOW)
    assert "Init Containers:" not in lines
