"""The scheduler as a planner: pending pods in, BIND and UNSCHEDULABLE actions out.

``plan_scheduling`` runs between the controllers that create pods and ``apply``
that writes bindings (``controllers.runner`` calls it every round). Each pending
pod gets one scheduling cycle (``cycle.Scheduler``); a pod that fits nowhere is
left Pending with a PodScheduled=False condition whose message is Kubernetes' own
("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint
{dedicated: gpu}."). ``explain`` answers the same question node by node for
``gitkube describe pod``.
"""

from __future__ import annotations

from gitkube import clock as clocks
from gitkube.api import core
from gitkube.controllers.actions import Action, ActionKind, ObjectRef
from gitkube.controllers.snapshot import Snapshot
from gitkube.scheduler import cluster as cluster_mod
from gitkube.scheduler import cycle, framework

SOURCE = "scheduler"
CONDITION = "PodScheduled"
UNSCHEDULABLE = "Unschedulable"
SCHEDULED = "Scheduled"


def plan_scheduling(
    snapshot: Snapshot, clock: clocks.Clock, *, seed: int = 0
) -> list[Action]:
    """A BIND for every pending pod that fits a node, an UNSCHEDULABLE for every other.

    Pods are taken highest priority first, then oldest; each placement counts for
    the pods after it, so one pass never over-commits a node. The same snapshot and
    seed always give the same actions.
    """
    state = cluster_mod.build(snapshot)
    if not state.queue:
        return []
    scheduler = cycle.Scheduler(state, seed=seed)
    now = clocks.format_time(clock.now())
    actions: list[Action] = []
    for queued in state.queue:
        result = scheduler.schedule(queued.info)
        if result.node is not None:
            actions.append(_bind(queued, result.node, result.score, now))
        else:
            actions.append(_unschedulable(queued, result.message, now))
    return actions


def explain(snapshot: Snapshot, pod: core.Pod) -> list[tuple[str, bool, list[str]]]:
    """For every node (by name): whether ``pod`` passes every filter there, and if not,
    the reasons of the first filter that rejects it. A pod already bound is taken off
    its node first, so it does not compete with itself."""
    state = cluster_mod.build(snapshot)
    info = cluster_mod.pod_info(pod, cluster_mod.PodContext.of(snapshot))
    own = state.bound.get(info.key)
    if own is not None:
        state.forget(own)
    scheduler = cycle.Scheduler(state)
    if info.problem:
        return [(node.name, False, [info.problem]) for node in state.nodes]
    return [
        (node.name, status is None, list(status.reasons) if status else [])
        for node, status in scheduler.filter_all(info)
    ]


def _bind(queued: cluster_mod.QueuedPod, node: framework.NodeInfo, score: int, now: str) -> Action:
    pod = queued.pod
    reason = (
        f"fits {node.name} (cpu {format_cpu(node.req_cpu)}/{format_cpu(node.alloc_cpu)}, "
        f"memory {format_memory(node.req_mem)}/{format_memory(node.alloc_mem)}; score {score})"
    )
    # The placement's reason stays on the pod, so ``describe`` can say why it is there.
    scheduled = core.PodCondition(
        type=CONDITION, status="True", reason=SCHEDULED,
        message=f"Successfully assigned {pod.namespace}/{pod.name} to {node.name}: {reason}",
    )
    bound = _updated(pod, scheduled, now, node=node.name)
    return Action(
        ActionKind.BIND,
        ObjectRef.of(pod),
        reason,
        obj=bound,
        expected_revision=queued.revision,
        node=node.name,
        source=SOURCE,
    )


def _unschedulable(queued: cluster_mod.QueuedPod, message: str, now: str) -> Action:
    pod = queued.pod
    current = pod.status.condition(CONDITION)
    unchanged = (
        pod.status.phase == "Pending"
        and current is not None
        and current.status == "False"
        and current.reason == UNSCHEDULABLE
        and current.message == message
    )
    if unchanged:  # the stored pod already says so: repeat it as it is
        pending = pod
    else:
        wanted = core.PodCondition(
            type=CONDITION, status="False", reason=UNSCHEDULABLE, message=message
        )
        pending = _updated(pod, wanted, now)
    return Action(
        ActionKind.UNSCHEDULABLE,
        ObjectRef.of(pod),
        message,
        obj=pending,
        expected_revision=queued.revision,
        status_only=unchanged,
        source=SOURCE,
    )


def _updated(
    pod: core.Pod, wanted: core.PodCondition, now: str, *, node: str | None = None
) -> core.Pod:
    """A new pod with ``wanted`` in place of the condition of its type (phase Pending,
    and bound to ``node`` when given). Only the spec and status are new objects; the
    rest is shared with the stored pod, which no planner mutates — a deep copy of
    every pod would cost more than scheduling it.

    The transition time moves only when the condition's status does, as
    ``podutil.UpdatePodCondition`` does."""
    conditions = list(pod.status.conditions)
    position = next(
        (i for i, c in enumerate(conditions) if c.type == wanted.type), len(conditions)
    )
    transition = now
    if position < len(conditions):
        previous = conditions[position]
        if previous.status == wanted.status and previous.last_transition_time:
            transition = previous.last_transition_time
    else:
        conditions.append(wanted)
    conditions[position] = wanted.model_copy(update={"last_transition_time": transition})
    status = pod.status.model_copy(update={"phase": "Pending", "conditions": conditions})
    spec = pod.spec if node is None else pod.spec.model_copy(update={"node_name": node})
    return pod.model_copy(update={"spec": spec, "status": status})


def format_cpu(millis: int) -> str:
    """1500 → "1500m", 2000 → "2" (Kubernetes' canonical cpu form)."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_memory(count: int) -> str:
    """A short binary size for people: 402653184 → "384Mi", 4080218931 → "3.8Gi"."""
    for suffix, shift in (("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if count >= 1 << shift:
            text = f"{count / (1 << shift):.1f}".removesuffix(".0")
            return f"{text}{suffix}"
    return str(count)
