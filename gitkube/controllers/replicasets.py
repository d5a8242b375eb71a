"""ReplicaSet → Pods: keep ``spec.replicas`` active pods, and say how many there are.

Kubernetes' ReplicaSet controller (``pkg/controller/replicaset``) creates pods
from the template with random names and deletes extras in the order of
``controller.ActivePodsWithRanks``. gitkube does the same, except that names are
DETERMINISTIC — ``<rs>-<5 chars>`` hashed from the ReplicaSet's uid and the
lowest free slot number — so a plan repeated or interrupted never makes a
second copy. A pod that Failed is deleted and replaced (Kubernetes leaves that
to pod garbage collection; here nothing else would ever replace it).

The status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
observedGeneration) is computed from the pods in the snapshot and written only
when it differs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from gitkube import clock as clocks
from gitkube.api import apps, core, hashing, keys, names, podstate
from gitkube.api.meta import ObjectMeta
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "replicaset"
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
#: Kubernetes' ReplicaSet controller creates at most this many pods per sync
#: (``burstReplicas``), and the Job controller as many (``MaxPodCreateDeletePerSync``).
BURST = 500
#: The ReplicaSet condition saying pods are not created (Kubernetes' ReplicaFailure).
FAILURE = "ReplicaFailure"
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


@dataclass(frozen=True)
class ReplicaCounts:
    replicas: int = 0
    fully_labeled: int = 0
    ready: int = 0
    available: int = 0


def plan_replicasets(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    pods = pods_by_controller(snapshot)
    actions: list[Action] = []
    for stored in snapshot.stored_of_kind(apps.ReplicaSet):
        rs = stored.obj
        if not isinstance(rs, apps.ReplicaSet) or rs.metadata.deletion_timestamp:
            continue
        owned = pods.get(rs.metadata.uid or "", [])
        actions += manage_replicas(snapshot, rs, owned, clock)
        status = rs_status(rs, owned, clock)
        if status != rs.status:
            updated = rs.model_copy(update={"status": status})
            held = objects.condition([c.to_dict() for c in status.conditions], FAILURE)
            actions.append(Action(
                ActionKind.UPDATE, ObjectRef.of(rs),
                f"{objects.describe(rs)}: {status.ready_replicas}/{rs.spec.replicas} pods ready"
                + (f"; {held['message']}" if held else ""),
                obj=updated, expected_revision=stored.mod_revision, status_only=True,
                source=SOURCE,
            ))
    return actions


def pods_by_controller(snapshot: Snapshot) -> dict[str, list[core.Pod]]:
    """Pods by the uid of their controller (owner reference with controller=true)."""
    out: dict[str, list[core.Pod]] = {}
    for pod in snapshot.of_kind(core.Pod):
        ref = pod.controller_ref()
        if ref is not None:
            out.setdefault(ref.uid, []).append(pod)
    return out


def count_replicas(
    rs: apps.ReplicaSet, owned: list[core.Pod], clock: clocks.Clock
) -> ReplicaCounts:
    active = [p for p in owned if podstate.is_active(p)]
    template_labels = rs.spec.template.metadata.labels
    min_ready = rs.spec.min_ready_seconds
    return ReplicaCounts(
        replicas=len(active),
        fully_labeled=sum(
            1 for p in active
            if all(p.metadata.labels.get(k) == v for k, v in template_labels.items())
        ),
        ready=sum(1 for p in active if podstate.is_ready(p)),
        available=sum(1 for p in active if objects.is_available(p, min_ready, clock)),
    )


def rs_status(
    rs: apps.ReplicaSet, owned: list[core.Pod], clock: clocks.Clock
) -> apps.ReplicaSetStatus:
    counts = count_replicas(rs, owned, clock)
    conditions = [c.to_dict() for c in rs.status.conditions]
    held = _held_back(rs, owned, counts.replicas)
    if held:
        conditions = objects.set_condition(conditions, FAILURE, "True", objects.now_text(clock),
                                           reason="Unschedulable", message=held)
    else:
        conditions = [c for c in conditions if c.get("type") != FAILURE]
    return rs.status.model_copy(update={
        "replicas": counts.replicas,
        "fully_labeled_replicas": counts.fully_labeled,
        "ready_replicas": counts.ready,
        "available_replicas": counts.available,
        "observed_generation": rs.metadata.generation or 1,
        "conditions": [apps.ReplicaSetCondition.model_validate(c) for c in conditions],
    })


def _held_back(rs: apps.ReplicaSet, owned: list[core.Pod], replicas: int) -> str:
    """Why pods of ``rs`` are not created (``creation_budget``), or "" when none are held."""
    waiting = [p for p in owned if podstate.is_active(p) and waits_for_room(p)]
    missing = rs.spec.replicas - replicas
    if not waiting or missing <= 0:
        return ""
    verb = "waits" if len(waiting) == 1 else "wait"
    scheduled = podstate.unscheduled(waiting[0])
    why = f" ({scheduled.message})" if scheduled is not None and scheduled.message else ""
    return (f"{objects.plural(len(waiting), 'pod')} {verb} for room on the nodes{why}; the "
            f"other {missing} are created as pods are placed")


def manage_replicas(
    snapshot: Snapshot, rs: apps.ReplicaSet, owned: list[core.Pod], clock: clocks.Clock
) -> list[Action]:
    """Delete failed pods, then create or delete active ones to reach spec.replicas."""
    actions = [
        _delete(pod, snapshot, f"pod failed; {objects.describe(rs)} replaces it")
        for pod in owned if pod.status.phase == "Failed"
        and not pod.metadata.deletion_timestamp
    ]
    active = [p for p in owned if podstate.is_active(p)]
    wanted = rs.spec.replicas
    diff = len(active) - wanted
    if diff < 0:
        taken = {p.name for p in owned}
        for pod in new_pods(snapshot, rs, creation_budget(active, -diff), taken, clock):
            actions.append(Action(
                ActionKind.CREATE, ObjectRef.of(pod),
                f"{objects.describe(rs)} wants {objects.plural(wanted, 'replica')}, "
                f"has {len(active)}", obj=pod, expected_revision=0, source=SOURCE,
            ))
    elif diff > 0:
        for pod in pods_to_delete(active, diff):
            actions.append(_delete(
                pod, snapshot,
                f"{objects.describe(rs)} wants {objects.plural(wanted, 'replica')}, "
                f"has {len(active)}",
            ))
    return actions


def creation_budget(active: list[core.Pod], missing: int) -> int:
    """How many of ``missing`` pods a controller creates now.

    None while a pod of the set waits for room (the scheduler found it unschedulable: an
    identical pod would wait too); otherwise a slow-start batch, as Kubernetes' controllers
    create pods (``slowStartBatch``, at most ``burstReplicas`` a sync): at most the larger
    of ``BURST`` and the pods the set has, so the set doubles round by round while there is
    room, and never holds more than a burst of pods beyond what could be placed. A pass
    planning ``replicas: 100000`` on one node costs what the node can run, not 100,000 pods.
    """
    if missing <= 0 or any(waits_for_room(p) for p in active):
        return 0
    return min(missing, max(BURST, len(active)))


def waits_for_room(pod: core.Pod) -> bool:
    """Unbound because the scheduler found no node for it (PodScheduled False, reason
    Unschedulable, as kube-scheduler marks it)."""
    condition = podstate.unscheduled(pod)
    return condition is not None and condition.reason == "Unschedulable"


def new_pods(
    snapshot: Snapshot, rs: apps.ReplicaSet, count: int, taken: set[str], clock: clocks.Clock
) -> list[core.Pod]:
    template = rs.spec.template
    pods: list[core.Pod] = []
    slot = 0
    while len(pods) < count:
        name = pod_name(rs, slot)
        slot += 1
        key = keys.object_key("pods", rs.namespace, name)
        if name in taken or snapshot.get(key) is not None:
            continue
        taken.add(name)
        pods.append(core.Pod(
            metadata=ObjectMeta(
                name=name, namespace=rs.namespace,
                labels=dict(template.metadata.labels),
                annotations=dict(template.metadata.annotations),
                owner_references=[objects.owner_reference(rs)],
                uid=objects.deterministic_uid(snapshot.cluster, key, snapshot.revision),
                creation_timestamp=objects.now_text(clock),
                generation=1,
            ),
            spec=template.spec.model_copy(deep=True),
        ))
    return pods


def pod_name(rs: apps.ReplicaSet, slot: int) -> str:
    """``<rs>-<5 chars>``, the same for the same ReplicaSet uid and slot on every pass, and
    cut as Kubernetes cuts a ``generateName`` (at most 63 characters)."""
    suffix = hashing.stable_hash([rs.metadata.uid, slot], length=names.GENERATED_SUFFIX_LENGTH)
    return names.generated_name(f"{rs.name}-", suffix)


def pods_to_delete(active: list[core.Pod], count: int) -> list[core.Pod]:
    """The first ``count`` pods in Kubernetes' ActivePodsWithRanks order."""
    on_node = Counter(p.spec.node_name for p in active if p.spec.node_name)
    return sorted(active, key=lambda p: deletion_rank(p, on_node))[:count]


def deletion_rank(pod: core.Pod, on_node: Counter[str]) -> tuple[Any, ...]:
    """Smaller deletes first: unassigned, Pending < Unknown < Running, not ready, cheaper,
    more pods of the set on its node, ready more recently, more restarts, newer."""
    node = pod.spec.node_name or ""
    ready_since = podstate.ready_since(pod)
    return (
        bool(node),
        _PHASE_ORDER.get(pod.status.phase, 0),
        ready_since is not None,
        _deletion_cost(pod),
        -on_node.get(node, 0),
        -objects.parse_or_epoch(ready_since).timestamp(),
        -podstate.max_restarts(pod),
        -objects.parse_or_epoch(pod.metadata.creation_timestamp).timestamp(),
        pod.name,
    )


def _deletion_cost(pod: core.Pod) -> int:
    try:
        return int(pod.metadata.annotations.get(DELETION_COST, "0"))
    except ValueError:
        return 0


def _delete(pod: core.Pod, snapshot: Snapshot, reason: str) -> Action:
    stored = snapshot.get(pod.key)
    return Action(
        ActionKind.DELETE, ObjectRef.of(pod), reason,
        expected_revision=stored.mod_revision if stored else None, source=SOURCE,
    )
