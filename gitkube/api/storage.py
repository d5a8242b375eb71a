"""Storage kinds: PersistentVolumeClaim and PersistentVolume (``v1``), StorageClass
(``storage.k8s.io/v1``).

A claim asks for storage; gitkube's volume controller (``controllers/volumes.py``)
provisions it the way k3s's local-path provisioner does: a directory on one node,
recorded in a PersistentVolume whose node affinity ties every later pod of the claim
to that node. A StorageClass names the provisioner; ``local-path`` exists without being
declared and is the default class, as on k3s. Only access modes a single node's disk
can serve are accepted (ReadWriteOnce, ReadWriteOncePod); the check says why the others
are not. PersistentVolumes are made by the provisioner, not written in Git.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from gitkube.api import affinity, errors, fields, names, pods, quantities, selectors, validation
from gitkube.api.meta import KubeModel, KubeObject, ObjectMeta

#: The provisioner gitkube runs, under the name k3s gives it (and gitkube's own).
LOCAL_PATH_PROVISIONERS = frozenset({"rancher.io/local-path", "gitkube.io/local-path"})
DEFAULT_CLASS_NAME = "local-path"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
#: The annotation of the old days, still honoured by Kubernetes.
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
#: Kubernetes' "no class at all": only a PersistentVolume without a class may bind.
NO_PROVISIONER = "kubernetes.io/no-provisioner"

AccessMode = Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
#: What a directory on one node's disk can serve.
LOCAL_ACCESS_MODES = ("ReadWriteOnce", "ReadWriteOncePod")

ClaimPhase = Literal["Pending", "Bound", "Lost"]
VolumePhase = Literal["Pending", "Available", "Bound", "Released", "Failed"]


class VolumeResourceRequirements(KubeModel):
    requests: dict[str, fields.Quantity] = Field(default_factory=dict)
    limits: dict[str, fields.Quantity] = Field(default_factory=dict)


class PersistentVolumeClaimSpec(KubeModel):
    access_modes: list[AccessMode] = Field(default_factory=list)
    resources: VolumeResourceRequirements = Field(default_factory=VolumeResourceRequirements)
    #: Unset: the default class (set when the claim is stored); "": no class at all.
    storage_class_name: str | None = None
    volume_mode: Literal["Filesystem", "Block"] | None = None
    #: The PersistentVolume bound to the claim (set by the volume controller).
    volume_name: str | None = None
    selector: selectors.LabelSelector | None = None


class PersistentVolumeClaimCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None


class PersistentVolumeClaimStatus(KubeModel):
    phase: ClaimPhase | None = None
    access_modes: list[AccessMode] = Field(default_factory=list)
    capacity: dict[str, fields.Quantity] = Field(default_factory=dict)
    conditions: list[PersistentVolumeClaimCondition] = Field(default_factory=list)


class ClaimTemplateMeta(KubeModel):
    """The metadata of a StatefulSet's ``volumeClaimTemplates`` entry."""

    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    #: Only ``null`` in practice: ``kubectl get -o yaml`` writes it.
    creation_timestamp: str | None = None


class PersistentVolumeClaimTemplate(KubeModel):
    """One entry of ``volumeClaimTemplates``: a claim made per StatefulSet pod."""

    api_version: Literal["v1"] | None = None
    kind: Literal["PersistentVolumeClaim"] | None = None
    metadata: ClaimTemplateMeta
    spec: PersistentVolumeClaimSpec
    #: Exports of a live StatefulSet carry ``status: {phase: Pending}``; it means nothing.
    status: PersistentVolumeClaimStatus | None = None


class PersistentVolumeClaim(KubeObject):
    plural: ClassVar[str] = "persistentvolumeclaims"

    api_version: Literal["v1"] = "v1"
    kind: Literal["PersistentVolumeClaim"] = "PersistentVolumeClaim"
    spec: PersistentVolumeClaimSpec
    status: PersistentVolumeClaimStatus = Field(default_factory=PersistentVolumeClaimStatus)

    def check(self) -> list[errors.FieldIssue]:
        return validation.check_metadata(self) + check_claim_spec(self.spec, "spec")

    def requested_bytes(self) -> int:
        return quantities.memory_bytes(self.spec.resources.requests.get("storage", "0"))


def check_claim_spec(spec: PersistentVolumeClaimSpec, path: str) -> list[errors.FieldIssue]:
    """Kubernetes' claim rules, plus what local storage cannot serve, said as such."""
    issues: list[errors.FieldIssue] = []
    modes = spec.access_modes
    if not modes:
        issues.append(errors.FieldIssue(f"{path}.accessModes",
                                        "at least 1 access mode is required (ReadWriteOnce)"))
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        issues.append(errors.FieldIssue(f"{path}.accessModes",
                                        "may not use ReadWriteOncePod with other access modes"))
    for i, mode in enumerate(modes):
        if mode not in LOCAL_ACCESS_MODES:
            issues.append(errors.FieldIssue(f"{path}.accessModes[{i}]", (
                f"{mode} is not possible: gitkube's volumes are directories on one node's local "
                "disk (as k3s's local-path provisioner makes them), which pods on other nodes "
                "cannot reach; use ReadWriteOnce (pods on one node) or ReadWriteOncePod")))
    storage = spec.resources.requests.get("storage")
    if storage is None:
        issues.append(errors.FieldIssue(f"{path}.resources.requests.storage",
                                        "field 'storage' is required (for example 1Gi)"))
    elif quantities.parse_quantity(storage) <= 0:
        issues.append(errors.FieldIssue(f"{path}.resources.requests.storage",
                                        f"must be greater than zero, not {storage}"))
    if spec.volume_mode == "Block":
        issues.append(errors.FieldIssue(f"{path}.volumeMode", (
            "Block is not possible: gitkube's volumes are directories, not block devices; "
            "use Filesystem")))
    if spec.storage_class_name:
        issues += [errors.FieldIssue(f"{path}.storageClassName", p)
                   for p in names.dns1123_subdomain_errors(spec.storage_class_name)]
    if spec.selector is not None:
        issues += selectors.check_selector(spec.selector, f"{path}.selector")
    return issues


class ObjectReference(KubeModel):
    api_version: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    resource_version: str | None = None


class LocalVolumeSource(KubeModel):
    path: str
    fs_type: str | None = None


class VolumeNodeAffinity(KubeModel):
    required: affinity.NodeSelector | None = None


class PersistentVolumeSpec(KubeModel):
    capacity: dict[str, fields.Quantity] = Field(default_factory=dict)
    access_modes: list[AccessMode] = Field(default_factory=list)
    persistent_volume_reclaim_policy: Literal["Retain", "Delete", "Recycle"] = "Retain"
    storage_class_name: str | None = None
    volume_mode: Literal["Filesystem", "Block"] | None = None
    claim_ref: ObjectReference | None = None
    host_path: pods.HostPathVolumeSource | None = None
    local: LocalVolumeSource | None = None
    node_affinity: VolumeNodeAffinity | None = None
    mount_options: list[str] = Field(default_factory=list)


class PersistentVolumeStatus(KubeModel):
    phase: VolumePhase | None = None
    message: str | None = None
    reason: str | None = None
    last_phase_transition_time: str | None = None


class PersistentVolume(KubeObject):
    plural: ClassVar[str] = "persistentvolumes"
    namespaced: ClassVar[bool] = False

    api_version: Literal["v1"] = "v1"
    kind: Literal["PersistentVolume"] = "PersistentVolume"
    spec: PersistentVolumeSpec
    status: PersistentVolumeStatus = Field(default_factory=PersistentVolumeStatus)

    @property
    def path(self) -> str:
        source = self.spec.host_path or self.spec.local
        return source.path if source is not None else ""


class TopologySelectorRequirement(KubeModel):
    key: str
    values: list[str] = Field(default_factory=list)


class TopologySelectorTerm(KubeModel):
    match_label_expressions: list[TopologySelectorRequirement] = Field(default_factory=list)


class StorageClass(KubeObject):
    plural: ClassVar[str] = "storageclasses"
    namespaced: ClassVar[bool] = False

    api_version: Literal["storage.k8s.io/v1"] = "storage.k8s.io/v1"
    kind: Literal["StorageClass"] = "StorageClass"
    provisioner: str
    parameters: dict[str, str] = Field(default_factory=dict)
    reclaim_policy: Literal["Retain", "Delete"] = "Delete"
    volume_binding_mode: Literal["Immediate", "WaitForFirstConsumer"] = "Immediate"
    allow_volume_expansion: bool | None = None
    mount_options: list[str] = Field(default_factory=list)
    allowed_topologies: list[TopologySelectorTerm] = Field(default_factory=list)

    @property
    def is_default(self) -> bool:
        annotations = self.metadata.annotations
        return "true" in (annotations.get(DEFAULT_CLASS_ANNOTATION),
                          annotations.get(BETA_DEFAULT_CLASS_ANNOTATION))

    @property
    def local_path(self) -> bool:
        return self.provisioner in LOCAL_PATH_PROVISIONERS

    def check(self) -> list[errors.FieldIssue]:
        issues = validation.check_metadata(self)
        issues += [errors.FieldIssue("provisioner", p)
                   for p in names.qualified_name_errors(self.provisioner)]
        node_path = self.parameters.get("nodePath")
        if self.local_path and node_path is not None and not node_path.startswith("/"):
            issues.append(errors.FieldIssue("parameters[nodePath]", (
                f"must be an absolute path on the nodes, not {node_path!r}")))
        return issues


def builtin_local_path() -> StorageClass:
    """k3s's ``local-path`` class: the default class of every gitkube cluster, until Git
    declares one of that name (or marks another class default)."""
    return StorageClass(
        metadata=ObjectMeta(name=DEFAULT_CLASS_NAME,
                            annotations={DEFAULT_CLASS_ANNOTATION: "true"}),
        provisioner="rancher.io/local-path", reclaim_policy="Delete",
        volume_binding_mode="WaitForFirstConsumer",
    )


def claim_template_dict(template: PersistentVolumeClaimTemplate) -> dict[str, Any]:
    """A template as the JSON of the claim it makes (no status)."""
    data = template.to_dict()
    data.pop("status", None)
    data.pop("apiVersion", None)
    data.pop("kind", None)
    return data
