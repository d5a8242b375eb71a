"""Git → store: the store holds exactly Git's objects of the kinds people write.

The first planner of a pass. When the source moved (``snapshot.desired`` is not
None) every declared object is created or updated and every object that came
from Git (it carries the ``gitkube.io/source`` annotation) but is no longer
declared is deleted; garbage collection then takes what it owned. What the
system owns is kept across updates: uid, creationTimestamp, status, and the node
a Pod was bound to. ``generation`` counts changes to what is declared outside
metadata, as in Kubernetes, so controllers can tell (``observedGeneration``)
whether they have seen the latest spec. Objects with owner references are
derived, never Git's, and are left to their controllers.
"""

from __future__ import annotations

import json
from typing import Any

from gitkube import clock as clocks
from gitkube.api import node as node_api
from gitkube.api import services
from gitkube.api.meta import SOURCE_ANNOTATION, KubeObject
from gitkube.controllers import podstatus, updaterules, volumes
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "desired"

#: Kinds Git manages; Node objects come from inventory.yaml through the same path.
GIT_KINDS = frozenset({"Namespace", "Node", "Pod", "Deployment", "ReplicaSet", "ConfigMap",
                       "Secret", "PriorityClass", "Job", "CronJob", "Service", "DaemonSet",
                       "StatefulSet", "PersistentVolumeClaim", "StorageClass",
                       "ServiceAccount"})
#: Metadata the system sets, never Git.
_SYSTEM_METADATA = ("uid", "creationTimestamp", "generation", "resourceVersion",
                    "deletionTimestamp")


def plan_desired(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    if snapshot.desired is None:
        return []
    actions: list[Action] = []
    held = services.held_by(s.obj for k, s in snapshot.objects.items()
                            if k in snapshot.desired and isinstance(s.obj, services.Service))
    for key, declared in sorted(snapshot.desired.items()):
        wanted = _remember_declared_capacity(declared)
        stored = snapshot.get(key)
        clash = services.claim_conflict(wanted, held)
        if clash:
            actions.append(Action(ActionKind.NOOP, ObjectRef.of(wanted),
                                  f"{_source(wanted)}: {clash}", source=SOURCE))
            continue
        if stored is None:
            actions.append(_create(snapshot, key, wanted, clock))
            continue
        action = _update(wanted, stored.obj, stored.mod_revision)
        if action is not None:
            actions.append(action)
    for key, stored in sorted(snapshot.objects.items()):
        obj = stored.obj
        if key in snapshot.desired or not _from_git(obj):
            continue
        if obj.kind == "PersistentVolumeClaim":  # deleted once no pod uses it
            marked = volumes.delete_claim(stored, f"removed from Git (was {_source(obj)})",
                                          clock, SOURCE)
            actions += [marked] if marked is not None else []
            continue
        actions.append(Action(
            ActionKind.DELETE, ObjectRef.of(obj),
            f"removed from Git (was {_source(obj)})",
            expected_revision=stored.mod_revision, source=SOURCE,
        ))
    return actions


def _from_git(obj: KubeObject) -> bool:
    # Nodes only ever come from inventory.yaml, annotated with their line or not.
    declared = obj.kind == "Node" or SOURCE_ANNOTATION in obj.metadata.annotations
    return obj.kind in GIT_KINDS and declared and not obj.metadata.owner_references


def _source(obj: KubeObject) -> str:
    default = "inventory.yaml" if obj.kind == "Node" else "Git"
    return obj.metadata.annotations.get(SOURCE_ANNOTATION, default)


def _create(snapshot: Snapshot, key: str, wanted: KubeObject, clock: clocks.Clock) -> Action:
    data = wanted.to_dict()
    meta = data["metadata"]
    meta["uid"] = objects.deterministic_uid(snapshot.cluster, key, snapshot.revision)
    meta["creationTimestamp"] = objects.now_text(clock)
    meta["generation"] = 1
    for field in ("resourceVersion", "deletionTimestamp"):
        meta.pop(field, None)
    obj = objects.rebuild(wanted, data)
    return Action(
        ActionKind.CREATE, ObjectRef.of(obj), f"declared in Git at {_source(obj)}",
        obj=obj, expected_revision=0, source=SOURCE,
    )


def _update(wanted: KubeObject, current: KubeObject, revision: int) -> Action | None:
    if current.metadata.owner_references and not _from_git(current):
        return None  # a derived object with a name Git now claims: its controller decides
    want = _declared(wanted.to_dict(), current.to_dict())
    have = _declared(current.to_dict(), current.to_dict())
    if want == have:
        return None
    refused = _immutable_change(want, have) or updaterules.refused_change(want, have)
    if refused:
        return Action(ActionKind.NOOP, ObjectRef.of(current), refused, source=SOURCE)
    spec_changed = _without(want, "metadata") != _without(have, "metadata")
    meta_changed = _meta_without_source(want) != _meta_without_source(have)
    data = dict(want)
    cur = current.to_dict()
    meta = dict(data["metadata"])
    for field in ("uid", "creationTimestamp"):
        if field in cur["metadata"]:
            meta[field] = cur["metadata"][field]
    generation = int(cur["metadata"].get("generation") or 1)
    meta["generation"] = generation + 1 if spec_changed else generation
    data["metadata"] = meta
    if "status" in cur:
        data["status"] = cur["status"]
    obj = objects.rebuild(current, data)
    if spec_changed or meta_changed:
        what = "spec" if spec_changed else "metadata"
        return Action(
            ActionKind.UPDATE, ObjectRef.of(obj), f"{what} changed in Git ({_source(obj)})",
            obj=obj, expected_revision=revision, source=SOURCE,
        )
    return Action(
        ActionKind.UPDATE, ObjectRef.of(obj), f"moved in Git to {_source(obj)}",
        obj=obj, expected_revision=revision, source=SOURCE, status_only=True,
    )


def _immutable_change(want: dict[str, Any], have: dict[str, Any]) -> str:
    """Why Kubernetes would refuse this ConfigMap/Secret/Service update ('' when it would
    not)."""
    kind = have.get("kind")
    if kind not in ("ConfigMap", "Secret", "Service"):
        return ""
    name = f"{kind} {have['metadata'].get('namespace', 'default')}/{have['metadata']['name']}"
    if kind == "Service":
        return services.cluster_ip_change(want, have, name)
    if kind == "Secret" and want.get("type", "Opaque") != have.get("type", "Opaque"):
        return (f"{name} keeps type {have.get('type', 'Opaque')}: a Secret's type cannot "
                "change; delete it from Git and add it under a new name")
    if not have.get("immutable"):
        return ""
    fields = ("data", "binaryData", "stringData", "immutable")
    if all(want.get(f) == have.get(f) for f in fields):
        return ""
    return (f"{name} is immutable: the change to its data in Git is refused and the stored "
            "one is kept; delete it from Git and add it under a new name (pods pick it up "
            "when their spec names it)")


def _declared(data: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """What Git declares: no status, no system metadata; a Pod keeps the node it is bound to."""
    out = {k: v for k, v in data.items() if k != "status"}
    out["metadata"] = {
        k: v for k, v in (data.get("metadata") or {}).items() if k not in _SYSTEM_METADATA
    }
    node = (current.get("spec") or {}).get("nodeName")
    if data.get("kind") == "Pod" and node and not (data.get("spec") or {}).get("nodeName"):
        out["spec"] = {**data["spec"], "nodeName": node}
    return _keep_allocated(out, current)


def _keep_allocated(declared: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """What the system allocated into a spec (``ipam``) and Git leaves unset stays."""
    kind = declared.get("kind")
    if kind == "Service":
        return services.keep_allocated(declared, current)
    if kind == "PersistentVolumeClaim":
        return volumes.keep_bound_fields(declared, current)
    stored = current.get("spec") or {}
    if kind == "Node" and stored.get("podCIDR") and not (declared.get("spec") or {}).get(
            "podCIDR"):
        spec = {**(declared.get("spec") or {}), "podCIDR": stored["podCIDR"],
                "podCIDRs": stored.get("podCIDRs") or [stored["podCIDR"]]}
        return {**declared, "spec": spec}
    return declared


def _without(data: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != field}


def _meta_without_source(data: dict[str, Any]) -> dict[str, Any]:
    meta = dict(data["metadata"])
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k != SOURCE_ANNOTATION}
    meta["annotations"] = annotations
    return meta


def _remember_declared_capacity(obj: KubeObject) -> KubeObject:
    """A Node keeps inventory.yaml's capacity in an annotation: its status is the agent's."""
    if not isinstance(obj, node_api.Node) or not obj.status.capacity:
        return obj
    data = obj.to_dict()
    data["metadata"].setdefault("annotations", {})[podstatus.DECLARED_CAPACITY] = json.dumps(
        obj.status.capacity, sort_keys=True, separators=(",", ":"))
    return objects.rebuild(obj, data)
