"""Taint-based eviction: pods leave a node whose NoExecute taints they do not tolerate (long).

Kubernetes' node lifecycle controller taints a node whose Ready condition is Unknown
with ``node.kubernetes.io/unreachable:NoExecute`` (``not-ready`` when it is False),
and its taint manager deletes each pod on it once the pod's matching tolerations run
out; every pod tolerates both taints for 300 s unless it says otherwise (the
DefaultTolerationSeconds admission plugin). Taints declared NoExecute in
inventory.yaml evict the same way. gitkube keeps the taints virtual (the Node's spec
is inventory.yaml's): the time a lifecycle taint was added is the Ready condition's
lastTransitionTime, so a cron-driven pass decides exactly as a daemon would.

An evicted pod is marked deleted (``deletionTimestamp``, condition DisruptionTarget)
rather than removed: its controller replaces it at once, the converge of its node
removes it whenever the node answers again (fencing, see ``podstatus``), and only
then does the object go.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gitkube import clock as clocks
from gitkube.api import core, podstate
from gitkube.api import node as node_api
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "nodes"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
#: Optional per-node default toleration; inventory's settings.podEvictionTimeoutSeconds.
EVICTION_TIMEOUT_ANNOTATION = "gitkube.io/pod-eviction-timeout-seconds"
DEFAULT_TOLERATION_SECONDS = 300.0


@dataclass(frozen=True)
class NoExecuteTaint:
    key: str
    value: str
    #: When the taint was added (RFC 3339); None: as old as the node.
    added: str | None


def no_execute_taints(node: node_api.Node, now: str) -> list[NoExecuteTaint]:
    """The node's NoExecute taints: declared ones plus the lifecycle taint of its Ready state."""
    taints = [NoExecuteTaint(t.key, t.value or "", t.time_added)
              for t in node.spec.taints if t.effect == "NoExecute"]
    ready = node.status.condition("Ready")
    if ready is not None and ready.status != "True":
        key = UNREACHABLE_TAINT if ready.status == "Unknown" else NOT_READY_TAINT
        taints.append(NoExecuteTaint(key, "", ready.last_transition_time or now))
    return taints


def default_toleration(node: node_api.Node) -> float:
    try:
        return float(node.metadata.annotations.get(EVICTION_TIMEOUT_ANNOTATION,
                                                   DEFAULT_TOLERATION_SECONDS))
    except ValueError:
        return DEFAULT_TOLERATION_SECONDS


def eviction_time(pod: core.Pod, taints: list[NoExecuteTaint], default_seconds: float,
                  ) -> dt.datetime | None:
    """When the taint manager deletes ``pod`` (None: never); the epoch means at once."""
    deadline: dt.datetime | None = None
    for taint in taints:
        tolerations = list(pod.spec.tolerations)
        if taint.key in (NOT_READY_TAINT, UNREACHABLE_TAINT) and not any(
                t.tolerates(taint.key, None, "NoExecute") for t in tolerations):
            tolerations.append(core.Toleration(key=taint.key, operator="Exists",
                                               effect="NoExecute",
                                               toleration_seconds=int(default_seconds)))
        matching = [t for t in tolerations if t.tolerates(taint.key, taint.value, "NoExecute")]
        if not matching:
            return objects.parse_or_epoch(None)
        seconds = [t.toleration_seconds for t in matching if t.toleration_seconds is not None]
        if not seconds:
            continue  # tolerated for ever
        at = objects.parse_or_epoch(taint.added) + dt.timedelta(seconds=max(0, min(seconds)))
        deadline = at if deadline is None else min(deadline, at)
    return deadline


def plan_evictions(snapshot: Snapshot, node: node_api.Node, pods: list[core.Pod],
                   clock: clocks.Clock) -> list[Action]:
    """Evict the pods of ``node`` whose tolerations of its NoExecute taints ran out."""
    now = objects.now_text(clock)
    taints = no_execute_taints(node, now)
    if not taints:
        return []
    default_seconds = default_toleration(node)
    actions: list[Action] = []
    for pod in pods:
        if pod.metadata.deletion_timestamp or podstate.is_terminal(pod):
            continue
        at = eviction_time(pod, taints, default_seconds)
        if at is None or at > clock.now():
            continue
        actions.append(evict(snapshot, pod, node, taints, clock))
    return actions


def evict(snapshot: Snapshot, pod: core.Pod, node: node_api.Node,
          taints: list[NoExecuteTaint], clock: clocks.Clock) -> Action:
    now = objects.now_text(clock)
    names = ", ".join(t.key for t in taints)
    conditions = objects.set_condition(
        [c.to_dict() for c in pod.status.conditions], "DisruptionTarget", "True", now,
        reason="DeletionByTaintManager", message=f"Taint manager: deleting due to NoExecute "
        f"taint {names} of node {node.name}")
    data = pod.to_dict()
    data["metadata"]["deletionTimestamp"] = now
    data["status"]["conditions"] = conditions
    evicted = objects.rebuild(pod, data)
    stored = snapshot.get(pod.key)
    return Action(
        ActionKind.UPDATE, ObjectRef.of(pod),
        f"evicted from node/{node.name} ({names}); its controller replaces it and the node "
        "removes it when it answers again",
        obj=evicted, expected_revision=stored.mod_revision if stored else None, source=SOURCE,
    )
