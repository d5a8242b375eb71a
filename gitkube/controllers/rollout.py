"""Rollout arithmetic: how many replicas each ReplicaSet of a Deployment should have now.

This is the integer heart of the deployment controller (``deployments.py``), kept
apart from objects so it can be read next to Kubernetes' ``pkg/controller/deployment``
(``rolling.go``, ``recreate.go``, ``util/deployment_util.go``) and tested as a table.

``plan_rollout`` does what one ``syncDeployment`` does: ONE step. Rolling update
scales the new ReplicaSet up within ``maxSurge`` and stops, or, when it cannot,
scales old ReplicaSets down as far as ``maxUnavailable`` allows. The reconcile
pass runs the planners to a fixpoint, so the next step follows in the same pass
whenever it is allowed, and in a later pass once pods have become available.

``plan_scale`` is Kubernetes' ``sync()``/``scale()``: what a paused Deployment, or
one whose ``spec.replicas`` changed (``is_scaling_event``), does instead of a rollout
step. One active ReplicaSet takes the new count; several share it in proportion to
their size (``GetProportion``), so scaling neither hastens nor slows a rollout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

DEFAULT_MAX_SURGE = "25%"
DEFAULT_MAX_UNAVAILABLE = "25%"


@dataclass(frozen=True)
class ReplicaSetState:
    """What the arithmetic needs to know of one ReplicaSet."""

    name: str
    #: spec.replicas
    replicas: int
    #: pods that are ready for minReadySeconds (Kubernetes' availableReplicas)
    available: int
    #: pods that are not Succeeded/Failed (still running, starting or unknown)
    active_pods: int = 0
    #: creationTimestamp, RFC 3339: older ReplicaSets are scaled down first
    created: str = ""
    #: deployment.kubernetes.io/desired-replicas: the Deployment's replicas when last sized
    desired_replicas: int | None = None
    #: deployment.kubernetes.io/max-replicas: desired + maxSurge when last sized
    max_replicas: int | None = None


def scaled_value(value: int | str | None, total: int, *, round_up: bool, default: str) -> int:
    """An IntOrString ("25%" or 2) resolved against ``total`` (GetScaledValueFromIntOrPercent)."""
    if value is None:
        value = default
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        fraction = int(text[:-1]) * total / 100
        return math.ceil(fraction) if round_up else math.floor(fraction)
    return int(text)


def resolve_fenceposts(
    max_surge: int | str | None, max_unavailable: int | str | None, desired: int
) -> tuple[int, int]:
    """``(surge, unavailable)``: surge rounds up, unavailable down; both zero → unavailable 1."""
    surge = scaled_value(max_surge, desired, round_up=True, default=DEFAULT_MAX_SURGE)
    unavailable = scaled_value(
        max_unavailable, desired, round_up=False, default=DEFAULT_MAX_UNAVAILABLE
    )
    if surge == 0 and unavailable == 0:
        # Kubernetes' validation forbids both zero; a rollout must be able to move.
        unavailable = 1
    return surge, unavailable


def max_unavailable_for(
    max_surge: int | str | None, max_unavailable: int | str | None, desired: int
) -> int:
    """MaxUnavailable(deployment): never more than the desired replicas."""
    if desired == 0:
        return 0
    _, unavailable = resolve_fenceposts(max_surge, max_unavailable, desired)
    return min(unavailable, desired)


@dataclass(frozen=True)
class Strategy:
    type: str = "RollingUpdate"
    max_surge: int | str | None = None
    max_unavailable: int | str | None = None


def max_surge(strategy: Strategy, desired: int) -> int:
    """MaxSurge(deployment): the surge of a RollingUpdate, 0 for Recreate."""
    if strategy.type != "RollingUpdate":
        return 0
    surge, _ = resolve_fenceposts(strategy.max_surge, strategy.max_unavailable, desired)
    return surge


def new_rs_new_replicas(
    strategy: Strategy, desired: int, new: ReplicaSetState | None,
    all_sets: list[ReplicaSetState],
) -> int:
    """NewRSNewReplicas: the new ReplicaSet's size for this step."""
    if strategy.type == "Recreate":
        return desired
    current_new = new.replicas if new else 0
    surge, _ = resolve_fenceposts(strategy.max_surge, strategy.max_unavailable, desired)
    current_total = sum(rs.replicas for rs in all_sets)
    max_total = desired + surge
    if current_total >= max_total:
        return current_new
    scale_up = min(max_total - current_total, desired - current_new)
    return current_new + max(scale_up, 0)


def plan_rollout(
    strategy: Strategy, desired: int, new: ReplicaSetState, olds: list[ReplicaSetState]
) -> dict[str, int]:
    """One step of the rollout: ReplicaSet name → new spec.replicas (only the ones that change)."""
    if strategy.type == "Recreate":
        return _plan_recreate(desired, new, olds)
    return _plan_rolling(strategy, desired, new, olds)


def _plan_rolling(
    strategy: Strategy, desired: int, new: ReplicaSetState, olds: list[ReplicaSetState]
) -> dict[str, int]:
    # reconcileNewReplicaSet
    if new.replicas > desired:
        return {new.name: desired}
    if new.replicas < desired:
        wanted = new_rs_new_replicas(strategy, desired, new, [new, *olds])
        if wanted != new.replicas:
            return {new.name: wanted}
    return _reconcile_old_replica_sets(strategy, desired, new, olds)


def _reconcile_old_replica_sets(
    strategy: Strategy, desired: int, new: ReplicaSetState, olds: list[ReplicaSetState]
) -> dict[str, int]:
    old_count = sum(rs.replicas for rs in olds)
    if old_count == 0:
        return {}
    all_count = old_count + new.replicas
    min_available = desired - max_unavailable_for(
        strategy.max_surge, strategy.max_unavailable, desired
    )
    new_unavailable = new.replicas - new.available
    max_scaled_down = all_count - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    ordered = sorted(olds, key=lambda rs: (rs.created, rs.name))
    ordered, changes = _cleanup_unhealthy_replicas(ordered, max_scaled_down)
    changes.update(_scale_down_old_for_rolling_update(min_available, new, ordered))
    return changes


def _cleanup_unhealthy_replicas(
    olds: list[ReplicaSetState], max_cleanup: int
) -> tuple[list[ReplicaSetState], dict[str, int]]:
    """Scale old ReplicaSets down by their unavailable pods first: that costs no availability."""
    changes: dict[str, int] = {}
    result: list[ReplicaSetState] = []
    total = 0
    for rs in olds:
        unhealthy = rs.replicas - rs.available
        if total >= max_cleanup or rs.replicas == 0 or unhealthy <= 0:
            result.append(rs)
            continue
        count = min(max_cleanup - total, unhealthy)
        total += count
        changes[rs.name] = rs.replicas - count
        result.append(replace(rs, replicas=rs.replicas - count))
    return result, changes


def _scale_down_old_for_rolling_update(
    min_available: int, new: ReplicaSetState, olds: list[ReplicaSetState]
) -> dict[str, int]:
    available = new.available + sum(rs.available for rs in olds)
    if available <= min_available:
        return {}
    to_scale_down = available - min_available
    changes: dict[str, int] = {}
    done = 0
    for rs in olds:
        if done >= to_scale_down:
            break
        if rs.replicas == 0:
            continue
        count = min(rs.replicas, to_scale_down - done)
        changes[rs.name] = rs.replicas - count
        done += count
    return changes


def _plan_recreate(
    desired: int, new: ReplicaSetState, olds: list[ReplicaSetState]
) -> dict[str, int]:
    """Recreate: every old ReplicaSet to 0, and the new one up only once old pods are gone."""
    scale_down = {rs.name: 0 for rs in olds if rs.replicas > 0}
    if scale_down:
        return scale_down
    if any(rs.active_pods > 0 for rs in olds):
        return {}
    if new.replicas != desired:
        return {new.name: desired}
    return {}


# -- scaling (sync.go: isScalingEvent, scale; deployment_util.go: GetProportion) ----------


def is_scaling_event(desired: int, sets: list[ReplicaSetState]) -> bool:
    """An active ReplicaSet was sized for another ``spec.replicas`` than the Deployment's now.
    ReplicaSets without the desired-replicas annotation say nothing (isScalingEvent)."""
    return any(rs.replicas > 0 and rs.desired_replicas is not None
               and rs.desired_replicas != desired for rs in sets)


def plan_scale(
    strategy: Strategy, desired: int, new: ReplicaSetState | None,
    olds: list[ReplicaSetState], *, observed_replicas: int,
) -> dict[str, int]:
    """The ReplicaSets to size now, name → spec.replicas; every one named is also annotated
    with the new desired/max replicas, even when its size stays (as ``scaleReplicaSet``).

    ``observed_replicas`` is the Deployment's ``status.replicas``: the proportion of a
    ReplicaSet without a max-replicas annotation is taken against it.
    """
    newest_first = sorted(olds, key=lambda rs: (rs.created, rs.name), reverse=True)
    active = [rs for rs in ([new] if new else []) + newest_first if rs.replicas > 0]
    if len(active) <= 1:
        # FindActiveOrLatest: the one active ReplicaSet, else the new one, else the newest.
        target = active[0] if active else new or next(iter(newest_first), None)
        return {} if target is None or target.replicas == desired else {target.name: desired}
    if new is not None and is_saturated(desired, new):
        return {rs.name: 0 for rs in olds if rs.replicas > 0}
    if strategy.type != "RollingUpdate":
        return {}  # Recreate: the rollout step sizes the new ReplicaSet once old pods are gone
    return _scale_proportionally(strategy, desired, active, observed_replicas)


def is_saturated(desired: int, new: ReplicaSetState) -> bool:
    """IsSaturated: the new ReplicaSet has all replicas, sized for them, all available."""
    return new.replicas == desired == new.desired_replicas and new.available == desired


def _scale_proportionally(
    strategy: Strategy, desired: int, active: list[ReplicaSetState], observed_replicas: int
) -> dict[str, int]:
    surge = max_surge(strategy, desired)
    allowed = desired + surge if desired > 0 else 0
    to_add = allowed - sum(rs.replicas for rs in active)
    # Larger ReplicaSets first; among equals, newer ones grow first and older ones shrink first.
    ordered = sorted(active, key=lambda rs: (rs.created, rs.name), reverse=to_add > 0)
    ordered.sort(key=lambda rs: -rs.replicas)
    sizes: dict[str, int] = {}
    added = 0
    for rs in ordered:
        share = _proportion(rs, desired, surge, to_add, added, observed_replicas)
        sizes[rs.name] = rs.replicas + share
        added += share
    if to_add:
        # Rounding leftovers go to the largest (first) ReplicaSet.
        first = ordered[0].name
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return sizes


def _proportion(
    rs: ReplicaSetState, desired: int, surge: int, to_add: int, added: int,
    observed_replicas: int,
) -> int:
    """GetProportion: ``rs``'s share of ``to_add``, never past what is left to add."""
    if rs.replicas == 0 or to_add == 0 or to_add == added:
        return 0
    allowed = to_add - added
    fraction = _fraction(rs, desired, surge, observed_replicas)
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _fraction(rs: ReplicaSetState, desired: int, surge: int, observed_replicas: int) -> int:
    """getReplicaSetFraction: the change that keeps ``rs``'s share of the maximum size."""
    if desired == 0:
        return -rs.replicas
    annotated = rs.max_replicas if rs.max_replicas is not None else observed_replicas
    if annotated <= 0:
        return 0  # no size to be a share of; the leftover goes to the largest
    size = rs.replicas * (desired + surge) / annotated
    return math.floor(size + 0.5) - rs.replicas  # integer.RoundToInt32: half away from zero
