"""StatefulSet → Pods and claims: stable identities, in order, rolled from the top down.

Kubernetes' StatefulSet controller (``stateful_set_control.go``, ``updateStatefulSet``)
as a planner; ``statefulpods`` makes the members. Each pass, for each set:

1. the template (stamped with its env values' hash, ``confighash``) is the *update*
   revision (``revisions.sync_history``); ``status.currentRevision`` names the *current*
   one. A missing pod below ``partition`` is made at the current revision, any other at
   the update revision;
2. the pods with ordinals in ``[start, start+replicas)`` are visited in order: a failed
   or succeeded pod is deleted (and made again next round), a missing one is created with
   its claims, and under ``OrderedReady`` the visit stops at the first pod that is not
   Running, Ready and available for ``minReadySeconds`` — so pod N+1 waits for pod N.
   ``Parallel`` visits them all;
3. pods beyond the range are deleted from the highest ordinal down (one at a time, each
   once the others are healthy, under ``OrderedReady``), their claims first given the
   owner ``persistentVolumeClaimRetentionPolicy.whenScaled`` asks for;
4. RollingUpdate deletes the highest-ordinal pod not at the update revision, down to
   ``partition``, and waits for the replacement to be available before the next one
   (or keeps ``maxUnavailable`` pods down, when set); OnDelete waits for deletions.

A pod bound to a node is deleted gracefully: marked with a ``deletionTimestamp`` so its
node stops it and the pass that sees it gone removes it; only then is its successor of
the same name created — at most one pod per identity, even when its node is unreachable.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitkube import clock as clocks
from gitkube.api import core, podstate, revisions, statefulsets, storage
from gitkube.controllers import confighash, replicasets, statefulpods
from gitkube.controllers import revisions as history
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "statefulset"


def plan_statefulsets(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    owned = replicasets.pods_by_controller(snapshot)
    actions: list[Action] = []
    for sts in snapshot.of_kind(statefulsets.StatefulSet):
        if sts.metadata.deletion_timestamp or sts.spec.selector.empty:
            continue
        actions += sync_statefulset(snapshot, sts, owned.get(sts.metadata.uid or "", []),
                                    clock)
    return actions


def sync_statefulset(snapshot: Snapshot, sts: statefulsets.StatefulSet,
                     pods: Sequence[core.Pod], clock: clocks.Clock) -> list[Action]:
    template = confighash.stamped_template(sts.spec.template, snapshot, sts.namespace)
    found = history.sync_history(snapshot, sts, template, clock, source=SOURCE,
                                 hash_label=revisions.HASH_LABEL)
    current = next((r for r in found.known if r.name == sts.status.current_revision),
                   found.update)
    members = [p for p in pods if statefulpods.ordinal_of(sts, p) >= 0]
    control = Control(snapshot, sts, current, found.update, clock)
    control.run(members)
    actions = [*found.actions, *control.actions]
    if not control.actions:
        live = {current.name, found.update.name} | {statefulpods.revision_of(p) for p in pods}
        actions += history.truncate(snapshot, found.known, live,
                                    sts.spec.revision_history_limit, source=SOURCE, owner=sts)
    status = set_status(sts, members, current.name, found.update.name, clock)
    if status != sts.status:
        stored = snapshot.get(sts.key)
        actions.append(Action(
            ActionKind.UPDATE, ObjectRef.of(sts),
            f"{objects.describe(sts)}: {status.ready_replicas}/{sts.spec.replicas} pods ready",
            obj=sts.model_copy(update={"status": status}),
            expected_revision=stored.mod_revision if stored else None, status_only=True,
            source=SOURCE))
    return actions


def running_and_ready(pod: core.Pod) -> bool:
    return pod.status.phase == "Running" and podstate.is_ready(pod)


class Control:
    """One ``updateStatefulSet``: the actions it takes, in order."""

    def __init__(self, snapshot: Snapshot, sts: statefulsets.StatefulSet,
                 current: revisions.ControllerRevision, update: revisions.ControllerRevision,
                 clock: clocks.Clock) -> None:
        self.snapshot = snapshot
        self.sts = sts
        self.current = current
        self.update = update
        self.clock = clock
        self.monotonic = sts.spec.pod_management_policy != "Parallel"
        self.actions: list[Action] = []

    def available(self, pod: core.Pod) -> bool:
        return objects.is_available(pod, self.sts.spec.min_ready_seconds, self.clock)

    def unavailable(self, pod: core.Pod) -> bool:
        """``isUnavailable``: not available, or terminating."""
        return not self.available(pod) or bool(pod.metadata.deletion_timestamp)

    def run(self, members: Sequence[core.Pod]) -> None:
        sts = self.sts
        start = sts.start_ordinal
        by_ordinal = {statefulpods.ordinal_of(sts, p): p for p in members}
        ordinals = range(start, start + sts.spec.replicas)
        condemned = sorted((p for o, p in by_ordinal.items() if o not in ordinals),
                           key=lambda p: -statefulpods.ordinal_of(sts, p))
        first = next((o for o in ordinals if o not in by_ordinal
                      or self.unavailable(by_ordinal[o])), None)
        first_condemned = next((p for p in reversed(condemned) if self.unavailable(p)), None)
        replicas: dict[int, core.Pod] = {}
        # Parallel creates a slow-start batch a round (``replicasets.creation_budget``): a
        # StatefulSet of a million replicas costs what its nodes can run, not a million pods.
        present = [o for o in by_ordinal if o in ordinals]
        budget = replicasets.creation_budget(
            [p for p in members if podstate.is_active(p)], len(ordinals) - len(present))
        last = max(present, default=start - 1)
        for ordinal in ordinals:
            if ordinal not in by_ordinal:
                if budget <= 0 and not self.monotonic:
                    if ordinal > last:
                        break
                    continue
                budget -= 1
            pod, blocked = self.process_replica(ordinal, by_ordinal.get(ordinal))
            if pod is not None:
                replicas[ordinal] = pod
            if blocked and self.monotonic:
                return
        for pod in condemned:
            self.fix_claims(pod)
        unhealthy = first_condemned if first is None else None
        for pod in condemned:
            if self.process_condemned(pod, unhealthy) and self.monotonic:
                return
        if sts.spec.update_strategy.type == "RollingUpdate":
            self.rolling_update(replicas)

    def process_replica(self, ordinal: int, pod: core.Pod | None
                        ) -> tuple[core.Pod | None, bool]:
        """``processReplica``: (the pod at this ordinal now, whether the visit stops here)."""
        if pod is not None and podstate.is_terminal(pod):
            if not pod.metadata.deletion_timestamp:
                self.delete(pod, f"pod {pod.status.phase.lower()}; it is made again")
            return None, True
        if pod is None:
            made = self.create(ordinal)
            return made, made is None or self.monotonic
        # Terminating, not Running and Ready, or not available yet: the next one waits.
        if (pod.metadata.deletion_timestamp or not running_and_ready(pod)
                or not self.available(pod)):
            return pod, True
        self.fix_claims(pod)
        return pod, False

    def create(self, ordinal: int) -> core.Pod | None:
        """``CreateStatefulPod``: its missing claims, then the pod; None while a claim of
        the name is still going (stale or being deleted)."""
        sts = self.sts
        below = ordinal < sts.start_ordinal + statefulsets.partition(sts)
        revision = self.current if (
            sts.spec.update_strategy.type == "RollingUpdate" and below) else self.update
        pod = statefulpods.new_pod(self.snapshot, sts, revision.template(), revision.name,
                                   ordinal, self.clock)
        stored = dict(statefulpods.claims_of(self.snapshot, sts, ordinal))
        for claim in statefulpods.new_claims(self.snapshot, sts, pod, self.clock):
            have = stored.get(claim.name)
            if have is not None and (have.metadata.deletion_timestamp
                                     or statefulpods.is_stale(have, pod)):
                return None  # the claim of this name is going; the pod waits for it
            if have is None:
                self.write(ActionKind.CREATE, claim, f"claim of {pod.name}")
        self.write(ActionKind.CREATE, pod, f"ordinal {ordinal} at revision {revision.name}")
        return pod

    def fix_claims(self, pod: core.Pod) -> None:
        """Owner references on the pod's claims as the retention policy asks."""
        ordinal = statefulpods.ordinal_of(self.sts, pod)
        for _, claim in statefulpods.claims_of(self.snapshot, self.sts, ordinal):
            if claim is None:
                continue
            owners = statefulpods.claim_owners(claim, self.sts, pod)
            if owners != claim.metadata.owner_references:
                self.write(ActionKind.UPDATE, statefulpods.with_owners(claim, owners),
                           "owners as persistentVolumeClaimRetentionPolicy asks")

    def process_condemned(self, pod: core.Pod, first_unhealthy: core.Pod | None) -> bool:
        """``processCondemned``: whether the visit stops here."""
        if pod.metadata.deletion_timestamp:
            return True
        if self.monotonic and pod is not first_unhealthy and self.unavailable(pod):
            return True  # healthy ones first: an unhealthy pod goes only when it is the first
        self.delete(pod, f"scaled down to {self.sts.spec.replicas}")
        return True

    def rolling_update(self, replicas: dict[int, core.Pod]) -> None:
        """The highest ordinals not at the update revision go first, down to ``partition``."""
        sts = self.sts
        ordered = sorted(replicas.items(), reverse=True)
        floor = sts.start_ordinal + statefulsets.partition(sts)
        update = sts.spec.update_strategy.rolling_update
        if update is not None and update.max_unavailable is not None:
            room = statefulsets.max_unavailable(sts) - sum(
                self.unavailable(p) for _, p in ordered)
            for ordinal, pod in ordered:
                if room <= 0 or ordinal < floor:
                    break
                if self._outdated(pod):
                    self.delete(pod, f"rolling update to {self.update.name}")
                    room -= 1
            return
        for ordinal, pod in ordered:
            if ordinal < floor:
                return
            if self._outdated(pod):
                self.delete(pod, f"rolling update to {self.update.name}")
                return
            if self.unavailable(pod):
                return  # the replacement must be available before the next one goes

    def _outdated(self, pod: core.Pod) -> bool:
        return (statefulpods.revision_of(pod) != self.update.name
                and not pod.metadata.deletion_timestamp)

    def delete(self, pod: core.Pod, why: str) -> None:
        """A pod on a node is marked deleted (its node stops it first); others just go."""
        stored = self.snapshot.get(pod.key)
        reason = f"{objects.describe(self.sts)}: {why}"
        if pod.spec.node_name and not podstate.is_terminal(pod):
            data = pod.to_dict()
            data["metadata"]["deletionTimestamp"] = objects.now_text(self.clock)
            self.actions.append(Action(
                ActionKind.UPDATE, ObjectRef.of(pod), f"{reason} (terminating)",
                obj=objects.rebuild(pod, data),
                expected_revision=stored.mod_revision if stored else None, source=SOURCE))
            return
        self.actions.append(Action(ActionKind.DELETE, ObjectRef.of(pod), reason,
                                   expected_revision=stored.mod_revision if stored else None,
                                   source=SOURCE))

    def write(self, kind: ActionKind, obj: core.Pod | storage.PersistentVolumeClaim,
              why: str) -> None:
        stored = self.snapshot.get(obj.key)
        self.actions.append(Action(
            kind, ObjectRef.of(obj), f"{objects.describe(self.sts)}: {why}", obj=obj,
            expected_revision=stored.mod_revision if stored else 0, source=SOURCE))


def set_status(sts: statefulsets.StatefulSet, members: Sequence[core.Pod], current: str,
               update: str, clock: clocks.Clock) -> statefulsets.StatefulSetStatus:
    """``updateStatus`` and ``completeRollingUpdate``."""
    live = [p for p in members if not p.metadata.deletion_timestamp]
    ready = [p for p in members if running_and_ready(p)]
    status = sts.status.model_copy(update={
        "observed_generation": sts.metadata.generation or 1,
        "replicas": len(members),
        "ready_replicas": len(ready),
        "available_replicas": sum(objects.is_available(p, sts.spec.min_ready_seconds, clock)
                                  for p in ready),
        "current_replicas": sum(statefulpods.revision_of(p) == current for p in live),
        "updated_replicas": sum(statefulpods.revision_of(p) == update for p in live),
        "current_revision": current, "update_revision": update, "collision_count": 0,
    })
    wanted = sts.spec.replicas
    if (sts.spec.update_strategy.type == "RollingUpdate" and status.updated_replicas == wanted
            and status.ready_replicas == wanted and status.replicas == wanted):
        status = status.model_copy(update={"current_replicas": status.updated_replicas,
                                           "current_revision": update})
    return status
