"""Events: what happened to which object, in Kubernetes' Event shape, kept in the store.

Written by the engine at the end of each pass, read by ``gitkube events`` and
``describe``. A pass turns three things into events: the actions it applied
(scheduling decisions, pods created or deleted by their controller, evictions),
what the node agents reported (containers started, killed, images pulled,
probes failing, create errors) and what failed (unreachable nodes, refused
revisions, pass errors). Like Kubernetes, the same event seen again bumps
``count`` and ``lastTimestamp`` instead of adding a record, and the list is
bounded: events not seen nor stored for ``TTL_SECONDS``, or beyond ``MAX_EVENTS``,
are dropped.

An event the node's supervisor journaled while no pass ran (a probe failure, a kill)
keeps the node's own time and count: ``gitkube events`` says when the node saw it, not
when the next pass picked it up.

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
from gitkube.planning.actions import Action, ActionKind
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
        elif (action.kind is ActionKind.UPDATE and action.source == "scheduler"
              and action.reason.startswith("Preempted by ")):
            # The victim's own event, as kube-scheduler records it (Normal, Preempted).
            out.append(make(target.kind, target.namespace, target.name, type_="Normal",
                            reason="Preempted", message=action.reason, component="scheduler"))
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
    """The agent's events (``{"type", "reason", "message", "pod": "ns/name", ...}``).

    An event with its own ``time`` (and ``firstTime``, ``count``) keeps them as
    ``lastTimestamp``, ``firstTimestamp`` and ``count``; ``record`` honours them.
    """
    out: list[Event] = []
    for raw in report.get("events", []) or []:
        if isinstance(raw, Mapping):
            out.append(_with_times(_from_agent(node, raw), raw))
    network = report.get("network")
    for message in (network.get("errors") or []) if isinstance(network, Mapping) else []:
        # What the node could not program of the cluster network (kubelet's NetworkNotReady).
        out.append(make("Node", "", node, type_="Warning", reason="NetworkNotReady",
                        message=str(message), component="agent", host=node))
    return out


def _from_agent(node: str, raw: Mapping[str, Any]) -> Event:
    reason = str(raw.get("reason", "")) or "Unknown"
    message = str(raw.get("message", ""))
    type_ = "Warning" if raw.get("type") == "Warning" else "Normal"
    pod = str(raw.get("pod", ""))
    container = str(raw.get("container", ""))
    if "/" in pod:
        namespace, name = pod.split("/", 1)
        path = f"spec.containers{{{container}}}" if container else ""
        return make("Pod", namespace, name, type_=type_, reason=reason, message=message,
                    component="agent", host=node, field_path=path)
    image = str(raw.get("image", ""))
    said = f"{image}: {message}" if image else message
    return make("Node", "", node, type_=type_, reason=reason, message=said,
                component="agent", host=node)


def _with_times(event: Event, raw: Mapping[str, Any]) -> Event:
    """Carry the node's own ``time``/``firstTime``/``count`` over; unreadable ones are dropped."""
    last = _stamp(raw.get("time"))
    if last:
        event["lastTimestamp"] = last
        event["firstTimestamp"] = min(_stamp(raw.get("firstTime")) or last, last)
    count = raw.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count > 1:
        event["count"] = count
    return event


def _stamp(value: object) -> str:
    """``value`` as RFC 3339 UTC (``format_time``), or "" when it is not a timestamp."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return format_time(parse_time(value))
    except ValueError:
        return ""


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
        # An event the node journaled brings its own times and count; others happen now.
        last = str(event.get("lastTimestamp") or stamp)
        count = int(event.get("count", 1))
        first = str(event.get("firstTimestamp") or last)
        if seen is not None:
            seen = {**seen, "count": int(seen.get("count", 1)) + count,
                    "firstTimestamp": min(first, str(seen.get("firstTimestamp") or first),
                                          key=_moment),
                    "lastTimestamp": max(last, str(seen.get("lastTimestamp", "")),
                                         key=_moment)}
        else:
            # creationTimestamp is when the store got it (as Kubernetes' API server sets it).
            seen = {**event, "metadata": {**event["metadata"], "creationTimestamp": stamp},
                    "count": count, "lastTimestamp": last, "firstTimestamp": first}
        kept[key] = seen
        changed.add(key)
    cutoff = now - dt.timedelta(seconds=ttl_seconds)
    expired = {k for k, e in kept.items() if _touched(e) < cutoff}
    alive = sorted((k for k in kept if k not in expired), key=lambda k: _touched(kept[k]))
    expired.update(alive[:max(len(alive) - max_events, 0)])
    ops: list[store_base.Op] = [store_base.Put(k, kept[k]) for k in changed if k not in expired]
    ops.extend(store_base.Delete(k) for k in expired if any(kv.key == k for kv in kvs))
    if ops:
        store.txn([], ops)
    return len(kept) - len(expired)


def _touched(event: Event) -> dt.datetime:
    """The later of last seen and stored: a node's old news, just picked up, lives its TTL."""
    stored = str(event.get("metadata", {}).get("creationTimestamp", ""))
    return max(_moment(str(event.get("lastTimestamp", ""))), _moment(stored))


def _moment(stamp: str) -> dt.datetime:
    try:
        return parse_time(stamp)
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
