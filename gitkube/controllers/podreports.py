"""One agent ``PodReport`` → the Pod's Kubernetes status, as kubelet's status manager writes it.

Used by ``podstatus.plan_observed``. Times that mean "since when" (startTime,
lastTransitionTime) are kept from the previous status unless the thing they date
changed, so a pod that keeps running produces the same status on every pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitkube import clock as clocks
from gitkube.api import core
from gitkube.controllers import objects

_CONDITIONS = ("PodScheduled", "Initialized", "ContainersReady", "Ready")


def pod_status(
    pod: core.Pod, report: Mapping[str, Any] | None, host_ip: str, clock: clocks.Clock
) -> core.PodStatus:
    """The status of a pod bound to a node that answered; ``report`` None: not on the node."""
    now = objects.now_text(clock)
    previous = pod.status
    if report is None:
        if previous.phase in objects.TERMINAL_PHASES:
            return previous
        # Not (or no longer) on the node: nodesync starts it; until then it is not ready.
        return previous.model_copy(update={
            "host_ip": host_ip or previous.host_ip,
            "conditions": _conditions(previous, now, scheduled=True, ready=False,
                                      reason="ContainersNotRunning"),
        })
    by_name = {c.get("name"): c for c in report.get("containers") or []}
    statuses = [
        _container_status(c.name, c.image, by_name.get(c.name), previous)
        for c in pod.spec.containers
    ]
    ready = bool(statuses) and all(s.ready for s in statuses)
    phase = str(report.get("phase") or previous.phase)
    return previous.model_copy(update={
        "phase": phase,
        "pod_ip": report.get("podIP") or previous.pod_ip,
        "host_ip": host_ip or previous.host_ip,
        "start_time": previous.start_time or now,
        "container_statuses": statuses,
        "conditions": _conditions(previous, now, scheduled=True, ready=ready,
                                  reason="" if ready else "ContainersNotReady"),
    })


def not_ready(pod: core.Pod, clock: clocks.Clock) -> core.PodStatus:
    """A pod on a node that stopped answering: Ready=False (MarkPodsNotReady)."""
    previous = pod.status
    if previous.phase in objects.TERMINAL_PHASES:
        return previous
    return previous.model_copy(update={
        "conditions": _conditions(previous, objects.now_text(clock), scheduled=True,
                                  ready=False, reason="NodeNotReady", only_ready=True),
    })


def _conditions(
    previous: core.PodStatus, now: str, *, scheduled: bool, ready: bool, reason: str,
    only_ready: bool = False,
) -> list[core.PodCondition]:
    conditions = [c.to_dict() for c in previous.conditions]
    wanted = {
        "PodScheduled": scheduled, "Initialized": True, "ContainersReady": ready, "Ready": ready,
    }
    for kind in _CONDITIONS:
        if only_ready and kind not in ("Ready", "ContainersReady"):
            continue
        state = "True" if wanted[kind] else "False"
        why = reason if kind in ("Ready", "ContainersReady") and not wanted[kind] else ""
        conditions = objects.set_condition(conditions, kind, state, now, reason=why)
    order = {kind: i for i, kind in enumerate(_CONDITIONS)}
    conditions.sort(key=lambda c: order.get(str(c.get("type")), len(order)))
    return [core.PodCondition.model_validate(c) for c in conditions]


def _container_status(
    name: str, image: str, report: Mapping[str, Any] | None, previous: core.PodStatus
) -> core.ContainerStatus:
    before = next((s for s in previous.container_statuses if s.name == name), None)
    if report is None:
        return core.ContainerStatus(
            name=name, image=image,
            state=core.ContainerState(waiting=core.ContainerStateWaiting(
                reason="ContainerCreating")),
            restart_count=before.restart_count if before else 0,
        )
    restarts = int(report.get("restartCount") or 0)
    state = _state(report)
    last_state = before.last_state if before else core.ContainerState()
    if before is not None and restarts > before.restart_count:
        if before.state.terminated is not None:
            last_state = core.ContainerState(terminated=before.state.terminated)
        elif report.get("exitCode") is not None and state.terminated is None:
            last_state = core.ContainerState(terminated=core.ContainerStateTerminated(
                exit_code=int(report["exitCode"]),
                reason="Completed" if int(report["exitCode"]) == 0 else "Error",
                finished_at=report.get("finishedAt"),
            ))
    return core.ContainerStatus(
        name=name, image=str(report.get("image") or image),
        image_id=report.get("imageID") or None, ready=bool(report.get("ready")),
        restart_count=restarts, started=report.get("state") == "running",
        state=state, last_state=last_state,
    )


def _state(report: Mapping[str, Any]) -> core.ContainerState:
    kind = report.get("state")
    if kind == "running":
        return core.ContainerState(running=core.ContainerStateRunning(
            started_at=report.get("startedAt")))
    if kind == "terminated":
        return core.ContainerState(terminated=core.ContainerStateTerminated(
            exit_code=int(report.get("exitCode") or 0), reason=report.get("reason"),
            message=report.get("message"), started_at=report.get("startedAt"),
            finished_at=report.get("finishedAt"),
        ))
    return core.ContainerState(waiting=core.ContainerStateWaiting(
        reason=report.get("reason") or "ContainerCreating", message=report.get("message")))
