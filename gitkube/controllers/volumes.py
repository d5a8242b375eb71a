"""Claims → volumes: Kubernetes' PersistentVolume controller with k3s's local-path provisioner.

For every PersistentVolumeClaim:

- a claim with no ``storageClassName`` gets the default class (``local-path`` unless Git
  marks another), as the DefaultStorageClass admission plugin does; the ``local-path``
  class itself is stored as k3s deploys it (once there is a claim), unless Git declares a
  class of that name;
- a claim of a local-path class is provisioned once the scheduler has chosen its node
  (``WaitForFirstConsumer``: the ``volume.kubernetes.io/selected-node`` annotation, see
  ``scheduler/plugins/volumebinding.py``): a PersistentVolume ``pvc-<claim uid>`` whose
  ``hostPath`` is ``<root>/pvc-<uid>_<namespace>_<claim>`` on that node (``root``: the
  class's ``nodePath`` parameter, else the directory the node's agent keeps volumes in)
  and whose node affinity names the node — so every later pod of the claim runs there —
  and the claim is bound to it. What keeps a claim Pending is said by ``waiting_for``;
- a claim being deleted (``deletionTimestamp``, set when it leaves Git or its owner goes)
  is removed once no unfinished pod uses it (Kubernetes' pvc-protection).

For every PersistentVolume: bound while its claim exists; ``Released`` once the claim is
gone. With ``reclaimPolicy: Delete`` the node removes the directory (``plan_removals``
names it to the node) and the volume goes when the node no longer reports it, or at once
when the node left the inventory; ``Retain`` keeps the volume and its data.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from gitkube import clock as clocks
from gitkube.api import affinity, keys, pods, storage
from gitkube.api import node as node_api
from gitkube.api.meta import ObjectMeta
from gitkube.planning import claims, objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot, Stored

SOURCE = "volumes"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
LOCAL_PATH_NODE = "local.path.provisioner/selected-node"
#: The key of a node report listing the claim directories its agent holds (absolute paths).
REPORT_KEY = "volumes"
#: Annotations the system writes on claims; Git's copy of a claim leaves them in place.
SYSTEM_PREFIXES = ("pv.kubernetes.io/", "volume.kubernetes.io/", "volume.beta.kubernetes.io/")


def plan_volumes(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    known = claims.classes(snapshot)
    default = claims.default_class(known)
    stored_claims = list(snapshot.stored_of_kind(storage.PersistentVolumeClaim))
    builtin = stored_claims and not snapshot.get(known[storage.DEFAULT_CLASS_NAME].key)
    actions: list[Action] = [_builtin_class(snapshot, clock)] if builtin else []
    for stored in stored_claims:
        if isinstance(stored.obj, storage.PersistentVolumeClaim):
            actions += sync_claim(snapshot, stored, known, default, clock)
    for stored in snapshot.stored_of_kind(storage.PersistentVolume):
        if isinstance(stored.obj, storage.PersistentVolume):
            actions += sync_volume(snapshot, stored, clock)
    return actions


def sync_claim(
    snapshot: Snapshot, stored: Stored, known: Mapping[str, storage.StorageClass],
    default: storage.StorageClass | None, clock: clocks.Clock,
) -> list[Action]:
    pvc = stored.obj
    assert isinstance(pvc, storage.PersistentVolumeClaim)
    if pvc.metadata.deletion_timestamp:
        if claims.in_use(snapshot, pvc):
            return []
        return [Action(ActionKind.DELETE, ObjectRef.of(pvc),
                       f"{objects.describe(pvc)}: no pod uses it any more; deletion complete",
                       expected_revision=stored.mod_revision, source=SOURCE)]
    if pvc.spec.storage_class_name is None and default is not None:
        spec = pvc.spec.model_copy(update={"storage_class_name": default.name})
        return [_write(stored, pvc.model_copy(update={"spec": spec}),
                       f"{objects.describe(pvc)}: default StorageClass {default.name}")]
    volume = claims.bound_volume(snapshot, pvc)
    if volume is not None:
        return _set_status(stored, pvc, "Bound", volume)
    if pvc.spec.volume_name:
        return _set_status(stored, pvc, "Lost", None)
    if waiting_for(snapshot, pvc, dict(known)):
        return _set_status(stored, pvc, "Pending", None)
    return provision(snapshot, stored, pvc, known, clock)


def _builtin_class(snapshot: Snapshot, clock: clocks.Clock) -> Action:
    """k3s's ``local-path`` class, stored as k3s deploys it (Git may declare its own)."""
    made = storage.builtin_local_path()
    meta = made.metadata.model_copy(update={
        "uid": objects.deterministic_uid(snapshot.cluster, made.key, snapshot.revision),
        "creation_timestamp": objects.now_text(clock)})
    made = made.model_copy(update={"metadata": meta})
    return Action(ActionKind.CREATE, ObjectRef.of(made),
                  "the built-in local-path StorageClass (rancher.io/local-path, the default)",
                  obj=made, expected_revision=0, source=SOURCE)


def waiting_for(snapshot: Snapshot, pvc: storage.PersistentVolumeClaim,
                known: dict[str, storage.StorageClass]) -> str:
    """Why an unbound claim is not provisioned now, in the words Kubernetes' events use
    ("" when it can be)."""
    name = pvc.spec.storage_class_name
    found = claims.class_of(pvc, known)
    if not name:
        return ("no StorageClass: a claim with storageClassName \"\" binds only to a volume "
                "made for it, and gitkube makes volumes through a class")
    if found is None:
        return f'storageclass.storage.k8s.io "{name}" not found'
    if not found.local_path:
        return (f"waiting for a volume to be created either by the external provisioner "
                f"'{found.provisioner}' or manually by the system administrator (gitkube "
                "runs only the local-path provisioner: rancher.io/local-path)")
    if pvc.spec.selector is not None:
        return "claim.Spec.Selector is not supported (local-path provisioner)"
    node = pvc.metadata.annotations.get(claims.SELECTED_NODE_ANNOTATION)
    if not node:
        if found.volume_binding_mode == "WaitForFirstConsumer":
            return "waiting for first consumer to be created before binding"
        return ("configuration error, no node was specified (the local-path provisioner "
                "needs volumeBindingMode: WaitForFirstConsumer)")
    target = _node(snapshot, node)
    if target is None:
        return f"the selected node {node} is not in the inventory"
    if not storage_root(found, target):
        return f"waiting for node {node} to report where its agent keeps volumes"
    return ""


def storage_root(cls: storage.StorageClass, node: node_api.Node) -> str:
    """The class's ``nodePath``, else where the node's agent keeps volumes (it says so)."""
    return cls.parameters.get("nodePath") or node.status.node_info.storage_root or ""


def provision(
    snapshot: Snapshot, stored: Stored, pvc: storage.PersistentVolumeClaim,
    known: Mapping[str, storage.StorageClass], clock: clocks.Clock,
) -> list[Action]:
    """``provisionFor`` and the bind: a volume on the selected node, the claim bound to it."""
    cls = known[pvc.spec.storage_class_name or ""]
    node_name = pvc.metadata.annotations[claims.SELECTED_NODE_ANNOTATION]
    node = _node(snapshot, node_name)
    assert node is not None
    name = f"pvc-{pvc.metadata.uid}"
    folder = f"{name}_{pvc.namespace}_{pvc.name}"
    hostname = node.metadata.labels.get(node_api.HOSTNAME_LABEL, node.name)
    term = affinity.NodeSelectorTerm(match_expressions=[affinity.NodeSelectorRequirement(
        key=node_api.HOSTNAME_LABEL, operator="In", values=[hostname])])
    key = keys.object_key(storage.PersistentVolume.plural, "", name)
    volume = storage.PersistentVolume(
        metadata=ObjectMeta(
            name=name, annotations={PROVISIONED_BY: cls.provisioner, LOCAL_PATH_NODE: node_name},
            uid=objects.deterministic_uid(snapshot.cluster, key, snapshot.revision),
            creation_timestamp=objects.now_text(clock)),
        spec=storage.PersistentVolumeSpec(
            capacity={"storage": pvc.spec.resources.requests.get("storage", "0")},
            access_modes=list(pvc.spec.access_modes),
            persistent_volume_reclaim_policy=cls.reclaim_policy,
            storage_class_name=cls.name, volume_mode="Filesystem",
            claim_ref=storage.ObjectReference(
                api_version="v1", kind="PersistentVolumeClaim", namespace=pvc.namespace,
                name=pvc.name, uid=pvc.metadata.uid),
            host_path=pods.HostPathVolumeSource(
                path=posixpath.join(storage_root(cls, node), folder), type="DirectoryOrCreate"),
            node_affinity=storage.VolumeNodeAffinity(
                required=affinity.NodeSelector(node_selector_terms=[term])),
            mount_options=list(cls.mount_options),
        ),
        status=storage.PersistentVolumeStatus(phase="Bound",
                                              last_phase_transition_time=objects.now_text(clock)),
    )
    annotations = {**pvc.metadata.annotations, BIND_COMPLETED: "yes", BOUND_BY_CONTROLLER: "yes",
                   STORAGE_PROVISIONER: cls.provisioner, BETA_STORAGE_PROVISIONER: cls.provisioner}
    bound = pvc.model_copy(update={
        "metadata": pvc.metadata.model_copy(update={"annotations": annotations}),
        "spec": pvc.spec.model_copy(update={"volume_name": name}),
        "status": _claim_status(pvc, "Bound", volume)})
    where = f"{node_name}:{volume.path}"
    return [
        Action(ActionKind.CREATE, ObjectRef.of(volume),
               f"provisioned for {objects.describe(pvc)} at {where}", obj=volume,
               expected_revision=0, source=SOURCE),
        _write(stored, bound, f"{objects.describe(pvc)}: bound to {name} on node/{node_name}"),
    ]


def sync_volume(snapshot: Snapshot, stored: Stored, clock: clocks.Clock) -> list[Action]:
    volume = stored.obj
    assert isinstance(volume, storage.PersistentVolume)
    ref = volume.spec.claim_ref
    pvc = claims.claim(snapshot, ref.namespace or "default", ref.name or "") if ref else None
    if pvc is not None and ref is not None and pvc.metadata.uid == ref.uid:
        return _set_volume_phase(stored, volume, "Bound", None, clock)
    what = f"{ref.namespace}/{ref.name}" if ref is not None else "its claim"
    if volume.spec.persistent_volume_reclaim_policy == "Delete":
        node = volume.metadata.annotations.get(LOCAL_PATH_NODE, "")
        report = snapshot.observed.get(node) or {}
        listed = report.get(REPORT_KEY)
        left = _node(snapshot, node) is None
        gone = listed is not None and volume.path not in listed
        if left or gone:
            why = ("its node left the inventory" if left
                   else f"node/{node} removed {volume.path}")
            # What the node observed is recorded as soon as it says so, as pods' final
            # deletes are (the status step after the converge that removed the directory).
            return [Action(ActionKind.DELETE, ObjectRef.of(volume),
                           f"claim {what} is gone and {why} (reclaimPolicy Delete)",
                           expected_revision=stored.mod_revision, status_only=gone,
                           source=SOURCE)]
    return _set_volume_phase(stored, volume, "Released", f"claim {what} is gone", clock)


def plan_removals(snapshot: Snapshot, node: str) -> list[str]:
    """The volume directories ``node`` should remove: Released volumes of reclaimPolicy
    Delete that live there."""
    out = []
    for volume in snapshot.of_kind(storage.PersistentVolume):
        if (volume.status.phase == "Released"
                and volume.spec.persistent_volume_reclaim_policy == "Delete"
                and volume.metadata.annotations.get(LOCAL_PATH_NODE) == node and volume.path):
            out.append(volume.path)
    return out


def _node(snapshot: Snapshot, name: str) -> node_api.Node | None:
    stored = snapshot.get(keys.object_key(node_api.Node.plural, "", name)) if name else None
    found = stored.obj if stored is not None else None
    return found if isinstance(found, node_api.Node) else None


def _claim_status(pvc: storage.PersistentVolumeClaim, phase: storage.ClaimPhase,
                  volume: storage.PersistentVolume | None
                  ) -> storage.PersistentVolumeClaimStatus:
    if volume is None:
        return pvc.status.model_copy(update={"phase": phase, "access_modes": [],
                                             "capacity": {}})
    return pvc.status.model_copy(update={
        "phase": phase, "access_modes": list(volume.spec.access_modes),
        "capacity": dict(volume.spec.capacity)})


def _set_status(stored: Stored, pvc: storage.PersistentVolumeClaim,
                phase: storage.ClaimPhase, volume: storage.PersistentVolume | None
                ) -> list[Action]:
    status = _claim_status(pvc, phase, volume)
    if status == pvc.status:
        return []
    return [_write(stored, pvc.model_copy(update={"status": status}),
                   f"{objects.describe(pvc)}: {phase}", status_only=True)]


def _set_volume_phase(stored: Stored, volume: storage.PersistentVolume,
                      phase: storage.VolumePhase, message: str | None, clock: clocks.Clock
                      ) -> list[Action]:
    if volume.status.phase == phase and volume.status.message == message:
        return []
    status = volume.status.model_copy(update={
        "phase": phase, "message": message,
        "last_phase_transition_time": objects.now_text(clock)})
    return [_write(stored, volume.model_copy(update={"status": status}),
                   f"{objects.describe(volume)}: {phase}"
                   + (f" ({message})" if message else ""), status_only=True)]


def _write(stored: Stored, obj: Any, reason: str, *, status_only: bool = False) -> Action:
    return Action(ActionKind.UPDATE, ObjectRef.of(obj), reason, obj=obj,
                  expected_revision=stored.mod_revision, status_only=status_only, source=SOURCE)


def keep_bound_fields(declared: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Git's copy of a claim, with what the system set on the stored one kept: the bound
    volume, the default class Git left unset, and the binding annotations."""
    if declared.get("kind") != "PersistentVolumeClaim":
        return declared
    spec = dict(declared.get("spec") or {})
    have = current.get("spec") or {}
    for field in ("volumeName", "storageClassName"):
        if field not in spec and field in have:
            spec[field] = have[field]
    meta = dict(declared.get("metadata") or {})
    kept = {k: v for k, v in ((current.get("metadata") or {}).get("annotations") or {}).items()
            if k.startswith(SYSTEM_PREFIXES)}
    if kept:
        meta["annotations"] = {**kept, **(meta.get("annotations") or {})}
    return {**declared, "spec": spec, "metadata": meta}


def delete_claim(stored: Stored, reason: str, clock: clocks.Clock, source: str) -> Action | None:
    """How a claim is deleted: marked (``deletionTimestamp``) and removed by ``sync_claim``
    once no pod uses it; None when it is already marked."""
    pvc = stored.obj
    if pvc.metadata.deletion_timestamp:
        return None
    data = pvc.to_dict()
    data["metadata"]["deletionTimestamp"] = objects.now_text(clock)
    return Action(ActionKind.UPDATE, ObjectRef.of(pvc), f"{reason} (terminating)",
                  obj=objects.rebuild(pvc, data), expected_revision=stored.mod_revision,
                  source=source)
