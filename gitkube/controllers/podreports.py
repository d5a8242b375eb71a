"""One agent ``PodReport`` → the Pod's Kubernetes status, as kubelet's status manager writes it.

Used by ``podstatus.plan_observed``. Times that mean "since when" (startTime,
lastTransitionTime) are kept from the previous status unless the thing they date
changed, so a pod that keeps running produces the same status on every pass.

Init containers get ``initContainerStatuses`` (spec order). The pod is Initialized
once each has exited 0 (a sidecar: once it started) or the app containers exist; it
is Ready when its app containers and its sidecars are ready, as kubelet decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitkube import clock as clocks
from gitkube.api import core, podstate
from gitkube.planning import objects

_CONDITIONS = ("PodScheduled", "Initialized", "ContainersReady", "Ready")


def pod_status(
    pod: core.Pod, report: Mapping[str, Any] | None, host_ip: str, clock: clocks.Clock
) -> core.PodStatus:
    """The status of a pod bound to a node that answered; ``report`` None: not on the node."""
    now = objects.now_text(clock)
    previous = pod.status
    if previous.phase in podstate.TERMINAL_PHASES:
        return previous  # Succeeded and Failed are final, whatever the node shows later
    if report is None:
        # Not (or no longer) on the node: nodesync starts it; until then it is not ready.
        lost = previous.reason == NODE_LOST
        return previous.model_copy(update={
            "phase": "Pending" if lost else previous.phase,
            "reason": None if lost else previous.reason,
            "message": None if lost else previous.message,
            "host_ip": host_ip or previous.host_ip,
            "conditions": _conditions(previous, now, scheduled=True, ready=False,
                                      reason="ContainersNotRunning"),
        })
    by_name = {c.get("name"): c for c in report.get("containers") or []}
    statuses = [
        _container_status(c.name, c.image, by_name.get(c.name), previous.container_statuses)
        for c in pod.spec.containers
    ]
    init_by_name = {c.get("name"): c for c in report.get("initContainers") or []}
    init_statuses = [
        _container_status(c.name, c.image, init_by_name.get(c.name),
                          previous.init_container_statuses, waiting="PodInitializing")
        for c in pod.spec.init_containers
    ]
    sidecars = [s for c, s in zip(pod.spec.init_containers, init_statuses, strict=True)
                if c.restart_policy == "Always"]
    ready = bool(statuses) and all(s.ready for s in [*statuses, *sidecars])
    pending = [] if any(s.container_id for s in statuses) else [
        c.name for c, s in zip(pod.spec.init_containers, init_statuses, strict=True)
        if not (_completed(s) or (c.restart_policy == "Always" and s.started))]
    phase = str(report.get("phase") or previous.phase)
    lost = previous.reason == NODE_LOST
    return previous.model_copy(update={
        "phase": phase,
        "reason": None if lost else previous.reason,
        "message": None if lost else previous.message,
        "pod_ip": report.get("podIP") or previous.pod_ip,
        "host_ip": host_ip or previous.host_ip,
        "start_time": previous.start_time or now,
        "init_container_statuses": init_statuses,
        "container_statuses": statuses,
        "conditions": _conditions(previous, now, scheduled=True, ready=ready,
                                  reason="" if ready else "ContainersNotReady",
                                  not_initialized=pending),
    })


def _completed(status: core.ContainerStatus) -> bool:
    done = status.state.terminated
    return done is not None and done.exit_code == 0


#: The pod status reason of a pod whose node stopped answering (Kubernetes' NodeLost).
NODE_LOST = "NodeLost"


def not_ready(pod: core.Pod, node: str, clock: clocks.Clock) -> core.PodStatus:
    """A pod on a node that stopped answering: phase Unknown, Ready=False (MarkPodsNotReady)."""
    previous = pod.status
    if previous.phase in podstate.TERMINAL_PHASES:
        return previous
    return previous.model_copy(update={
        "phase": "Unknown",
        "reason": NODE_LOST,
        "message": f"Node {node} which was running pod {pod.name} is unresponsive",
        "container_statuses": [s.model_copy(update={"ready": False})
                               for s in previous.container_statuses],
        "conditions": _conditions(previous, objects.now_text(clock), scheduled=True,
                                  ready=False, reason="NodeNotReady", only_ready=True),
    })


def _conditions(
    previous: core.PodStatus, now: str, *, scheduled: bool, ready: bool, reason: str,
    only_ready: bool = False, not_initialized: list[str] | None = None,
) -> list[core.PodCondition]:
    conditions = [c.to_dict() for c in previous.conditions]
    wanted = {
        "PodScheduled": scheduled, "Initialized": not not_initialized,
        "ContainersReady": ready, "Ready": ready,
    }
    for kind in _CONDITIONS:
        if only_ready and kind not in ("Ready", "ContainersReady"):
            continue
        if kind == "PodScheduled" and scheduled and any(
                c.get("type") == kind and c.get("status") == "True" for c in conditions):
            continue  # the scheduler's own, saying why the pod is on its node
        state = "True" if wanted[kind] else "False"
        why = reason if kind in ("Ready", "ContainersReady") and not wanted[kind] else ""
        message = ""
        if kind == "Initialized" and not_initialized:
            why = "ContainersNotInitialized"
            message = f"containers with incomplete status: [{' '.join(not_initialized)}]"
        conditions = objects.set_condition(conditions, kind, state, now, reason=why,
                                           message=message)
    order = {kind: i for i, kind in enumerate(_CONDITIONS)}
    conditions.sort(key=lambda c: order.get(str(c.get("type")), len(order)))
    return [core.PodCondition.model_validate(c) for c in conditions]


def _container_status(
    name: str, image: str, report: Mapping[str, Any] | None,
    previous: list[core.ContainerStatus], waiting: str = "ContainerCreating",
) -> core.ContainerStatus:
    before = next((s for s in previous if s.name == name), None)
    if report is None:
        return core.ContainerStatus(
            name=name, image=image,
            state=core.ContainerState(waiting=core.ContainerStateWaiting(reason=waiting)),
            restart_count=before.restart_count if before else 0,
        )
    restarts = int(report.get("restartCount") or 0)
    state = _state(report)
    last_state = before.last_state if before else core.ContainerState()
    last = report.get("lastState")
    if last:
        # The node's supervisor saw the previous run end: its record is the truth.
        last_state = core.ContainerState(terminated=core.ContainerStateTerminated(
            exit_code=int(last.get("exitCode") or 0), reason=last.get("reason"),
            message=last.get("message"), started_at=last.get("startedAt"),
            finished_at=last.get("finishedAt"), container_id=last.get("containerID"),
        ))
    elif before is not None and restarts > before.restart_count:
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
        restart_count=restarts, container_id=report.get("containerID") or None,
        started=report.get("state") == "running" and report.get("started", True) is not False,
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
