"""The scheduler as a planner: pending pods in, BIND and UNSCHEDULABLE actions out.

``plan_scheduling`` runs between the controllers that create pods and ``apply``
that writes bindings (``reconcile.fixpoint`` calls it every round). Each pending
pod gets one scheduling cycle (``cycle.Scheduler``); a pod that fits nowhere is
left Pending with a PodScheduled=False condition whose message is Kubernetes' own
("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint
{dedicated: gpu}."). ``explain`` answers the same question node by node for
``gitkube describe pod``.

A pod that fits nowhere may preempt pods of lower priority (``preemption``): they
are evicted the way the taint manager evicts (``controllers.evictions``: marked
deleted, with a DisruptionTarget condition, so their controllers replace them and
their nodes stop them), and the pod waits, nominated to their node
(``status.nominatedNodeName``), until a later pass finds them gone and binds it.
"""

from __future__ import annotations

from gitkube import clock as clocks
from gitkube.api import core
from gitkube.planning import claims, objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot
from gitkube.scheduler import cluster as cluster_mod
from gitkube.scheduler import cycle, framework, preemption

SOURCE = "scheduler"
CONDITION = "PodScheduled"
UNSCHEDULABLE = "Unschedulable"
SCHEDULED = "Scheduled"
#: ``v1.Pod.spec.schedulerName`` default, in the victims' DisruptionTarget message.
SCHEDULER_NAME = "default-scheduler"


def plan_scheduling(
    snapshot: Snapshot, clock: clocks.Clock, *, seed: int = 0
) -> list[Action]:
    """A BIND for every pending pod that fits a node, an UNSCHEDULABLE for every other.

    Pods are taken highest priority first, then oldest; each placement counts for
    the pods after it, so one pass never over-commits a node. A pod that fits nowhere
    may preempt: an UPDATE evicts each victim, and the pod's UNSCHEDULABLE names the
    node it waits for. The same snapshot and seed always give the same actions.
    """
    state = cluster_mod.build(snapshot)
    if not state.queue:
        return []
    scheduler = cycle.Scheduler(state, seed=seed)
    now = clocks.format_time(clock.now())
    nominated = {q.info.key: q.pod.status.nominated_node_name or "" for q in state.queue
                 if q.pod.status.nominated_node_name}
    reservations = preemption.Reservations(state, nominated)
    preemptor = preemption.Preemptor(scheduler, clock.now())
    context = state.context or cluster_mod.NO_CONTEXT
    actions: list[Action] = []
    for queued in state.queue:
        info = queued.info
        if reservations.active:
            reservations.before(info)
        result = scheduler.schedule(info)
        if result.node is not None:
            actions.append(_bind(queued, result.node, result.score, now))
            actions += _select_node(snapshot, state, info, result.node.name)
            continue
        message, node_name = result.message, ""
        if not info.problem and not result.prefiltered and preemptor.can_help(info):
            decision = preemptor.post_filter(
                info, policy=context.preemption_policy(queued.pod.spec),
                nominated=nominated.get(info.key, ""))
            message = f"{message} {decision.message}"
            node_name = decision.nominated
            if node_name:
                actions += _carry_out(decision, queued, state, reservations, nominated,
                                      snapshot, now)
        actions.append(_unschedulable(queued, message, now, nominated=node_name))
    return actions


def _carry_out(
    decision: preemption.Decision, queued: cluster_mod.QueuedPod,
    state: cluster_mod.ClusterState, reservations: preemption.Reservations,
    nominated: dict[str, str], snapshot: Snapshot, now: str,
) -> list[Action]:
    """Hold the nominated node for the pod, evict the victims, and take the nomination
    of lower-priority pods waiting for the same node (``prepareCandidate``)."""
    node = state.by_name[decision.nominated]
    reservations.hold(queued.info, node)
    if decision.evict:
        for key in reservations.drop_below(node, queued.info.priority):
            nominated[key] = ""
    return [_preempted(snapshot, state.bound_pods[victim.key], queued.pod, node.name, now)
            for victim in decision.evict]


def _select_node(snapshot: Snapshot, state: cluster_mod.ClusterState, info: framework.PodInfo,
                 node: str) -> list[Action]:
    """The pod's unbound WaitForFirstConsumer claims go where it goes: each is annotated with
    the node (``volume.kubernetes.io/selected-node``), the provisioner's cue."""
    actions = []
    for pvc in state.volumes.assume(info.namespace, info.claims, info.key, node):
        data = pvc.to_dict()
        data["metadata"].setdefault("annotations", {})[claims.SELECTED_NODE_ANNOTATION] = node
        stored = snapshot.get(pvc.key)
        actions.append(Action(
            ActionKind.UPDATE, ObjectRef.of(pvc),
            f"its first pod {info.namespace}/{info.name} goes to {node}; the volume is made there",
            obj=objects.rebuild(pvc, data),
            expected_revision=stored.mod_revision if stored else None, source=SOURCE))
    return actions


def explain(snapshot: Snapshot, pod: core.Pod) -> list[tuple[str, bool, list[str]]]:
    """For every node (by name): whether ``pod`` passes every filter there, and if not,
    the reasons of the first filter that rejects it. A pod already bound is taken off
    its node first, so it does not compete with itself; pods nominated to a node with
    at least its priority hold their room there, as in a scheduling pass."""
    state = cluster_mod.build(snapshot)
    info = cluster_mod.pod_info(pod, cluster_mod.PodContext.of(snapshot))
    own = state.bound.get(info.key)
    if own is not None:
        state.forget(own)
    for queued in state.queue:
        node = state.by_name.get(queued.pod.status.nominated_node_name or "")
        if (node is not None and queued.info.key != info.key and not queued.info.problem
                and queued.info.priority >= info.priority):
            state.assume(queued.info, node)
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
    bound = _updated(pod, scheduled, now, node=node.name)  # and nominated nowhere
    return Action(
        ActionKind.BIND,
        ObjectRef.of(pod),
        reason,
        obj=bound,
        expected_revision=queued.revision,
        node=node.name,
        source=SOURCE,
    )


def _unschedulable(
    queued: cluster_mod.QueuedPod, message: str, now: str, *, nominated: str = ""
) -> Action:
    pod = queued.pod
    current = pod.status.condition(CONDITION)
    unchanged = (
        pod.status.phase == "Pending"
        and current is not None
        and current.status == "False"
        and current.reason == UNSCHEDULABLE
        and current.message == message
        and (pod.status.nominated_node_name or "") == nominated
    )
    if unchanged:  # the stored pod already says so: repeat it as it is
        pending = pod
    else:
        wanted = core.PodCondition(
            type=CONDITION, status="False", reason=UNSCHEDULABLE, message=message
        )
        pending = _updated(pod, wanted, now, nominated=nominated or None)
    return Action(
        ActionKind.UNSCHEDULABLE,
        ObjectRef.of(pod),
        message,
        obj=pending,
        expected_revision=queued.revision,
        status_only=unchanged,
        source=SOURCE,
    )


def _preempted(
    snapshot: Snapshot, pod: core.Pod, preemptor: core.Pod, node: str, now: str
) -> Action:
    """Evict ``victim`` as the taint manager does (``controllers.evictions``): marked
    deleted with DisruptionTarget=True (PreemptionByScheduler), so its controller
    replaces it, its node stops it, and ``podstatus`` removes it once the node reports
    it gone."""
    stored = snapshot.get(pod.key)
    conditions = objects.set_condition(
        [c.to_dict() for c in pod.status.conditions], preemption.DISRUPTION_TARGET, "True", now,
        reason=preemption.PREEMPTION_BY_SCHEDULER,
        message=f"{SCHEDULER_NAME}: preempting to accommodate a higher priority pod")
    data = pod.to_dict()
    data["metadata"]["deletionTimestamp"] = now
    data["status"]["conditions"] = conditions
    return Action(
        ActionKind.UPDATE, ObjectRef.of(pod),
        f"Preempted by {preemptor.namespace}/{preemptor.name} on node {node}",
        obj=objects.rebuild(pod, data), expected_revision=stored.mod_revision if stored else None,
        source=SOURCE,
    )


def _updated(
    pod: core.Pod, wanted: core.PodCondition, now: str, *, node: str | None = None,
    nominated: str | None = None,
) -> core.Pod:
    """A new pod with ``wanted`` in place of the condition of its type (phase Pending,
    bound to ``node`` when given, nominated to ``nominated``). Only the spec and status
    are new objects; the rest is shared with the stored pod, which no planner mutates —
    a deep copy of every pod would cost more than scheduling it.

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
    status = pod.status.model_copy(update={
        "phase": "Pending", "conditions": conditions, "nominated_node_name": nominated})
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
