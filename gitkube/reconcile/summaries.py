"""What a pass did, in the words of its summary line and status commit: pods restarted
and why, pods rescheduled from a node, and how ready each Deployment, StatefulSet and DaemonSet is.

Pure: read from the snapshots and the applied actions, for ``ledger.summarize`` and
``ledger.commit_message``.
"""

from __future__ import annotations

from gitkube.api import apps, core, daemonsets, registry, statefulsets
from gitkube.planning.actions import Action, ActionKind
from gitkube.planning.snapshot import Snapshot


def restarted(before: Snapshot, applied: list[Action]) -> dict[str, str]:
    """Pods whose containers restarted since the last pass: pod name → what ended the
    previous run (``main: Error, exit 137``; ``main: liveness probe failed``)."""
    found: dict[str, str] = {}
    for action in applied:
        pod = action.obj
        if action.kind is not ActionKind.UPDATE or not isinstance(pod, core.Pod):
            continue
        stored = before.get(pod.key)
        old = stored.obj if stored is not None else None
        counts = ({s.name: s.restart_count for s in old.status.container_statuses}
                  if isinstance(old, core.Pod) else {})
        why = []
        for status in pod.status.container_statuses:
            if status.restart_count <= counts.get(status.name, 0):
                continue
            ended = status.last_state.terminated
            message = (ended.message or "") if ended is not None else ""
            if message.startswith(("liveness probe failed", "startup probe failed")):
                why.append(f"{status.name}: {message.split(':', 1)[0]}")
            elif ended is not None:
                why.append(f"{status.name}: {ended.reason or 'Error'}, exit {ended.exit_code}")
            else:
                why.append(status.name)
        if why:
            found[pod.name] = "; ".join(why)
    return found


def rescheduled(before: Snapshot, applied: list[Action]) -> dict[str, int]:
    """Pods deleted from a node while their controller bound a replacement elsewhere:
    node → how many moved away from it this pass."""
    bound_by_owner: dict[str, set[str]] = {}
    for action in applied:
        if action.kind is ActionKind.BIND and action.obj is not None and action.node:
            for ref in action.obj.metadata.owner_references:
                bound_by_owner.setdefault(ref.uid, set()).add(action.node)
    moved: dict[str, int] = {}
    for action in applied:
        if action.kind is not ActionKind.DELETE or action.target.kind != "Pod":
            continue
        stored = before.get(registry.key_for("Pod", action.target.namespace, action.target.name))
        pod = stored.obj if stored is not None else None
        if not isinstance(pod, core.Pod) or not pod.spec.node_name:
            continue
        node = pod.spec.node_name
        if any(bound_by_owner.get(ref.uid, set()) - {node}
               for ref in pod.metadata.owner_references):
            moved[node] = moved.get(node, 0) + 1
    return moved


def readiness(after: Snapshot) -> dict[str, str]:
    """Deployment name (``statefulset/NAME``, ``daemonset/NAME``) → ``3/3 ready``, as the
    store holds them at the end of the pass."""
    ready = {d.name: f"{d.status.ready_replicas}/{d.spec.replicas} ready"
             for d in after.of_kind(apps.Deployment)}
    ready.update({f"statefulset/{s.name}": f"{s.status.ready_replicas}/{s.spec.replicas} ready"
                  for s in after.of_kind(statefulsets.StatefulSet)})
    ready.update({f"daemonset/{d.name}": (f"{d.status.number_ready}/"
                                          f"{d.status.desired_number_scheduled} ready")
                  for d in after.of_kind(daemonsets.DaemonSet)})
    return ready
