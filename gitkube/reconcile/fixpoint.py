"""One planning pass: every planner, run to a fixpoint, then the node actions.

The controllers react to each other (Git → Deployment → ReplicaSet → Pods →
scheduler), so one round rarely finishes the job. ``plan_pass`` runs the
planners in order, each on the snapshot as the ones before it left it
(``Snapshot.with_actions``), and repeats the round until no planner asks for a
store change that would change anything. Actions on the same object are merged
into the one write apply will do, guarded by the ORIGINAL store revision
(compare-and-swap against what the pass read, not against what it planned).
``plan_nodes`` then runs once on the final snapshot, and steady workloads get a
NOOP saying so. What planners say they leave undone (a change Git asks for that is
refused, an address that cannot be given) is kept as they said it in the last round,
on the snapshot the pass ends with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from gitkube import clock as clocks
from gitkube import scheduler
from gitkube.api import apps
from gitkube.api import daemonsets as daemonsets_api
from gitkube.api import statefulsets as statefulsets_api
from gitkube.api.meta import KubeObject
from gitkube.controllers import (
    cronjobs,
    daemonsets,
    deployments,
    desired,
    endpointslices,
    gc,
    ipam,
    jobs,
    nodesync,
    podstatus,
    replicasets,
    statefulsets,
    volumes,
)
from gitkube.planning import objects
from gitkube.planning.actions import STORE_KINDS, Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

Planner = Callable[[Snapshot, clocks.Clock], list[Action]]

#: A pass that needs more rounds than this is chasing its own tail; it stops and says so.
MAX_ROUNDS = 10


def planners(schedule: Planner | None = None) -> list[tuple[Planner, bool]]:
    """Every planner in the order a round runs them, each with whether it also runs after
    the converge (``plan_status``): True when its status writes follow from what nodes
    report (Pods and Nodes, what counts pods, Services' node addresses, volumes the nodes
    hold); False for Git (desired), ownership (gc) and binding (the scheduler)."""
    return [
        (desired.plan_desired, False), (ipam.plan_ipam, True),
        (ipam.plan_cluster_dns, False),
        (podstatus.plan_observed, True), (deployments.plan_deployments, True),
        (replicasets.plan_replicasets, True), (daemonsets.plan_daemonsets, True),
        (statefulsets.plan_statefulsets, True), (volumes.plan_volumes, True),
        (cronjobs.plan_cronjobs, True), (jobs.plan_jobs, True), (gc.plan_gc, False),
        (schedule or _default_scheduler(), False),
        (endpointslices.plan_endpointslices, True),
    ]


def plan_pass(
    snapshot: Snapshot, clock: clocks.Clock, *, schedule: Planner | None = None
) -> list[Action]:
    """Store actions (merged, in the order first planned), node actions, then NOOPs."""
    merged = _Merger(snapshot)
    every = [planner for planner, _ in planners(schedule)]
    current, settled = _to_fixpoint(every, snapshot, clock, merged)
    if not settled:
        merged.notes.append(Action(
            ActionKind.NOOP, ObjectRef("Cluster", "", snapshot.cluster),
            f"planning stopped after {MAX_ROUNDS} rounds without settling; the next pass "
            "continues from what this one applies", source="runner",
        ))
    node_actions = nodesync.plan_nodes(current, clock)
    store_from_nodes = [a for a in node_actions if a.kind in STORE_KINDS]
    merged.add(store_from_nodes)
    current = current.with_actions(store_from_nodes)
    starts_stops = [a for a in node_actions if a.kind not in STORE_KINDS]
    writes = merged.actions()
    # Changes first (in the order planned), then status-only writes: how a plan reads best.
    ordered = [a for a in writes if not a.status_only] + [a for a in writes if a.status_only]
    return [*ordered, *starts_stops, *merged.notes, *steady_noops(current, merged)]


def plan_status(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    """The status writes what the nodes reported calls for, and nothing else.

    Run after the nodes converged, on the snapshot the pass wrote with their new
    reports: the pods they started become Running and the workloads count them. Only
    the status planners run, and only their status-only writes count; changes those
    reports call for (a Job's next pod, a rollout's next step) are planned by the next
    pass, which shows them in its plan."""
    merged = _Merger(snapshot)
    status = [planner for planner, after_converge in planners() if after_converge]
    current, _ = _to_fixpoint(status, snapshot, clock, merged, status_only=True)
    merged.add([a for a in nodesync.plan_nodes(current, clock)
                if a.kind in STORE_KINDS and a.status_only])
    return merged.actions()


def _to_fixpoint(running: Sequence[Planner], snapshot: Snapshot, clock: clocks.Clock,
                 merged: _Merger, *, status_only: bool = False) -> tuple[Snapshot, bool]:
    """Run the ``running`` planners in rounds, each on the snapshot as the ones before it left it,
    until a round plans nothing: that snapshot, and False when ``MAX_ROUNDS`` did not
    settle it."""
    current = snapshot
    said: list[Action] = []
    for _ in range(MAX_ROUNDS):
        planned_any = False
        said = []
        for planner in running:
            planned = planner(current, clock)
            said += [a for a in planned if a.kind is ActionKind.NOOP]
            actions = _effective(planned, current)
            if status_only:
                actions = [a for a in actions if a.status_only]
            if actions:
                planned_any = True
                merged.add(actions)
                current = current.with_actions(actions)
        if not planned_any:
            merged.say(said)
            return current, True
    merged.say(said)
    return current, False


def _effective(actions: Sequence[Action], current: Snapshot) -> list[Action]:
    """Store actions that would change ``current``: a planner repeating a write already
    made (an unschedulable pod's condition, say) must not keep the fixpoint going."""
    out = []
    for action in actions:
        if action.kind not in STORE_KINDS:
            continue
        stored = current.get(_key(action))
        if action.kind is ActionKind.DELETE and stored is None:
            continue
        if (action.kind is not ActionKind.DELETE and stored is not None
                and action.obj is not None and objects.same(action.obj, stored.obj)):
            continue
        out.append(action)
    return out


def _default_scheduler() -> Planner:
    def schedule(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
        return list(scheduler.plan_scheduling(snapshot, clock))

    return schedule


# Precedence when several actions touch one key: the stronger kind names the write.
_STRENGTH = {
    ActionKind.UPDATE: 0, ActionKind.UNSCHEDULABLE: 1, ActionKind.BIND: 2,
    ActionKind.DELETE: 3, ActionKind.CREATE: 4,
}


class _Merger:
    """Folds the actions of all rounds into one write per key."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._original = snapshot
        self._by_key: dict[str, Action] = {}
        self.notes: list[Action] = []

    def add(self, actions: Sequence[Action]) -> None:
        for action in actions:
            key = _key(action)
            previous = self._by_key.get(key)
            if previous is None:
                stored = self._original.get(key)
                self._by_key[key] = replace(
                    action, expected_revision=stored.mod_revision if stored else 0
                )
                continue
            folded = _fold(previous, action, existed=self._original.get(key) is not None)
            if folded is None:
                del self._by_key[key]
            else:
                self._by_key[key] = folded

    def actions(self) -> list[Action]:
        """The merged writes, without updates that came back to what the store holds."""
        out = []
        for key, action in self._by_key.items():
            stored = self._original.get(key)
            if (action.kind is ActionKind.UPDATE and stored is not None
                    and action.obj is not None and objects.same(action.obj, stored.obj)):
                continue
            out.append(action)
        return out

    def touched(self) -> set[str]:
        return set(self._by_key)

    def say(self, noops: Sequence[Action]) -> None:
        """Keep planners' NOOPs as notes, each (object, reason) once."""
        seen = {(a.target, a.reason) for a in self.notes}
        for action in noops:
            if (action.target, action.reason) not in seen:
                seen.add((action.target, action.reason))
                self.notes.append(action)


def _fold(first: Action, then: Action, *, existed: bool) -> Action | None:
    if then.kind is ActionKind.DELETE:
        if first.kind is ActionKind.CREATE and not existed:
            return None  # planned and abandoned within the pass: nothing to write
        return replace(then, expected_revision=first.expected_revision, obj=None)
    if first.kind is ActionKind.DELETE:
        # Deleted, then written again under the same name: one replacing put.
        kind = ActionKind.UPDATE if existed else ActionKind.CREATE
        return replace(then, kind=kind, expected_revision=first.expected_revision,
                       reason=f"{first.reason}; {then.reason}", status_only=False)
    kind = max(first.kind, then.kind, key=lambda k: _STRENGTH[k])
    node = then.node or first.node
    reason = first.reason if then.status_only and not first.status_only else (
        then.reason if first.reason == then.reason else f"{first.reason}; {then.reason}"
    )
    return replace(
        first, kind=kind, obj=then.obj, reason=reason, node=node,
        status_only=first.status_only and then.status_only,
        source=first.source if kind is first.kind else then.source,
    )


def _key(action: Action) -> str:
    if action.obj is not None:
        return action.obj.key
    from gitkube.api import registry

    return registry.key_for(action.target.kind, action.target.namespace, action.target.name)


def steady_noops(snapshot: Snapshot, merged: _Merger) -> list[Action]:
    """Explicit no-ops for workloads this pass leaves alone, so a plan says what is fine."""
    touched = merged.touched()
    counts: list[tuple[KubeObject, int, int, int, str]] = []
    for deployment in snapshot.of_kind(apps.Deployment):
        counts.append((deployment, deployment.status.ready_replicas,
                       deployment.status.updated_replicas, deployment.spec.replicas, "replicas"))
    for sts in snapshot.of_kind(statefulsets_api.StatefulSet):
        counts.append((sts, sts.status.ready_replicas, sts.status.updated_replicas,
                       sts.spec.replicas, "replicas"))
    for ds in snapshot.of_kind(daemonsets_api.DaemonSet):
        counts.append((ds, ds.status.number_ready, ds.status.updated_number_scheduled,
                       ds.status.desired_number_scheduled, "daemon pods"))
    out: list[Action] = []
    for workload, ready, updated, wanted, what in counts:
        if workload.key in touched and not _only_status(merged, workload):
            continue
        if ready == wanted == updated:
            out.append(_noop(workload, f"{objects.describe(workload)}: {ready}/{wanted} "
                                       f"{what} ready"))
    return out


def _only_status(merged: _Merger, obj: KubeObject) -> bool:
    action = merged._by_key.get(obj.key)
    return action is None or action.status_only


def _noop(obj: KubeObject, reason: str) -> Action:
    return Action(ActionKind.NOOP, ObjectRef.of(obj), reason, source="runner")

