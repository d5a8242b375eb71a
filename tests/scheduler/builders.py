"""Builders for scheduler tests: nodes, pods and snapshots in a few words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitkube import clock as clocks
from gitkube.api import affinity as api_affinity
from gitkube.api import apps, core, meta, scheduling, selectors
from gitkube.api import node as node_api
from gitkube.api.meta import KubeObject, ObjectMeta
from gitkube.planning.snapshot import Snapshot, Stored

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str | None = "110",
    labels: Mapping[str, str] | None = None,
    taints: Sequence[tuple[str, str | None, str]] = (),
    unschedulable: bool = False,
    ready: str | None = "True",
    extended: Mapping[str, str] | None = None,
    images: Mapping[str, int] | None = None,
) -> node_api.Node:
    allocatable = {"cpu": cpu, "memory": memory, **(extended or {})}
    if pods is not None:
        allocatable["pods"] = pods
    conditions = [] if ready is None else [node_api.NodeCondition(type="Ready", status=ready)]
    return node_api.Node(
        metadata=ObjectMeta(name=name, labels=dict(labels or {})),
        spec=node_api.NodeSpec(
            taints=[node_api.Taint(key=k, value=v, effect=e) for k, v, e in taints],
            unschedulable=unschedulable,
        ),
        status=node_api.NodeStatus(
            capacity=allocatable, allocatable=allocatable, conditions=conditions,
            images=[node_api.ContainerImage(names=[name], size_bytes=size)
                    for name, size in (images or {}).items()],
        ),
    )


def pod(
    name: str,
    *,
    cpu: str | None = None,
    memory: str | None = None,
    limits: Mapping[str, str] | None = None,
    extended: Mapping[str, str] | None = None,
    node_name: str | None = None,
    node_selector: Mapping[str, str] | None = None,
    tolerations: Iterable[Mapping[str, Any]] = (),
    host_ports: Iterable[int | tuple[int, str, str]] = (),
    priority: int | None = None,
    created: int = 0,
    phase: str = "Pending",
    containers: int = 1,
    namespace: str = "default",
    labels: Mapping[str, str] | None = None,
    affinity: Mapping[str, Any] | None = None,
    spread: Iterable[Mapping[str, Any]] = (),
    priority_class: str | None = None,
    image: str = "busybox:1.36",
    owner: str | None = None,
) -> core.Pod:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    requests.update(extended or {})
    ports = []
    for p in host_ports:
        port, protocol, ip = (p, "TCP", None) if isinstance(p, int) else p
        ports.append(core.ContainerPort(
            container_port=port, host_port=port, protocol=protocol, host_ip=ip))
    container_list = [
        core.Container(
            name=f"c{i}",
            image=image,
            resources=core.ResourceRequirements(requests=dict(requests), limits=dict(limits or {})),
            ports=ports if i == 0 else [],
        )
        for i in range(containers)
    ]
    return core.Pod(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            labels=dict(labels or {}),
            creation_timestamp=clocks.format_time(START + dt.timedelta(seconds=created)),
            owner_references=[] if owner is None else [meta.OwnerReference(
                api_version="apps/v1", kind="ReplicaSet", name=owner, uid=owner,
                controller=True)],
        ),
        spec=core.PodSpec(
            containers=container_list,
            node_name=node_name,
            node_selector=dict(node_selector or {}),
            tolerations=[core.Toleration(**t) for t in tolerations],
            priority=priority,
            priority_class_name=priority_class,
            affinity=None if affinity is None else api_affinity.Affinity.model_validate(affinity),
            topology_spread_constraints=[
                api_affinity.TopologySpreadConstraint.model_validate(c) for c in spread],
        ),
        status=core.PodStatus(phase=phase),  # type: ignore[arg-type]
    )


def snapshot(*objects: KubeObject, revision: int = 10) -> Snapshot:
    stored = {obj.key: Stored(obj, mod_revision=revision) for obj in objects}
    return Snapshot(revision=revision, objects=stored)


def replica_set(name: str, match_labels: Mapping[str, str], namespace: str = "default"
                ) -> apps.ReplicaSet:
    """A ReplicaSet selecting ``match_labels`` (its pods get kube-scheduler's default spread)."""
    return apps.ReplicaSet(
        metadata=ObjectMeta(name=name, namespace=namespace, uid=name),
        spec=apps.ReplicaSetSpec(
            replicas=0,
            selector=selectors.LabelSelector(match_labels=dict(match_labels)),
            template=core.PodTemplateSpec(
                metadata=core.PodTemplateMeta(labels=dict(match_labels)),
                spec=core.PodSpec(containers=[core.Container(name="c", image="busybox:1.36")]),
            ),
        ),
    )


def priority_class(name: str, value: int, *, global_default: bool = False
                   ) -> scheduling.PriorityClass:
    return scheduling.PriorityClass(metadata=ObjectMeta(name=name), value=value,
                                    global_default=global_default)
