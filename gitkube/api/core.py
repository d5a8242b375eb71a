"""Core kinds (apiVersion ``v1``): Namespace, Pod, ConfigMap, Secret.

Pods are what the scheduler binds and the node agent runs; ConfigMaps and Secrets
feed their environment and files. The pod spec's parts live in ``pods.py`` and are
re-exported here, so ``core.Container`` and ``core.PodSpec`` read naturally.
Rules beyond field types are each kind's ``check()``, run by ``registry.parse_object``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import ClassVar, Literal

from pydantic import Field

from gitkube.api import errors, names, pod_checks, validation
from gitkube.api.meta import KubeModel, KubeObject
from gitkube.api.pods import (
    ConfigMapEnvSource,
    ConfigMapKeySelector,
    ConfigMapVolumeSource,
    Container,
    ContainerPort,
    EmptyDirVolumeSource,
    EnvFromSource,
    EnvVar,
    EnvVarSource,
    KeyToPath,
    ObjectFieldSelector,
    PodSpec,
    PodTemplateMeta,
    PodTemplateSpec,
    ResourceRequirements,
    SecretEnvSource,
    SecretKeySelector,
    SecretVolumeSource,
    Toleration,
    Volume,
    VolumeMount,
)

__all__ = [
    "ConfigMap", "ConfigMapEnvSource", "ConfigMapKeySelector", "ConfigMapVolumeSource",
    "Container", "ContainerPort", "ContainerState", "ContainerStateRunning",
    "ContainerStateTerminated", "ContainerStateWaiting", "ContainerStatus",
    "EmptyDirVolumeSource", "EnvFromSource", "EnvVar", "EnvVarSource", "KeyToPath",
    "Namespace", "NamespaceStatus", "ObjectFieldSelector", "Pod", "PodCondition", "PodSpec",
    "PodStatus", "PodTemplateMeta", "PodTemplateSpec", "ResourceRequirements", "Secret",
    "SecretEnvSource", "SecretKeySelector", "SecretVolumeSource", "Toleration", "Volume",
    "VolumeMount",
]

#: Kubernetes' limit on the data of one ConfigMap or Secret.
DATA_MAX_BYTES = 1024 * 1024

ConditionStatus = Literal["True", "False", "Unknown"]


class NamespaceStatus(KubeModel):
    phase: Literal["Active", "Terminating"] | None = None


class Namespace(KubeObject):
    plural: ClassVar[str] = "namespaces"
    namespaced: ClassVar[bool] = False

    api_version: Literal["v1"] = "v1"
    kind: Literal["Namespace"] = "Namespace"
    status: NamespaceStatus | None = None

    def check(self) -> list[errors.FieldIssue]:
        return validation.check_metadata(self, name_is_label=True)


class ContainerStateRunning(KubeModel):
    started_at: str | None = None


class ContainerStateWaiting(KubeModel):
    reason: str | None = None
    message: str | None = None


class ContainerStateTerminated(KubeModel):
    exit_code: int
    signal: int | None = None
    reason: str | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    container_id: str | None = Field(default=None, alias="containerID")


class ContainerState(KubeModel):
    """At most one of the three is set; none means the state is not known."""

    running: ContainerStateRunning | None = None
    waiting: ContainerStateWaiting | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(KubeModel):
    name: str
    ready: bool = False
    restart_count: int = 0
    image: str = ""
    image_id: str | None = Field(default=None, alias="imageID")
    container_id: str | None = Field(default=None, alias="containerID")
    started: bool | None = None
    state: ContainerState = Field(default_factory=ContainerState)
    last_state: ContainerState = Field(default_factory=ContainerState)


class PodCondition(KubeModel):
    #: PodScheduled, Initialized, ContainersReady, Ready.
    type: str
    status: ConditionStatus
    reason: str | None = None
    message: str | None = None
    last_probe_time: str | None = None
    last_transition_time: str | None = None


class PodStatus(KubeModel):
    phase: Literal["Pending", "Running", "Succeeded", "Failed", "Unknown"] = "Pending"
    conditions: list[PodCondition] = Field(default_factory=list)
    #: In spec order, present once the pod's node reported it (pods with init containers).
    init_container_statuses: list[ContainerStatus] = Field(default_factory=list)
    container_statuses: list[ContainerStatus] = Field(default_factory=list)
    pod_ip: str | None = Field(default=None, alias="podIP")
    host_ip: str | None = Field(default=None, alias="hostIP")
    start_time: str | None = None
    message: str | None = None
    reason: str | None = None
    #: The node a preempting pod waits for while its victims terminate (set by the scheduler).
    nominated_node_name: str | None = None

    def condition(self, type_: str) -> PodCondition | None:
        return next((c for c in self.conditions if c.type == type_), None)


class Pod(KubeObject):
    plural: ClassVar[str] = "pods"

    api_version: Literal["v1"] = "v1"
    kind: Literal["Pod"] = "Pod"
    spec: PodSpec
    status: PodStatus = Field(default_factory=PodStatus)

    def check(self) -> list[errors.FieldIssue]:
        return validation.check_metadata(self) + pod_checks.check_pod_spec(self.spec, "spec")


def _check_keys(path: str, keys: list[str], seen: set[str]) -> list[errors.FieldIssue]:
    issues = []
    for key in keys:
        where = errors.child(path, key)
        issues += [errors.FieldIssue(where, p) for p in names.config_map_key_errors(key)]
        if key in seen:
            issues.append(errors.FieldIssue(
                where, f"duplicate key {key!r}: a key may appear in only one of the data fields"))
        seen.add(key)
    return issues


def _check_base64(path: str, data: dict[str, str]) -> tuple[list[errors.FieldIssue], int]:
    """Issues of values that are not base64, and the decoded size of those that are."""
    issues, size = [], 0
    for key, value in data.items():
        try:
            size += len(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            issues.append(errors.FieldIssue(
                errors.child(path, key),
                "is not valid base64; encode the value (base64 -w0) or put it under "
                "stringData instead"))
    return issues, size


def _size_issue(path: str, size: int) -> list[errors.FieldIssue]:
    if size <= DATA_MAX_BYTES:
        return []
    return [errors.FieldIssue(path, f"Too long: the data is {size} bytes; it must have at most "
                                    f"{DATA_MAX_BYTES} bytes")]


class ConfigMap(KubeObject):
    plural: ClassVar[str] = "configmaps"

    api_version: Literal["v1"] = "v1"
    kind: Literal["ConfigMap"] = "ConfigMap"
    data: dict[str, str] = Field(default_factory=dict)
    #: base64 of arbitrary bytes.
    binary_data: dict[str, str] = Field(default_factory=dict)
    immutable: bool | None = None

    def check(self) -> list[errors.FieldIssue]:
        seen: set[str] = set()
        issues = validation.check_metadata(self)
        issues += _check_keys("data", list(self.data), seen)
        issues += _check_keys("binaryData", list(self.binary_data), seen)
        binary_issues, binary_size = _check_base64("binaryData", self.binary_data)
        size = sum(len(v.encode()) for v in self.data.values()) + binary_size
        return issues + binary_issues + _size_issue("data", size)


#: Secret types Kubernetes checks, with the keys each requires; any other type is accepted
#: as an opaque label (Kubernetes accepts any string, e.g. ``helm.sh/release.v1``).
SECRET_TYPES: dict[str, tuple[str, ...]] = {
    "Opaque": (),
    "kubernetes.io/basic-auth": (),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/service-account-token": (),
}
#: The annotation a service-account-token Secret must carry (the account it is for).
SERVICE_ACCOUNT_NAME_ANNOTATION = "kubernetes.io/service-account.name"


class Secret(KubeObject):
    plural: ClassVar[str] = "secrets"

    api_version: Literal["v1"] = "v1"
    kind: Literal["Secret"] = "Secret"
    type: str = "Opaque"
    #: base64 values.
    data: dict[str, str] = Field(default_factory=dict)
    #: Plain values; Kubernetes merges them into ``data`` (they win on the same key).
    string_data: dict[str, str] = Field(default_factory=dict)
    immutable: bool | None = None

    def decoded(self) -> dict[str, bytes]:
        """Every key's bytes: ``data`` decoded, then ``stringData`` on top."""
        out = {key: base64.b64decode(value) for key, value in self.data.items()}
        out.update({key: value.encode() for key, value in self.string_data.items()})
        return out

    def check(self) -> list[errors.FieldIssue]:
        issues = validation.check_metadata(self)
        issues += _check_keys("data", list(self.data), set())
        issues += _check_keys("stringData", list(self.string_data), set())
        data_issues, size = _check_base64("data", self.data)
        issues += data_issues
        size += sum(len(v.encode()) for k, v in self.string_data.items() if k not in self.data)
        issues += _size_issue("data", size)
        keys = set(self.data) | set(self.string_data)
        for key in SECRET_TYPES.get(self.type, ()):
            if key not in keys:
                issues.append(errors.FieldIssue(
                    errors.child("data", key),
                    f"key {key!r} is required for a Secret of type {self.type}"))
        if (self.type == "kubernetes.io/service-account-token"
                and not self.metadata.annotations.get(SERVICE_ACCOUNT_NAME_ANNOTATION)):
            issues.append(errors.FieldIssue(
                errors.child("metadata.annotations", SERVICE_ACCOUNT_NAME_ANNOTATION),
                "is required for a Secret of type kubernetes.io/service-account-token: the "
                "name of the ServiceAccount the token is for"))
        if self.type == "kubernetes.io/basic-auth" and not keys & {"username", "password"}:
            issues.append(errors.FieldIssue(
                "data", "a kubernetes.io/basic-auth Secret needs a 'username' or 'password' key"))
        json_key = {"kubernetes.io/dockerconfigjson": ".dockerconfigjson",
                    "kubernetes.io/dockercfg": ".dockercfg"}.get(self.type)
        if json_key and json_key in keys and not data_issues:
            issues += _check_json(self, json_key)
        return issues


def _check_json(secret: Secret, key: str) -> list[errors.FieldIssue]:
    """Kubernetes requires a docker config Secret's key to hold a JSON object."""
    field = "stringData" if key in secret.string_data else "data"
    try:
        parsed = json.loads(secret.decoded()[key])
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json can read
        parsed = None
    if isinstance(parsed, dict):
        return []
    return [errors.FieldIssue(errors.child(field, key), (
        f"must be a JSON object (the content of a docker config file) for a Secret of type "
        f"{secret.type}"))]
