"""What a pod's status means: the rules the controllers, root cause and every view share.

A Pod's status holds facts (phase, conditions, one status per container); what they
add up to is decided here, once: whether the pod is active, ready (and since when),
initialized; and the words kubectl prints for it — the STATUS column (kubectl's
printPod: init containers first, ``Init:1/2``, ``Init:CrashLoopBackOff``, then the app
containers, the last one's trouble winning), READY (``1/2``, sidecars counted) and
RESTARTS. ``gitkube get``, ``describe``, ``status``, root cause and the planners
(``planning/objects``, the ReplicaSet and Job controllers) all read them from here, so
they never disagree about a pod. Pure: a typed ``core.Pod`` in, a fact out.
"""

from __future__ import annotations

from gitkube.api import core

#: Phases a pod never leaves.
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


def is_terminal(pod: core.Pod) -> bool:
    return pod.status.phase in TERMINAL_PHASES


def is_active(pod: core.Pod) -> bool:
    """FilterActivePods: not Succeeded/Failed and not being deleted."""
    return not is_terminal(pod) and not pod.metadata.deletion_timestamp


def ready_since(pod: core.Pod) -> str | None:
    """lastTransitionTime of a True Ready condition; None when the pod is not ready."""
    condition = pod.status.condition("Ready")
    if condition is None or condition.status != "True":
        return None
    return condition.last_transition_time or "1970-01-01T00:00:00Z"


def is_ready(pod: core.Pod, *, by_phase: bool = False) -> bool:
    """The pod's Ready condition is True. ``by_phase``: a pod without a Ready condition
    yet (no node has reported it) counts as ready when Running or Succeeded, as root
    cause reads a pod written by hand."""
    if by_phase and pod.status.condition("Ready") is None:
        return pod.status.phase in ("Running", "Succeeded")
    return ready_since(pod) is not None


def is_initialized(pod: core.Pod) -> bool:
    condition = pod.status.condition("Initialized")
    return condition is not None and condition.status == "True"


def sidecar_names(spec: core.PodSpec) -> set[str]:
    """Names of the init containers with restartPolicy Always (native sidecars)."""
    return {c.name for c in spec.init_containers if c.restart_policy == "Always"}


def max_restarts(pod: core.Pod) -> int:
    """The most restarts of one app container (the ReplicaSet controller's ranking)."""
    return max((s.restart_count for s in pod.status.container_statuses), default=0)


# -- what kubectl prints ------------------------------------------------------------------


def _init_status(pod: core.Pod) -> str | None:
    """The STATUS word while an init container is still in the way, else None."""
    sidecars = sidecar_names(pod.spec)
    total = len(pod.spec.init_containers)
    for index, status in enumerate(pod.status.init_container_statuses):
        waiting, terminated = status.state.waiting, status.state.terminated
        if terminated is not None and terminated.exit_code == 0:
            continue
        if status.name in sidecars and status.started:
            continue
        if terminated is not None:
            if terminated.reason:
                return "Init:" + terminated.reason
            if terminated.signal:
                return f"Init:Signal:{terminated.signal}"
            return f"Init:ExitCode:{terminated.exit_code}"
        if waiting is not None and waiting.reason and waiting.reason != "PodInitializing":
            return "Init:" + waiting.reason
        return f"Init:{index}/{total}"
    return None


def status_word(pod: core.Pod) -> str:
    """The STATUS column as kubectl's printPod computes it."""
    if pod.metadata.deletion_timestamp:
        return "Terminating"
    initializing = _init_status(pod)
    if initializing is not None and not is_initialized(pod):
        return initializing
    reason = initializing or pod.status.reason or pod.status.phase or "Unknown"
    running = False
    for status in reversed(pod.status.container_statuses):
        waiting, terminated = status.state.waiting, status.state.terminated
        if waiting is not None and waiting.reason:
            reason = waiting.reason
        elif terminated is not None:
            reason = terminated.reason or ("Completed" if terminated.exit_code == 0 else "Error")
        elif status.ready and status.state.running is not None:
            running = True
    if reason == "Completed" and running:
        reason = "Running"
    return reason


def ready_column(pod: core.Pod) -> str:
    """READY: app containers and sidecars (kubectl counts sidecars that started)."""
    statuses = pod.status.container_statuses
    sidecars = sidecar_names(pod.spec)
    total = (len(pod.spec.containers) or len(statuses)) + len(sidecars)
    ready = sum(1 for s in statuses if s.ready)
    ready += sum(1 for s in pod.status.init_container_statuses
                 if s.name in sidecars and s.started and s.ready)
    return f"{ready}/{total}"


def restarts_column(pod: core.Pod) -> int:
    """RESTARTS: while initialising, the init containers'; then sidecars' and app containers'."""
    inits = pod.status.init_container_statuses
    if inits and not is_initialized(pod) and status_word(pod).startswith("Init:"):
        return sum(s.restart_count for s in inits)
    sidecars = sidecar_names(pod.spec)
    return sum(s.restart_count for s in
               [*pod.status.container_statuses, *(s for s in inits if s.name in sidecars)])


def unscheduled(pod: core.Pod) -> core.PodCondition | None:
    """The PodScheduled=False condition of an unbound pod: why no node could take it."""
    if pod.spec.node_name:
        return None
    condition = pod.status.condition("PodScheduled")
    return condition if condition is not None and condition.status == "False" else None
