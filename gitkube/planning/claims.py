"""Claims, volumes and classes as both planner packages read them.

The volume controller binds claims (``controllers/volumes.py``) and the scheduler's
VolumeBinding filter places pods by them (``scheduler/plugins/volumebinding.py``); both
need the same answers: which StorageClasses exist (the built-in ``local-path`` unless Git
declares one of that name), which is the default (the newest one marked default, as
Kubernetes picks), whether a claim binds when its first pod is scheduled
(``WaitForFirstConsumer``, Kubernetes' ``IsDelayBindingMode``), the volume a claim is
bound to, and the node the scheduler chose for an unbound one.
"""

from __future__ import annotations

from gitkube.api import core, keys, podstate, storage
from gitkube.api.meta import SOURCE_ANNOTATION
from gitkube.planning import objects
from gitkube.planning.snapshot import Snapshot

#: Set on a claim by the scheduler: the node its first pod went to (the provisioner's cue).
SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"


def classes(snapshot: Snapshot) -> dict[str, storage.StorageClass]:
    """Every StorageClass by name: those in Git, and ``local-path`` unless Git has one."""
    found = {c.name: c for c in snapshot.of_kind(storage.StorageClass)}
    found.setdefault(storage.DEFAULT_CLASS_NAME, storage.builtin_local_path())
    return found


def default_class(known: dict[str, storage.StorageClass]) -> storage.StorageClass | None:
    """The default class: of several marked default, the newest (then by name), Git's before
    the built-in one — k3s deploys local-path when the cluster starts, so it is the oldest."""
    marked = [c for c in known.values() if c.is_default]
    if not marked:
        return None
    return max(marked, key=lambda c: (SOURCE_ANNOTATION in c.metadata.annotations,
                                      objects.parse_or_epoch(c.metadata.creation_timestamp),
                                      c.name))


def class_of(claim: storage.PersistentVolumeClaim,
             known: dict[str, storage.StorageClass]) -> storage.StorageClass | None:
    name = claim.spec.storage_class_name
    return known.get(name) if name else None


def is_delayed(claim: storage.PersistentVolumeClaim,
               known: dict[str, storage.StorageClass]) -> bool:
    """``IsDelayBindingMode``: the claim's class binds when its first pod is scheduled. A
    claim without a class, or naming one that does not exist, binds at once (Immediate)."""
    found = class_of(claim, known)
    return found is not None and found.volume_binding_mode == "WaitForFirstConsumer"


def claim(snapshot: Snapshot, namespace: str, name: str) -> storage.PersistentVolumeClaim | None:
    stored = snapshot.get(keys.object_key(storage.PersistentVolumeClaim.plural, namespace, name))
    found = stored.obj if stored is not None else None
    return found if isinstance(found, storage.PersistentVolumeClaim) else None


def volume(snapshot: Snapshot, name: str) -> storage.PersistentVolume | None:
    stored = snapshot.get(keys.object_key(storage.PersistentVolume.plural, "", name))
    found = stored.obj if stored is not None else None
    return found if isinstance(found, storage.PersistentVolume) else None


def bound_volume(snapshot: Snapshot, pvc: storage.PersistentVolumeClaim
                 ) -> storage.PersistentVolume | None:
    """The volume the claim is bound to, when both sides say so."""
    if not pvc.spec.volume_name:
        return None
    found = volume(snapshot, pvc.spec.volume_name)
    ref = found.spec.claim_ref if found is not None else None
    if ref is None or ref.uid != pvc.metadata.uid:
        return None
    return found


def claim_names(spec: core.PodSpec) -> list[str]:
    """The claims a pod spec mounts, in volume order."""
    return [v.persistent_volume_claim.claim_name for v in spec.volumes
            if v.persistent_volume_claim is not None]


def in_use(snapshot: Snapshot, pvc: storage.PersistentVolumeClaim) -> list[core.Pod]:
    """Pods that use the claim and have not finished (what pvc-protection waits for)."""
    return [p for p in snapshot.of_kind(core.Pod)
            if p.namespace == pvc.namespace and not podstate.is_terminal(p)
            and pvc.name in claim_names(p.spec)]
