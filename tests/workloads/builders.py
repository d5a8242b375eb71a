"""Builders for DaemonSet, StatefulSet and volume planner tests: objects as people write them.

Every object goes through ``registry.parse_object`` (so a builder cannot make what Git would
refuse), then gets what the store would add (uid, generation, creation time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitkube.api import core, registry, storage
from gitkube.api import node as node_api
from gitkube.api.meta import SOURCE_ANNOTATION, KubeObject
from gitkube.planning.actions import Action, ActionKind
from gitkube.planning.snapshot import Snapshot, Stored
from gitkube.reconcile import fixpoint
from tests.controllers import factories as f

ROOT = "/srv/gitkube/storage"


def stored(doc: dict[str, Any], *, uid: str | None = None, generation: int = 1,
           created: float = 0) -> Any:
    """A manifest as the store holds it after ``desired`` created it."""
    obj = registry.parse_object(doc)
    annotations = {**obj.metadata.annotations, SOURCE_ANNOTATION: f"{obj.name}.yaml:1"}
    meta = obj.metadata.model_copy(update={
        "uid": uid or f"uid-{obj.name}", "generation": generation,
        "creation_timestamp": f.at(created), "annotations": annotations})
    return obj.model_copy(update={"metadata": meta})


def template(app: str, image: str = "busybox:1", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": app, "image": image}], **spec}}


def daemonset(name: str = "agent", image: str = "busybox:1", *, strategy: Any = None,
              min_ready: int = 0, generation: int = 1, **spec: Any) -> Any:
    body: dict[str, Any] = {"selector": {"matchLabels": {"app": name}},
                            "template": template(name, image, **spec),
                            "minReadySeconds": min_ready}
    if strategy is not None:
        body["updateStrategy"] = strategy
    return stored({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
                   "spec": body}, generation=generation)


def statefulset(name: str = "web", replicas: int = 3, image: str = "busybox:1", *,
                claims: Sequence[str] = ("data",), policy: str | None = None,
                strategy: Any = None, retention: Mapping[str, str] | None = None,
                min_ready: int = 0, start: int | None = None, generation: int = 1,
                status: Mapping[str, Any] | None = None) -> Any:
    mounts = [{"name": c, "mountPath": f"/{c}"} for c in claims]
    tmpl = template(name, image)
    tmpl["spec"]["containers"][0]["volumeMounts"] = mounts
    body: dict[str, Any] = {
        "replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
        "template": tmpl, "minReadySeconds": min_ready,
        "volumeClaimTemplates": [claim_spec(c) for c in claims],
    }
    for field, value in (("podManagementPolicy", policy), ("updateStrategy", strategy),
                         ("persistentVolumeClaimRetentionPolicy", retention)):
        if value is not None:
            body[field] = value
    if start is not None:
        body["ordinals"] = {"start": start}
    sts = stored({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
                  "spec": body}, generation=generation)
    if status:
        sts = sts.model_copy(update={"status": type(sts.status).model_validate(dict(status))})
    return sts


def claim_spec(name: str, *, modes: Sequence[str] = ("ReadWriteOnce",),
               size: str = "1Gi", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"accessModes": list(modes), "resources": {"requests": {"storage": size}},
                     **spec}}


def pvc(name: str, *, modes: Sequence[str] = ("ReadWriteOnce",), size: str = "1Gi",
        annotations: Mapping[str, str] | None = None, **spec: Any) -> storage.PersistentVolumeClaim:
    body = claim_spec(name, modes=modes, size=size, **spec)
    body["metadata"]["annotations"] = dict(annotations or {})
    claim: storage.PersistentVolumeClaim = stored(
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", **body})
    return claim


def storage_class(name: str, provisioner: str = "rancher.io/local-path", *,
                  default: bool = False, mode: str = "WaitForFirstConsumer",
                  created: float = 0, **fields: Any) -> storage.StorageClass:
    meta: dict[str, Any] = {"name": name}
    if default:
        meta["annotations"] = {storage.DEFAULT_CLASS_ANNOTATION: "true"}
    sc: storage.StorageClass = stored(
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta,
         "provisioner": provisioner, "volumeBindingMode": mode, **fields}, created=created)
    return sc


def node(name: str, *, labels: Mapping[str, str] | None = None,
         taints: Iterable[tuple[str, str, str]] = (), ready: str | None = "True",
         conditions: Mapping[str, str] | None = None, unschedulable: bool = False,
         root: str | None = ROOT) -> node_api.Node:
    """A node of the inventory that answered (Ready), with its agent's storage root."""
    capacity = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    status: dict[str, Any] = {"capacity": capacity, "allocatable": capacity, "conditions": [
        {"type": t, "status": s} for t, s in {
            **({"Ready": ready} if ready else {}), **(conditions or {})}.items()]}
    if root:
        status["nodeInfo"] = {"storageRoot": root}
    return node_api.Node.model_validate({
        "metadata": {"name": name,
                     "labels": {node_api.HOSTNAME_LABEL: name, **(labels or {})}},
        "spec": {"taints": [{"key": k, "value": v or None, "effect": e} for k, v, e in taints],
                 "unschedulable": unschedulable},
        "status": status,
    })


def snapshot(*objs: KubeObject, observed: Mapping[str, Mapping[str, Any]] | None = None,
             revision: int = 100) -> Snapshot:
    return Snapshot(revision=revision,
                    objects={o.key: Stored(o, i + 1) for i, o in enumerate(objs)},
                    observed=dict(observed or {}), cluster="test")


def ready(pod: core.Pod, node: str, *, since: float = 0, phase: str = "Running",
          is_ready: bool = True) -> core.Pod:
    """``pod`` bound to ``node`` and reported Running (and Ready since ``since``)."""
    status = core.PodStatus.model_validate({
        "phase": phase, "startTime": f.at(since),
        "conditions": [{"type": "Ready", "status": "True" if is_ready else "False",
                        "lastTransitionTime": f.at(since)}]})
    spec = pod.spec.model_copy(update={"node_name": node})
    return pod.model_copy(update={"spec": spec, "status": status})


def terminating(pod: core.Pod) -> core.Pod:
    meta = pod.metadata.model_copy(update={"deletion_timestamp": f.at(0)})
    return pod.model_copy(update={"metadata": meta})


def summary(actions: Iterable[Action]) -> list[str]:
    """``create pod/web-0``, ``delete pod/...``, ``terminate pod/...`` for store changes."""
    out = []
    for a in actions:
        if not a.is_change:
            continue
        verb = a.kind.value
        if (a.kind is ActionKind.UPDATE and a.obj is not None
                and a.obj.metadata.deletion_timestamp):
            verb = "terminate"
        out.append(f"{verb} {a.target.kind.lower()}/{a.target.name}")
    return out


def settle(snap: Snapshot, *, seconds: float = 0, start: bool = True
           ) -> tuple[Snapshot, list[Action]]:
    """One pass of every planner, then what the nodes would do: terminating pods are gone
    and (with ``start``) the pods bound this pass are Running and Ready."""
    actions = fixpoint.plan_pass(snap, f.clock(seconds))
    objs = []
    for kept in snap.with_actions(actions).objects.values():
        obj = kept.obj
        if isinstance(obj, core.Pod) and obj.metadata.deletion_timestamp:
            continue
        if (start and isinstance(obj, core.Pod) and obj.spec.node_name
                and obj.status.phase == "Pending"):
            obj = ready(obj, obj.spec.node_name, since=seconds)
        objs.append(obj)
    return snapshot(*objs, revision=snap.revision + len(actions) + 1), actions


def replaced(snap: Snapshot, *objs: KubeObject) -> Snapshot:
    """``snap`` with these objects in place of those of the same key."""
    new = {o.key: o for o in objs}
    kept = [new.pop(s.obj.key, s.obj) for s in snap.objects.values()]
    return snapshot(*kept, *new.values(), revision=snap.revision + 1)
