"""Deployment → ReplicaSets: one per pod template, replicas moved from old to new.

As Kubernetes' deployment controller (``pkg/controller/deployment``): the
ReplicaSet of the current template is ``<deployment>-<pod-template-hash>``, its
selector and template labels gain ``pod-template-hash``, it is owned by the
Deployment (controller=true) and carries ``deployment.kubernetes.io/revision``.
A template change creates the new ReplicaSet; ``rollout.plan_rollout`` decides
each step (RollingUpdate within maxSurge/maxUnavailable, or Recreate). Old
ReplicaSets at zero beyond ``revisionHistoryLimit`` are deleted, oldest revision
first. The template rolled out carries a hash of the ConfigMap/Secret values its
env reads (``confighash``), so a changed value rolls the Deployment too.

A paused Deployment, or one whose ``spec.replicas`` differs from what its active
ReplicaSets were sized for (their ``desired-replicas`` annotation), is only scaled
(Kubernetes' ``sync``): no template is rolled out, and several active ReplicaSets
share the new count in proportion (``rollout.plan_scale``). Every ReplicaSet the
controller sizes records ``desired-replicas`` and ``max-replicas`` (desired + maxSurge).

Availability is counted from the pods themselves (ready for minReadySeconds),
not from ReplicaSet status, so a step in this round sees the previous round.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gitkube import clock as clocks
from gitkube.api import apps, core, hashing, keys, podstate
from gitkube.api.meta import ObjectMeta
from gitkube.controllers import confighash, replicasets, rollout
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "deployment"
HASH_LABEL = "pod-template-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history"
#: The Deployment's spec.replicas, and that plus maxSurge, when the ReplicaSet was last sized.
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
#: The Git commit reconciled when a ReplicaSet was made (``gitkube history`` starts there).
SOURCE_REVISION_ANNOTATION = "gitkube.io/source-revision"


@dataclass
class _Family:
    """A Deployment's ReplicaSets and their pods, as found in the snapshot."""

    new: apps.ReplicaSet | None
    olds: list[apps.ReplicaSet]
    pods: dict[str, list[core.Pod]]

    def all(self) -> list[apps.ReplicaSet]:
        return ([self.new] if self.new else []) + self.olds


def plan_deployments(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    pods = replicasets.pods_by_controller(snapshot)
    by_owner: dict[str, list[apps.ReplicaSet]] = {}
    for rs in snapshot.of_kind(apps.ReplicaSet):
        ref = rs.controller_ref()
        if ref is not None:
            by_owner.setdefault(ref.uid, []).append(rs)
    actions: list[Action] = []
    for deployment in snapshot.of_kind(apps.Deployment):
        if deployment.metadata.deletion_timestamp:
            continue
        family = find_family(deployment, by_owner.get(deployment.metadata.uid or "", []), pods,
                             snapshot)
        steps = sync_deployment(snapshot, deployment, family, clock)
        if not steps:
            steps = cleanup_history(snapshot, deployment, family)
        actions += steps
        status = deployment_status(deployment, family, clock, progressed=bool(steps))
        if status != deployment.status:
            stored = snapshot.get(deployment.key)
            actions.append(Action(
                ActionKind.UPDATE, ObjectRef.of(deployment),
                f"{objects.describe(deployment)}: {status.ready_replicas}/"
                f"{deployment.spec.replicas} replicas ready",
                obj=deployment.model_copy(update={"status": status}),
                expected_revision=stored.mod_revision if stored else None,
                status_only=True, source=SOURCE,
            ))
    return actions


def rollout_template(
    deployment: apps.Deployment, snapshot: Snapshot | None
) -> core.PodTemplateSpec:
    """The template rolled out: the Deployment's, stamped with its env values' hash."""
    if snapshot is None:
        return deployment.spec.template
    return confighash.stamped_template(deployment.spec.template, snapshot, deployment.namespace)


def template_hash(deployment: apps.Deployment, snapshot: Snapshot | None = None) -> str:
    return hashing.pod_template_hash(rollout_template(deployment, snapshot),
                                     deployment.status.collision_count)


def find_family(
    deployment: apps.Deployment, owned: list[apps.ReplicaSet], pods: dict[str, list[core.Pod]],
    snapshot: Snapshot | None = None,
) -> _Family:
    """FindNewReplicaSet: the oldest ReplicaSet whose template equals the Deployment's."""
    wanted = rollout_template(deployment, snapshot).to_dict()
    ordered = sorted(owned, key=lambda rs: (rs.metadata.creation_timestamp or "", rs.name))
    new = next((rs for rs in ordered if _template_without_hash(rs) == wanted), None)
    olds = [rs for rs in ordered if rs is not new]
    return _Family(new, olds, {rs.metadata.uid or "": pods.get(rs.metadata.uid or "", [])
                               for rs in owned})


def _template_without_hash(rs: apps.ReplicaSet) -> dict[str, object]:
    data = rs.spec.template.to_dict()
    labels = dict(data.get("metadata", {}).get("labels") or {})
    labels.pop(HASH_LABEL, None)
    data.setdefault("metadata", {})["labels"] = labels
    return data


def _state(rs: apps.ReplicaSet, family: _Family, clock: clocks.Clock) -> rollout.ReplicaSetState:
    owned = family.pods.get(rs.metadata.uid or "", [])
    counts = replicasets.count_replicas(rs, owned, clock)
    return rollout.ReplicaSetState(
        name=rs.name, replicas=rs.spec.replicas, available=counts.available,
        active_pods=counts.replicas, created=rs.metadata.creation_timestamp or "",
        desired_replicas=_int_annotation(rs, DESIRED_REPLICAS_ANNOTATION),
        max_replicas=_int_annotation(rs, MAX_REPLICAS_ANNOTATION),
    )


def _int_annotation(rs: apps.ReplicaSet, name: str) -> int | None:
    try:
        return int(rs.metadata.annotations[name])
    except (KeyError, ValueError):
        return None


def strategy_of(deployment: apps.Deployment) -> rollout.Strategy:
    strategy = deployment.spec.strategy
    update = strategy.rolling_update
    return rollout.Strategy(
        type=strategy.type,
        max_surge=update.max_surge if update else None,
        max_unavailable=update.max_unavailable if update else None,
    )


def sync_deployment(
    snapshot: Snapshot, deployment: apps.Deployment, family: _Family, clock: clocks.Clock
) -> list[Action]:
    """syncDeployment: a paused Deployment, or a change of replicas, is scaled (``sync``);
    anything else takes one rollout step."""
    paused = deployment.spec.paused
    if paused or rollout.is_scaling_event(
            deployment.spec.replicas, [_state(rs, family, clock) for rs in family.all()]):
        steps = sync_scale(snapshot, deployment, family, clock)
        # Nothing to scale (Recreate cannot share a count between two active ReplicaSets,
        # or an annotation is stale): Kubernetes would wait for ever; the rollout step
        # goes on instead, and annotates what it sizes.
        if steps or paused:
            return steps
    return sync_rollout(snapshot, deployment, family, clock)


def sync_scale(
    snapshot: Snapshot, deployment: apps.Deployment, family: _Family, clock: clocks.Clock
) -> list[Action]:
    """Resize the ReplicaSets to spec.replicas without rolling out the template."""
    family, revision_note = _sync_revision(snapshot, family)
    new = _state(family.new, family, clock) if family.new else None
    olds = [_state(rs, family, clock) for rs in family.olds]
    sizes = rollout.plan_scale(strategy_of(deployment), deployment.spec.replicas, new, olds,
                               observed_replicas=deployment.status.replicas)
    active = sum(1 for rs in family.all() if rs.spec.replicas > 0)
    why = ("paused: resized, nothing rolled out" if deployment.spec.paused else
           f"proportional share of {deployment.spec.replicas} replicas" if active > 1 else
           "replicas changed")
    return _write_sets(snapshot, deployment, family, sizes, why=why, revision_note=revision_note)


def sync_rollout(
    snapshot: Snapshot, deployment: apps.Deployment, family: _Family, clock: clocks.Clock
) -> list[Action]:
    """One rollout step: create the new ReplicaSet and/or scale ReplicaSets."""
    strategy = strategy_of(deployment)
    desired = deployment.spec.replicas
    name = f"{deployment.name}-{template_hash(deployment, snapshot)}"
    family, revision_note = _sync_revision(snapshot, family)
    new_state = (_state(family.new, family, clock) if family.new
                 else rollout.ReplicaSetState(name=name, replicas=0, available=0))
    olds = [_state(rs, family, clock) for rs in family.olds]
    changes = rollout.plan_rollout(strategy, desired, new_state, olds)
    actions: list[Action] = []
    if family.new is None:
        old_busy = any(rs.replicas or rs.active_pods for rs in olds) or any(
            n != new_state.name for n in changes)
        if strategy.type != "Recreate" or not old_busy:
            replicas = changes.pop(name, 0)
            actions.append(_create_rs(snapshot, deployment, family, name, replicas, clock))
    return actions + _write_sets(snapshot, deployment, family, changes, why=strategy.type,
                                 revision_note=revision_note)


def _write_sets(
    snapshot: Snapshot, deployment: apps.Deployment, family: _Family, sizes: dict[str, int],
    *, why: str, revision_note: str,
) -> list[Action]:
    """One UPDATE per ReplicaSet that changes: the size (with the replicas annotations) of
    those in ``sizes``, and the revision ``_sync_revision`` gave the new one."""
    desired = deployment.spec.replicas
    ceiling = desired + rollout.max_surge(strategy_of(deployment), desired)
    actions: list[Action] = []
    for rs in sorted(family.all(), key=lambda rs: rs.name):
        stored = snapshot.get(rs.key)
        before = stored.obj if stored and isinstance(stored.obj, apps.ReplicaSet) else rs
        updated = rs
        notes = [revision_note] if revision_note and rs is family.new else []
        if rs.name in sizes:
            replicas = sizes[rs.name]
            updated = _sized(rs, replicas, desired, ceiling)
            if replicas != before.spec.replicas:
                direction = "up" if replicas > before.spec.replicas else "down"
                notes.append(f"scaled {direction} {objects.describe(rs)} from "
                             f"{before.spec.replicas} to {replicas} ({why})")
            else:
                notes.append(f"{objects.describe(rs)} keeps {before.spec.replicas} "
                             f"(sized for {desired} replicas)")
        if objects.same(updated, before):
            continue
        actions.append(Action(
            ActionKind.UPDATE, ObjectRef.of(rs),
            f"{objects.describe(deployment)}: {'; '.join(notes)}",
            obj=updated, expected_revision=_revision(snapshot, rs.key), source=SOURCE,
        ))
    return actions


def _sized(rs: apps.ReplicaSet, replicas: int, desired: int, ceiling: int) -> apps.ReplicaSet:
    """``rs`` at ``replicas``, annotated as sized for ``desired`` (SetReplicasAnnotations)."""
    annotations = {**rs.metadata.annotations, **_replicas_annotations(desired, ceiling)}
    return rs.model_copy(update={
        "metadata": rs.metadata.model_copy(update={"annotations": annotations}),
        "spec": rs.spec.model_copy(update={"replicas": replicas}),
    })


def _replicas_annotations(desired: int, ceiling: int) -> dict[str, str]:
    return {DESIRED_REPLICAS_ANNOTATION: str(desired), MAX_REPLICAS_ANNOTATION: str(ceiling)}


def _sync_revision(snapshot: Snapshot, family: _Family) -> tuple[_Family, str]:
    """An old template back in Git (a rollback): its ReplicaSet becomes the newest revision,
    and remembers the ones it had (``revision-history``), as Kubernetes does. Returns the
    family with that ReplicaSet so edited, and what was done ("" for nothing)."""
    if family.new is None:
        return family, ""
    newest = max((revision_of(rs) for rs in family.olds), default=0)
    current = revision_of(family.new)
    if current > newest:
        return family, ""
    annotations = dict(family.new.metadata.annotations)
    history = [h for h in annotations.get(REVISION_HISTORY_ANNOTATION, "").split(",") if h]
    annotations[REVISION_HISTORY_ANNOTATION] = ",".join([*history, str(current)])
    annotations[REVISION_ANNOTATION] = str(newest + 1)
    if snapshot.source_revision:
        annotations[SOURCE_REVISION_ANNOTATION] = snapshot.source_revision
    rs = family.new.model_copy(update={
        "metadata": family.new.metadata.model_copy(update={"annotations": annotations})})
    note = f"template of revision {current} is back (revision {newest + 1})"
    return replace(family, new=rs), note


def _revision(snapshot: Snapshot, key: str) -> int | None:
    stored = snapshot.get(key)
    return stored.mod_revision if stored else None


def revision_of(rs: apps.ReplicaSet) -> int:
    try:
        return int(rs.metadata.annotations.get(REVISION_ANNOTATION, "0"))
    except ValueError:
        return 0


def _create_rs(
    snapshot: Snapshot, deployment: apps.Deployment, family: _Family, name: str,
    replicas: int, clock: clocks.Clock,
) -> Action:
    pod_hash = name.rsplit("-", 1)[1]
    template = rollout_template(deployment, snapshot).model_copy(deep=True)
    template.metadata.labels[HASH_LABEL] = pod_hash
    selector = deployment.spec.selector.model_copy(deep=True)
    selector.match_labels = {**(selector.match_labels or {}), HASH_LABEL: pod_hash}
    revision = max((revision_of(rs) for rs in family.all()), default=0) + 1
    key = keys.object_key(apps.ReplicaSet.plural, deployment.namespace, name)
    rs = apps.ReplicaSet(
        metadata=ObjectMeta(
            name=name, namespace=deployment.namespace,
            labels=dict(template.metadata.labels),
            annotations={
                REVISION_ANNOTATION: str(revision),
                **_replicas_annotations(deployment.spec.replicas, deployment.spec.replicas
                                        + rollout.max_surge(strategy_of(deployment),
                                                            deployment.spec.replicas)),
                **({SOURCE_REVISION_ANNOTATION: snapshot.source_revision}
                   if snapshot.source_revision else {})},
            owner_references=[objects.owner_reference(deployment)],
            uid=objects.deterministic_uid(snapshot.cluster, key, snapshot.revision),
            creation_timestamp=objects.now_text(clock), generation=1,
        ),
        spec=apps.ReplicaSetSpec(
            replicas=replicas, selector=selector, template=template,
            min_ready_seconds=deployment.spec.min_ready_seconds,
        ),
    )
    what = "new pod template" if family.olds else "first rollout"
    return Action(
        ActionKind.CREATE, ObjectRef.of(rs),
        f"{objects.describe(deployment)}: {what} (revision {revision}), "
        f"{objects.plural(replicas, 'replica')}",
        obj=rs, expected_revision=0, source=SOURCE,
    )


def cleanup_history(
    snapshot: Snapshot, deployment: apps.Deployment, family: _Family
) -> list[Action]:
    """Delete old ReplicaSets at zero beyond revisionHistoryLimit, oldest revision first."""
    idle = [rs for rs in family.olds
            if rs.spec.replicas == 0 and not family.pods.get(rs.metadata.uid or "")]
    excess = len(idle) - deployment.spec.revision_history_limit
    if excess <= 0:
        return []
    idle.sort(key=lambda rs: (revision_of(rs), rs.metadata.creation_timestamp or "", rs.name))
    return [Action(
        ActionKind.DELETE, ObjectRef.of(rs),
        f"{objects.describe(deployment)} keeps {deployment.spec.revision_history_limit} old "
        f"ReplicaSets (revisionHistoryLimit)",
        expected_revision=_revision(snapshot, rs.key), source=SOURCE,
    ) for rs in idle[:excess]]


def deployment_status(
    deployment: apps.Deployment, family: _Family, clock: clocks.Clock, *, progressed: bool
) -> apps.DeploymentStatus:
    counts = {rs.name: replicasets.count_replicas(
        rs, family.pods.get(rs.metadata.uid or "", []), clock) for rs in family.all()}
    desired = deployment.spec.replicas
    total = sum(c.replicas for c in counts.values())
    updated = counts[family.new.name].replicas if family.new else 0
    ready = sum(c.ready for c in counts.values())
    available = sum(c.available for c in counts.values())
    previous = deployment.status
    now = objects.now_text(clock)
    conditions = [c.to_dict() for c in previous.conditions]
    strategy = strategy_of(deployment)
    min_available = desired - (rollout.max_unavailable_for(
        strategy.max_surge, strategy.max_unavailable, desired)
        if strategy.type == "RollingUpdate" else 0)
    if available >= min_available:
        conditions = objects.set_condition(
            conditions, "Available", "True", now, reason="MinimumReplicasAvailable",
            message="Deployment has minimum availability.", extra={"lastUpdateTime": now})
    else:
        conditions = objects.set_condition(
            conditions, "Available", "False", now, reason="MinimumReplicasUnavailable",
            message="Deployment does not have minimum availability.",
            extra={"lastUpdateTime": now})
    conditions = _replica_failure(family, conditions, now)
    # DeploymentProgressing: more updated, ready or available pods, or fewer old ones.
    moved = progressed or updated > previous.updated_replicas or (
        total - updated < previous.replicas - previous.updated_replicas) or (
        ready > previous.ready_replicas) or available > previous.available_replicas
    conditions = _progressing(deployment, family, conditions, now, clock, moved=moved,
                              complete=updated == desired == total == available)
    conditions = _keep_unchanged_times(previous, conditions, moved=moved)
    return previous.model_copy(update={
        "observed_generation": deployment.metadata.generation or 1,
        "replicas": total, "updated_replicas": updated, "ready_replicas": ready,
        "available_replicas": available, "unavailable_replicas": max(desired - available, 0),
        "conditions": [apps.DeploymentCondition.model_validate(c) for c in conditions],
    })


def _replica_failure(family: _Family, conditions: list[dict[str, object]], now: str
                     ) -> list[dict[str, object]]:
    """A ReplicaSet's ReplicaFailure, the new one's first, moved onto the Deployment (as
    Kubernetes' ``getReplicaFailures`` does); removed once no ReplicaSet has one."""
    for rs in family.all():
        found = objects.condition([c.to_dict() for c in rs.status.conditions],
                                  replicasets.FAILURE)
        if found is not None:
            return objects.set_condition(conditions, replicasets.FAILURE, "True", now,
                                         reason=str(found.get("reason", "")),
                                         message=str(found.get("message", "")),
                                         extra={"lastUpdateTime": now})
    return [c for c in conditions if c.get("type") != replicasets.FAILURE]


def _progressing(
    deployment: apps.Deployment, family: _Family, conditions: list[dict[str, object]],
    now: str, clock: clocks.Clock, *, moved: bool, complete: bool,
) -> list[dict[str, object]]:
    rs_name = family.new.name if family.new else deployment.name
    previous = objects.condition(conditions, "Progressing")
    if deployment.spec.paused:
        return objects.set_condition(
            conditions, "Progressing", "Unknown", now, reason="DeploymentPaused",
            message="Deployment is paused", extra={"lastUpdateTime": now})
    if complete:
        return objects.set_condition(
            conditions, "Progressing", "True", now, reason="NewReplicaSetAvailable",
            message=f'ReplicaSet "{rs_name}" has successfully progressed.',
            extra={"lastUpdateTime": now})
    if previous is not None and previous.get("reason") == "NewReplicaSetAvailable" and (
            not _old_pods(family)):
        return conditions  # a finished rollout stays finished (isCompleteDeployment)
    last = str(previous.get("lastUpdateTime") or "") if previous else ""
    if not moved and previous is not None and last:
        age = objects.seconds_since(last, clock) or 0.0
        if age > deployment.spec.progress_deadline_seconds:
            return objects.set_condition(
                conditions, "Progressing", "False", now, reason="ProgressDeadlineExceeded",
                message=f'ReplicaSet "{rs_name}" has timed out progressing: '
                f"{why_stuck(family, deployment.spec.min_ready_seconds, clock)}",
                extra={"lastUpdateTime": now})
        return conditions
    return objects.set_condition(
        conditions, "Progressing", "True", now, reason="ReplicaSetUpdated",
        message=f'ReplicaSet "{rs_name}" is progressing.', extra={"lastUpdateTime": now})


def _old_pods(family: _Family) -> bool:
    return any(podstate.is_active(p) for rs in family.olds
               for p in family.pods.get(rs.metadata.uid or "", []))


def why_stuck(family: _Family, min_ready_seconds: int, clock: clocks.Clock) -> str:
    """What holds a rollout: how many new pods are available, and the first one's trouble."""
    pods = [p for p in family.pods.get(family.new.metadata.uid or "", []) if podstate.is_active(p)
            ] if family.new else []
    waiting = [p for p in pods if not objects.is_available(p, min_ready_seconds, clock)]
    text = f"{len(pods) - len(waiting)} of {len(pods)} new pods available"
    if waiting:
        text += f" ({waiting[0].name}: {_pod_trouble(waiting[0])})"
    return text


def _pod_trouble(pod: core.Pod) -> str:
    for status in pod.status.container_statuses:
        waiting = status.state.waiting
        if waiting is not None and waiting.reason:
            return f"container {status.name} {waiting.reason}" + (
                f", restarted {status.restart_count} times" if status.restart_count else "")
        if not status.ready:
            return f"container {status.name} not ready (readiness probe failing)" if (
                status.state.running is not None) else f"container {status.name} not ready"
    if not pod.spec.node_name:
        return "not scheduled"
    return f"phase {pod.status.phase}"


def _keep_unchanged_times(
    previous: apps.DeploymentStatus, conditions: list[dict[str, object]], *, moved: bool
) -> list[dict[str, object]]:
    """A condition that says the same as before keeps its times: no write for nothing.
    Only "ReplicaSetUpdated" moves its lastUpdateTime on progress (the deadline's clock)."""
    out = []
    for cond in conditions:
        old = next((c.to_dict() for c in previous.conditions if c.type == cond["type"]), None)
        same_meaning = old is not None and all(
            old.get(k) == cond.get(k) for k in ("status", "reason", "message"))
        refresh = moved and cond.get("reason") == "ReplicaSetUpdated"
        out.append(old if old is not None and same_meaning and not refresh else cond)
    return sorted(out, key=lambda c: str(c["type"]))

