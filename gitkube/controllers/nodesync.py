"""Store ↔ node: which pods each reached node must start or stop.

The last planner of a pass, run once on the fixpoint's snapshot. For every node
that answered this pass, the pods bound to it are compared with the pods its
agent reported, by uid and by spec hash (``lowering.spec_hash``): a pod the
node lacks is STARTed (new, or drift when the store says it was running), and so
is a pod missing a container that ran before (drift: removed by hand); a pod
whose hash changed is STARTed again (the agent replaces it), and a reported pod
no longer bound there is STOPped (fencing, when it was evicted while its node was
unreachable). Apply then converges each node to exactly its
bound pods; these actions say why, for the plan.

A pod that cannot be lowered (a missing ConfigMap, say) is not started; its
containers wait with kubelet's reason, written as a status-only update. Nodes
not reached this pass get no node actions: nothing is known about them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitkube import clock as clocks
from gitkube.agent import protocol
from gitkube.api import core, podstate
from gitkube.controllers import lowering
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "nodes"


def plan_nodes(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    pods = snapshot.of_kind(core.Pod)
    by_uid = {p.metadata.uid: p for p in pods}
    actions: list[Action] = []
    for node in sorted(snapshot.observed):
        report = snapshot.observed[node]
        bound = [p for p in pods if p.spec.node_name == node and not p.metadata.deletion_timestamp]
        reported: dict[str, Mapping[str, Any]] = {
            str(p.get("uid", "")): p for p in report.get("pods") or []
        }
        for pod in bound:
            actions += _sync_pod(snapshot, node, pod, reported.get(pod.metadata.uid or ""), clock)
        bound_uids = {p.metadata.uid for p in bound}
        by_name = {(p.namespace, p.name): p for p in bound}
        for uid, seen in sorted(reported.items()):
            if uid in bound_uids:
                continue
            namespace, name = str(seen.get("namespace") or "default"), str(seen.get("name", uid))
            successor = by_name.get((namespace, name))
            gone = by_uid.get(uid)
            if gone is not None and gone.metadata.deletion_timestamp:
                reason = _eviction_reason(gone, node)
            else:
                reason = "replaced" if successor is not None else "deleted"
            actions.append(Action(
                ActionKind.STOP, ObjectRef("Pod", namespace, name), reason, node=node,
                source=SOURCE,
            ))
    return actions


def _eviction_reason(pod: core.Pod, node: str) -> str:
    """Why a pod marked deleted is stopped: its DisruptionTarget says who evicted it; without
    one, its controller deleted it (a StatefulSet's pod goes before its successor comes), or
    ``gitkube delete pod`` did."""
    target = next((c for c in pod.status.conditions if c.type == "DisruptionTarget"), None)
    if target is None:
        owner = pod.controller_ref()
        return (f"terminating: deleted by {owner.kind.lower()}/{owner.name}"
                if owner is not None else "terminating: deleted")
    if target.reason == "PreemptionByScheduler":
        return "preempted: its room was given to a higher-priority pod"
    return (f"fencing: evicted while node/{node} was unreachable; removed before anything "
            "else starts there")


def _sync_pod(
    snapshot: Snapshot, node: str, pod: core.Pod, seen: Mapping[str, Any] | None,
    clock: clocks.Clock,
) -> list[Action]:
    if podstate.is_terminal(pod):
        return []  # finished: nothing to start; the agent keeps what it has for logs
    try:
        run = lowering.lower_pod(pod, snapshot)
    except lowering.LoweringError as exc:
        return _config_error(snapshot, pod, exc, clock)
    if seen is None:
        was_running = pod.status.phase == "Running" or pod.status.start_time is not None
        reason = "drift: pod missing on node" if was_running else "new pod"
    elif seen.get("hash") != run["hash"]:
        reason = "spec changed"
    elif changed := _changed_images(run, seen):
        reason = f"drift: {changed} (changed by hand on the node)"
    else:
        missing = _missing_containers(seen)
        if not missing:
            return []
        # A pod that ran lost a container by hand (removed on the node): that is drift.
        names = ", ".join(missing)
        reason = (f"drift: container {names} missing on node" if pod.status.start_time
                  else f"container {names} not created yet")
    return [Action(ActionKind.START, ObjectRef.of(pod), reason, obj=pod, node=node,
                   source=SOURCE)]


def _changed_images(run: protocol.PodRun, seen: Mapping[str, Any]) -> str:
    """``container main runs busybox:v2, not busybox:v1`` for each container whose image differs."""
    want = {c.get("name"): c.get("image", "") for c in run.get("containers", [])}
    said = [
        f"container {c.get('name')} runs {c.get('image')}, not {want[c.get('name')]}"
        for c in seen.get("containers") or []
        if c.get("containerID") and c.get("image") and c.get("name") in want
        and protocol.normalize_image(str(c.get("image")))
        != protocol.normalize_image(str(want[c.get("name")]))
    ]
    return "; ".join(said)


def _missing_containers(seen: Mapping[str, Any]) -> list[str]:
    """Containers the node lacks that nothing else explains (no image or config trouble)."""
    return [
        str(c.get("name")) for c in seen.get("containers") or []
        if not c.get("containerID") and c.get("state") == "waiting"
        and c.get("reason", "ContainerCreating") == "ContainerCreating"
    ]


def _config_error(
    snapshot: Snapshot, pod: core.Pod, error: lowering.LoweringError, clock: clocks.Clock
) -> list[Action]:
    waiting = core.ContainerState(
        waiting=core.ContainerStateWaiting(reason=error.reason, message=error.message))
    before = {s.name: s for s in pod.status.container_statuses}
    statuses = [
        (before[c.name] if c.name in before else core.ContainerStatus(name=c.name, image=c.image))
        .model_copy(update={"state": waiting, "ready": False})
        for c in pod.spec.containers
    ]
    status = pod.status.model_copy(update={"container_statuses": statuses})
    if status == pod.status:
        return []
    stored = snapshot.get(pod.key)
    return [Action(
        ActionKind.UPDATE, ObjectRef.of(pod), f"{error.reason}: {error.message}",
        obj=pod.model_copy(update={"status": status}),
        expected_revision=stored.mod_revision if stored else None,
        status_only=True, source=SOURCE,
    )]
