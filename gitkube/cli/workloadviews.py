"""``gitkube get daemonsets|statefulsets|controllerrevisions|pvc|pv|storageclasses``:
kubectl's columns, read from stored objects.

kubectl prints a DaemonSet as NAME, DESIRED, CURRENT, READY, UP-TO-DATE, AVAILABLE, NODE
SELECTOR, AGE; a StatefulSet as NAME, READY, AGE (``-o wide`` adds CONTAINERS and IMAGES to
both); a claim as NAME, STATUS, VOLUME, CAPACITY, ACCESS MODES, STORAGECLASS,
VOLUMEATTRIBUTESCLASS, AGE; a volume as NAME, CAPACITY, ACCESS MODES, RECLAIM POLICY,
STATUS, CLAIM, STORAGECLASS, VOLUMEATTRIBUTESCLASS, REASON, AGE; a class as NAME (with
"(default)"), PROVISIONER, RECLAIMPOLICY, VOLUMEBINDINGMODE, ALLOWVOLUMEEXPANSION, AGE.
Access modes are kubectl's abbreviations (RWO, ROX, RWX, RWOP).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from gitkube.api import daemonsets, pods, revisions, statefulsets, storage
from gitkube.cli import render
from gitkube.cli.render import NONE

DAEMONSET_COLUMNS = ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                     "NODE SELECTOR", "AGE"]
STATEFULSET_COLUMNS = ["NAME", "READY", "AGE"]
WORKLOAD_WIDE = ["CONTAINERS", "IMAGES"]
REVISION_COLUMNS = ["NAME", "CONTROLLER", "REVISION", "AGE"]
CLAIM_COLUMNS = ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS",
                 "VOLUMEATTRIBUTESCLASS", "AGE"]
VOLUME_COLUMNS = ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM",
                  "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
STORAGE_WIDE = ["VOLUMEMODE"]
CLASS_COLUMNS = ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                 "ALLOWVOLUMEEXPANSION", "AGE"]

_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
          "ReadWriteOncePod": "RWOP"}
_UNSET = "<unset>"


def _selector(values: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(values.items())) or NONE


def daemonset_row(ds: daemonsets.DaemonSet, now: dt.datetime) -> list[str]:
    status = ds.status
    return [ds.name, str(status.desired_number_scheduled), str(status.current_number_scheduled),
            str(status.number_ready), str(status.updated_number_scheduled),
            str(status.number_available), _selector(ds.spec.template.spec.node_selector),
            render.age(ds.metadata.creation_timestamp, now)]


def statefulset_row(sts: statefulsets.StatefulSet, now: dt.datetime) -> list[str]:
    return [sts.name, f"{sts.status.ready_replicas}/{sts.spec.replicas}",
            render.age(sts.metadata.creation_timestamp, now)]


def _containers(template: pods.PodTemplateSpec) -> list[str]:
    return [",".join(c.name for c in template.spec.containers),
            ",".join(c.image for c in template.spec.containers)]


def daemonset_wide(ds: daemonsets.DaemonSet, now: dt.datetime) -> list[str]:
    return [*_containers(ds.spec.template), str(ds.spec.selector) or NONE]


def statefulset_wide(sts: statefulsets.StatefulSet, now: dt.datetime) -> list[str]:
    return _containers(sts.spec.template)


def revision_row(rev: revisions.ControllerRevision, now: dt.datetime) -> list[str]:
    owner = rev.controller_ref()
    controller = f"{owner.kind.lower()}.apps/{owner.name}" if owner is not None else NONE
    return [rev.name, controller, str(rev.revision),
            render.age(rev.metadata.creation_timestamp, now)]


def access_modes(modes: Sequence[str]) -> str:
    return ",".join(_MODES.get(m, m) for m in modes)


def claim_row(pvc: storage.PersistentVolumeClaim, now: dt.datetime) -> list[str]:
    return [pvc.name, pvc.status.phase or "Pending", pvc.spec.volume_name or "",
            pvc.status.capacity.get("storage", ""), access_modes(pvc.status.access_modes),
            pvc.spec.storage_class_name or "", _UNSET,
            render.age(pvc.metadata.creation_timestamp, now)]


def claim_wide(pvc: storage.PersistentVolumeClaim, now: dt.datetime) -> list[str]:
    return [pvc.spec.volume_mode or "Filesystem"]


def volume_row(pv: storage.PersistentVolume, now: dt.datetime) -> list[str]:
    ref = pv.spec.claim_ref
    claim = f"{ref.namespace}/{ref.name}" if ref is not None and ref.name else ""
    return [pv.name, pv.spec.capacity.get("storage", ""), access_modes(pv.spec.access_modes),
            pv.spec.persistent_volume_reclaim_policy, pv.status.phase or "Pending", claim,
            pv.spec.storage_class_name or "", _UNSET, pv.status.reason or "",
            render.age(pv.metadata.creation_timestamp, now)]


def volume_wide(pv: storage.PersistentVolume, now: dt.datetime) -> list[str]:
    return [pv.spec.volume_mode or "Filesystem"]


def class_row(sc: storage.StorageClass, now: dt.datetime) -> list[str]:
    name = f"{sc.name} (default)" if sc.is_default else sc.name
    expansion = "true" if sc.allow_volume_expansion else "false"
    return [name, sc.provisioner, sc.reclaim_policy, sc.volume_binding_mode, expansion,
            render.age(sc.metadata.creation_timestamp, now)]


# -- describe pvc ---------------------------------------------------------------------------


def _field(label: str, value: object) -> str:
    shown = value if value not in (None, "") else NONE
    return f"{label + ':':<15}{shown}"


def describe_claim(pvc: storage.PersistentVolumeClaim, used_by: Sequence[str],
                   now: dt.datetime, waiting: str | None = None) -> list[str]:
    """kubectl's ``describe pvc``: class, status, volume, capacity, access modes, the pods
    using it — and what an unbound one waits for (kubectl leaves that to its events)."""
    deleting = pvc.metadata.deletion_timestamp
    status = f"Terminating (lasts {render.age(deleting, now)})" if deleting else (
        pvc.status.phase or "Pending")
    return [
        _field("Name", pvc.name), _field("Namespace", pvc.namespace),
        _field("StorageClass", pvc.spec.storage_class_name), _field("Status", status),
        *([_field("Waiting for", waiting)] if waiting else []),
        _field("Volume", pvc.spec.volume_name),
        _field("Labels", _selector(pvc.metadata.labels)),
        _field("Annotations", _selector(pvc.metadata.annotations)),
        _field("Capacity", pvc.status.capacity.get("storage")),
        _field("Access Modes", access_modes(pvc.status.access_modes or pvc.spec.access_modes)),
        _field("VolumeMode", pvc.spec.volume_mode or "Filesystem"),
        _field("Used By", ", ".join(used_by)),
    ]
