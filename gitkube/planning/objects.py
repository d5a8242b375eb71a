"""Helpers every planner shares: deterministic identities, status edits, conditions, availability.

Planners never mutate what they were given. A status edit goes through the
object's Kubernetes JSON form (``to_dict``) and back through its model, so the
new object is validated like one read from the store, and "did anything change"
is one comparison of two JSON forms — the rule that keeps a pass from writing a
status that is already there.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from gitkube import clock as clocks
from gitkube.api import core, podstate
from gitkube.api.meta import KubeObject, OwnerReference

T = TypeVar("T", bound=KubeObject)

_UID_NAMESPACE = uuid.UUID("6f1c0d52-7c1e-4d1e-9a51-0b7c6c9e2a10")


def deterministic_uid(cluster: str, key: str, revision: int | str) -> str:
    """A uid that a repeated or interrupted plan computes again, but a re-creation does not."""
    return str(uuid.uuid5(_UID_NAMESPACE, f"{cluster}\x00{key}\x00{revision}"))


def now_text(clock: clocks.Clock) -> str:
    return clocks.format_time(clock.now())


def seconds_since(text: str | None, clock: clocks.Clock) -> float | None:
    if not text:
        return None
    return (clock.now() - clocks.parse_time(text)).total_seconds()


def rebuild(obj: T, data: Mapping[str, Any]) -> T:
    """A new object of ``obj``'s class from its Kubernetes JSON form."""
    return type(obj).model_validate(dict(data))


def same(a: KubeObject, b: KubeObject) -> bool:
    return a.to_dict() == b.to_dict()


def owner_reference(owner: KubeObject) -> OwnerReference:
    return OwnerReference(
        api_version=owner.api_version, kind=owner.kind, name=owner.name,
        uid=owner.metadata.uid or "", controller=True, block_owner_deletion=True,
    )


def condition(conditions: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    for cond in conditions:
        if cond.get("type") == kind:
            return cond
    return None


def set_condition(
    conditions: list[dict[str, Any]], kind: str, status: str, now: str, *,
    reason: str = "", message: str = "", extra: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """``conditions`` with ``kind`` set; lastTransitionTime moves only when the status does."""
    previous = condition(conditions, kind)
    new: dict[str, Any] = {"type": kind, "status": status}
    if previous is not None and previous.get("status") == status:
        new["lastTransitionTime"] = previous.get("lastTransitionTime", now)
    else:
        new["lastTransitionTime"] = now
    if reason:
        new["reason"] = reason
    if message:
        new["message"] = message
    new.update(extra or {})
    out = [c for c in conditions if c.get("type") != kind]
    out.append(new)
    return out


# -- pods ---------------------------------------------------------------------------------


def is_available(pod: core.Pod, min_ready_seconds: int, clock: clocks.Clock) -> bool:
    """IsPodAvailable: ready, and for at least minReadySeconds."""
    since = podstate.ready_since(pod)
    if since is None:
        return False
    if min_ready_seconds <= 0:
        return True
    age = seconds_since(since, clock)
    return age is not None and age >= min_ready_seconds


def parse_or_epoch(text: str | None) -> dt.datetime:
    if not text:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return clocks.parse_time(text)


def describe_kind_name(kind: str, name: str) -> str:
    """``deployment/web``: how kubectl names an object in messages."""
    return f"{kind.lower()}/{name}"


def describe(obj: KubeObject) -> str:
    return describe_kind_name(obj.kind, obj.name)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
