"""Small builders for planner tests: objects as people write them, snapshots, node reports."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from gitkube.api import apps, core, services
from gitkube.api import node as node_api
from gitkube.api.meta import SOURCE_ANNOTATION, KubeObject
from gitkube.clock import FakeClock, format_time
from gitkube.controllers import lowering
from gitkube.planning.actions import Action, ActionKind
from gitkube.planning.snapshot import Snapshot, Stored

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def clock(seconds: float = 0) -> FakeClock:
    fake = FakeClock(START)
    fake.advance(seconds)
    return fake


def at(seconds: float) -> str:
    """The RFC 3339 time ``seconds`` after START."""
    return format_time(START + dt.timedelta(seconds=seconds))


def template(app: str = "web", image: str = "busybox:1", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": app, "image": image}], **spec},
    }


def deployment(
    name: str = "web", replicas: int = 3, image: str = "busybox:1", *, uid: str | None = None,
    strategy: Mapping[str, Any] | None = None, generation: int = 1, paused: bool = False,
    history: int = 10, min_ready: int = 0, source: str | None = "apps/web.yaml:1",
) -> apps.Deployment:
    return apps.Deployment.model_validate({
        "metadata": _meta(name, uid=uid, generation=generation, source=source),
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": template(name, image),
            "strategy": dict(strategy or {"type": "RollingUpdate"}),
            "paused": paused, "revisionHistoryLimit": history, "minReadySeconds": min_ready,
        },
    })


def replicaset(
    name: str, replicas: int, *, owner: KubeObject | None = None, image: str = "busybox:1",
    app: str = "web", uid: str | None = None, created: float = 0, revision: int = 1,
) -> apps.ReplicaSet:
    meta = _meta(name, uid=uid, created=created, source=None)
    if owner is not None:
        meta["ownerReferences"] = [_owner(owner)]
        meta["annotations"] = {"deployment.kubernetes.io/revision": str(revision)}
    return apps.ReplicaSet.model_validate({
        "metadata": meta,
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                 "template": template(app, image)},
    })


def pod(
    name: str, *, owner: KubeObject | None = None, node: str | None = None,
    phase: str = "Pending", ready: bool | None = None, restarts: int = 0, created: float = 0,
    ready_at: float = 0, image: str = "busybox:1", app: str = "web",
    containers: list[dict[str, Any]] | None = None, volumes: list[dict[str, Any]] | None = None,
    source: str | None = None, uid: str | None = None, ip: str | None = None,
) -> core.Pod:
    meta = _meta(name, uid=uid, created=created, source=source)
    meta["labels"] = {"app": app}
    if owner is not None:
        meta["ownerReferences"] = [_owner(owner)]
    is_ready = phase == "Running" if ready is None else ready
    status: dict[str, Any] = {"phase": phase}
    if phase != "Pending" or ready:
        status["conditions"] = [{"type": "Ready", "status": "True" if is_ready else "False",
                                 "lastTransitionTime": at(ready_at)}]
        status["containerStatuses"] = [{"name": app, "image": image, "ready": is_ready,
                                        "restartCount": restarts}]
        status["startTime"] = at(created)
    if ip:
        status["podIP"] = ip
    spec: dict[str, Any] = {"containers": containers or [{"name": app, "image": image}]}
    if node:
        spec["nodeName"] = node
    if volumes:
        spec["volumes"] = volumes
    return core.Pod.model_validate({"metadata": meta, "spec": spec, "status": status})


def node(
    name: str = "node-1", *, heartbeat: float | None = None, capacity: dict[str, str] | None = None,
    created: float = 0, address: str = "127.0.0.2", pod_cidr: str | None = None,
) -> node_api.Node:
    status: dict[str, Any] = {"addresses": [{"type": "InternalIP", "address": address}]}
    if capacity:
        status["capacity"] = dict(capacity)
        status["allocatable"] = dict(capacity)
    if heartbeat is not None:
        status["conditions"] = [{"type": "Ready", "status": "True", "reason": "AgentReady",
                                 "message": "the gitkube agent answered",
                                 "lastHeartbeatTime": at(heartbeat),
                                 "lastTransitionTime": at(0)}]
    return node_api.Node.model_validate({
        "metadata": _meta(name, created=created, source="inventory.yaml:3", namespaced=False),
        "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]} if pod_cidr else {},
        "status": status,
    })


def service(name: str = "web", *, app: str = "web", created: float = 0,
            **spec: Any) -> services.Service:
    """A Service as Git declares it (``ports`` default: 80 → 8080), stored."""
    body: dict[str, Any] = {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}],
                            **spec}
    return services.Service.model_validate({
        "metadata": _meta(name, created=created, source=f"{name}.yaml:1"), "spec": body})


def configmap(name: str, data: Mapping[str, str]) -> core.ConfigMap:
    return core.ConfigMap.model_validate({"metadata": _meta(name, source="cm.yaml:1"),
                                          "data": dict(data)})


def secret(name: str, data: Mapping[str, str]) -> core.Secret:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return core.Secret.model_validate({"metadata": _meta(name, source="secret.yaml:1"),
                                       "data": encoded})


def snapshot(
    *objs: KubeObject, desired: Iterable[KubeObject] | None = None,
    observed: Mapping[str, Mapping[str, Any]] | None = None, revision: int = 100,
) -> Snapshot:
    return Snapshot(
        revision=revision,
        objects={o.key: Stored(o, i + 1) for i, o in enumerate(objs)},
        desired=None if desired is None else {o.key: o for o in desired},
        observed=dict(observed or {}),
        cluster="test",
    )


def running_report(
    snap: Snapshot, node_name: str, pods: Iterable[core.Pod], *, ready: bool = True,
    phase: str = "Running", hash_of: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What an agent reports when ``pods`` run on ``node_name`` with their current spec."""
    reports = []
    for p in pods:
        run = lowering.lower_pod(p, snap)
        reports.append({
            "uid": p.metadata.uid, "name": p.name, "namespace": p.namespace,
            "hash": (hash_of or {}).get(p.name, run["hash"]), "phase": phase, "podIP": "10.88.0.2",
            "containers": [{"name": c.name, "image": c.image, "state": "running",
                            "ready": ready, "restartCount": 0, "startedAt": at(1)}
                           for c in p.spec.containers],
        })
    return {"node": node_name, "facts": {"cpus": 2, "memoryBytes": 4 << 30, "kernel": "6.1",
                                         "runtime": "podman", "runtimeVersion": "4.3.1"},
            "pods": reports}


def kinds(actions: Iterable[Action]) -> list[tuple[str, str, str]]:
    """(action, kind, name) triples: what a plan says, compactly."""
    return [(a.kind.value, a.target.kind, a.target.name) for a in actions]


def changes(actions: Iterable[Action]) -> list[Action]:
    return [a for a in actions if a.is_change]


def of(actions: Iterable[Action], kind: ActionKind, target_kind: str = "") -> list[Action]:
    return [a for a in actions if a.kind is kind and (not target_kind
                                                      or a.target.kind == target_kind)]


def _meta(
    name: str, *, uid: str | None = None, created: float = 0, generation: int = 1,
    source: str | None = None, namespaced: bool = True,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name, "uid": uid or f"uid-{name}", "creationTimestamp": at(created),
        "generation": generation,
    }
    if namespaced:
        meta["namespace"] = "default"
    if source:
        meta["annotations"] = {SOURCE_ANNOTATION: source}
    return meta


def _owner(owner: KubeObject) -> dict[str, Any]:
    return {"apiVersion": owner.api_version, "kind": owner.kind, "name": owner.name,
            "uid": owner.metadata.uid, "controller": True}


def git(obj: KubeObject) -> KubeObject:
    """The object as Git declares it: no uid, timestamps, generation or status."""
    data = obj.to_dict()
    for field in ("uid", "creationTimestamp", "generation"):
        data["metadata"].pop(field, None)
    data.pop("status", None)
    return type(obj).model_validate(data)
