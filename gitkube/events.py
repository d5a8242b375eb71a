"""Events: what happened to which object, in Kubernetes' Event shape, kept in the store.

Written by the engine at the end of each pass, read by ``gitkube events`` and
``describe``. A pass turns three things into events: the actions it applied
(scheduling decisions, pods created or deleted by their controller, evictions),
what the node agents reported (containers started, killed, images pulled,
probes failing, create errors) and what failed (unreachable nodes, refused
revisions, pass errors). Like Kubernetes, the same event seen again bumps
``count`` and ``lastTimestamp`` instead of adding a record, and the list is
bounded: events older than ``TTL_SECONDS`` or beyond ``MAX_EVENTS`` are dropped.

Events live under ``/registry/events/<namespace>/<name>`` but are not API objects
the planners see: the engine leaves this prefix out of its snapshots.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from gitkube.api.meta import KubeObject
from gitkube.clock import format_time, parse_time
from gitkube.controllers.actions import Action, ActionKind
from gitkube.store import base as store_base

PREFIX = "/registry/events/"
MAX_EVENTS = 1000
TTL_SECONDS = 3600.0

Event = dict[str, Any]


def make(kind: str, namespace: str, name: str, *, type_: str, reason: str, message: str,
         component: str, host: str = "", field_path: str = "") -> Event:
    """One event about the object ``kind namespace/name`` (timestamps are set on record)."""
    involved: dict[str, str] = {"kind": kind, "name": name}
    if namespace:
        involved["namespace"] = namespace
    if field_path:
        involved["fieldPath"] = field_path
    digest = hashlib.sha256(
        "\0".join([kind, namespace, name, field_path, reason, message]).encode()
    ).hexdigest()[:10]
    source = {"component": component, **({"host": host} if host else {})}
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{digest}", "namespace": namespace or "default"},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": type_,
        "source": source,
        "count": 1,
    }


# --------------------------------------------------------------------------- from a pass

def from_actions(actions: Iterable[Action]) -> list[Event]:
    """Events for the changes a pass applied (node starts/stops come from the agents)."""
    out: list[Event] = []
    for action in actions:
        if not action.is_change or action.kind in (ActionKind.START, ActionKind.STOP):
            continue
        target = action.target
        component = action.source or "gitkube"
        if action.kind is ActionKind.BIND:
            out.append(make(target.kind, target.namespace, target.name, type_="Normal",
                            reason="Scheduled", message=action.reason, component="scheduler"))
        elif action.kind is ActionKind.UNSCHEDULABLE:
            out.append(make(target.kind, target.namespace, target.name, type_="Warning",
                            reason="FailedScheduling", message=action.reason,
                            component="scheduler"))
        elif action.kind is ActionKind.DELETE and "evict" in action.reason.lower():
            out.append(make(target.kind, target.namespace, target.name, type_="Warning",
                            reason="Evicted", message=action.reason, component=component))
        else:
            owner = _controller(action.obj)
            verb = {ActionKind.CREATE: "Create", ActionKind.UPDATE: "Update",
                    ActionKind.DELETE: "Delete"}.get(action.kind, action.kind.value.title())
            if owner is not None:
                out.append(make(owner[0], target.namespace, owner[1], type_="Normal",
                                reason=f"Successful{verb}",
                                message=f"{verb}d {target.kind.lower()} {target.name}: "
                                        f"{action.reason}",
                                component=component))
            else:
                out.append(make(target.kind, target.namespace, target.name, type_="Normal",
                                reason=f"{verb}d", message=action.reason, component=component))
    return out


def from_report(node: str, report: Mapping[str, Any]) -> list[Event]:
    """The agent's events (``{"type", "reason", "message", "pod": "ns/name", ...}``)."""
    out: list[Event] = []
    for raw in report.get("events", []) or []:
        if not isinstance(raw, Mapping):
            continue
        reason = str(raw.get("reason", "")) or "Unknown"
        message = str(raw.get("message", ""))
        type_ = "Warning" if raw.get("type") == "Warning" else "Normal"
        pod = str(raw.get("pod", ""))
        container = str(raw.get("container", ""))
        if "/" in pod:
            namespace, name = pod.split("/", 1)
            path = f"spec.containers{{{container}}}" if container else ""
            out.append(make("Pod", namespace, name, type_=type_, reason=reason, message=message,
                            component="agent", host=node, field_path=path))
        else:
            image = str(raw.get("image", ""))
            said = f"{image}: {message}" if image else message
            out.append(make("Node", "", node, type_=type_, reason=reason, message=said,
                            component="agent", host=node))
    return out


def from_errors(node_errors: Mapping[str, str], problems: Iterable[str], revision: str,
                errors: Iterable[str], cluster: str) -> list[Event]:
    out = [make("Node", "", node, type_="Warning", reason="NodeUnreachable", message=message,
                component="gitkube") for node, message in sorted(node_errors.items())]
    listed = list(problems)
    if listed and revision:
        out.append(make("Commit", "", revision[:12], type_="Warning", reason="RevisionRefused",
                        message="; ".join(listed), component="source"))
    node_messages = set(node_errors.values())
    out.extend(make("Cluster", "", cluster, type_="Warning", reason="PassError", message=error,
                    component="gitkube") for error in errors if error not in node_messages)
    return out


def _controller(obj: KubeObject | None) -> tuple[str, str] | None:
    if obj is None:
        return None
    for ref in obj.metadata.owner_references:
        if ref.controller:
            return ref.kind, ref.name
    return None


# --------------------------------------------------------------------------- the store

def key_of(event: Event) -> str:
    meta = event["metadata"]
    return f"{PREFIX}{meta['namespace']}/{meta['name']}"


def record(store: store_base.Store, new: Iterable[Event], now: dt.datetime, *,
           max_events: int = MAX_EVENTS, ttl_seconds: float = TTL_SECONDS) -> int:
    """Add ``new`` (bumping repeats), drop what is too old or too many; returns events kept."""
    stamp = format_time(now)
    kvs, _ = store.range(PREFIX)
    kept: dict[str, Event] = {kv.key: dict(kv.value) for kv in kvs}
    changed: set[str] = set()
    for event in new:
        key = key_of(event)
        seen = kept.get(key)
        if seen is not None:
            seen = {**seen, "count": int(seen.get("count", 1)) + 1, "lastTimestamp": stamp}
        else:
            seen = {**event, "firstTimestamp": stamp, "lastTimestamp": stamp}
        kept[key] = seen
        changed.add(key)
    cutoff = now - dt.timedelta(seconds=ttl_seconds)
    expired = {k for k, e in kept.items() if _last(e) < cutoff}
    alive = sorted((k for k in kept if k not in expired), key=lambda k: _last(kept[k]))
    expired.update(alive[:max(len(alive) - max_events, 0)])
    ops: list[store_base.Op] = [store_base.Put(k, kept[k]) for k in changed if k not in expired]
    ops.extend(store_base.Delete(k) for k in expired if any(kv.key == k for kv in kvs))
    if ops:
        store.txn([], ops)
    return len(kept) - len(expired)


def _last(event: Event) -> dt.datetime:
    try:
        return parse_time(str(event.get("lastTimestamp", "")))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def list_events(store: store_base.Store, *, kind: str = "", name: str = "",
                namespace: str | None = None) -> list[Event]:
    """Events oldest first; filtered by involved object and namespace when given."""
    kvs, _ = store.range(PREFIX)
    found = []
    for kv in kvs:
        event = kv.value
        involved = event.get("involvedObject", {})
        if kind and str(involved.get("kind", "")).lower() != kind.lower():
            continue
        if name and involved.get("name") != name:
            continue
        if namespace is not None and involved.get("namespace", "") not in (namespace, ""):
            continue
        found.append(event)
    return sorted(found, key=lambda e: (str(e.get("lastTimestamp", "")),
                                        str(e["metadata"]["name"])))
