"""The pod spec: containers (and init containers), their environment, ports, resources,
volumes, tolerations.

Pods, and the templates of Deployments and ReplicaSets, share these models; the
scheduler reads resources, node selectors and tolerations from them, and the node
agent's requests are lowered from them. Only what gitkube implements is modelled:
any other Kubernetes field is rejected by name (``extra="forbid"``), never dropped.
Defaults follow Kubernetes (imagePullPolicy from the image tag, requests from limits).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from gitkube.api import fields
from gitkube.api.affinity import Affinity, TopologySpreadConstraint
from gitkube.api.lifecycle import Lifecycle
from gitkube.api.meta import KubeModel
from gitkube.api.probes import Probe
from gitkube.api.security import PodSecurityContext, SecurityContext


class ConfigMapKeySelector(KubeModel):
    name: str
    key: str
    optional: bool | None = None


class SecretKeySelector(KubeModel):
    name: str
    key: str
    optional: bool | None = None


class ObjectFieldSelector(KubeModel):
    field_path: str
    api_version: str | None = None


class ResourceFieldSelector(KubeModel):
    """A container's request or limit (``limits.cpu``...), in units of ``divisor``."""

    resource: str
    #: Required in volumes; in env it defaults to the container itself.
    container_name: str | None = None
    divisor: fields.Quantity | None = None


class EnvVarSource(KubeModel):
    config_map_key_ref: ConfigMapKeySelector | None = None
    secret_key_ref: SecretKeySelector | None = None
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None


class EnvVar(KubeModel):
    name: str
    value: str | None = None
    value_from: EnvVarSource | None = None


class ConfigMapEnvSource(KubeModel):
    name: str
    optional: bool | None = None


class SecretEnvSource(KubeModel):
    name: str
    optional: bool | None = None


class EnvFromSource(KubeModel):
    prefix: str | None = None
    config_map_ref: ConfigMapEnvSource | None = None
    secret_ref: SecretEnvSource | None = None


class ContainerPort(KubeModel):
    container_port: fields.Int32 = Field(ge=1, le=65535)
    #: 0 or unset: not published on the node.
    host_port: fields.Int32 | None = Field(default=None, ge=0, le=65535)
    host_ip: str | None = Field(default=None, alias="hostIP")
    protocol: Literal["TCP", "UDP"] = "TCP"
    name: str | None = None


class ResourceRequirements(KubeModel):
    requests: dict[str, fields.Quantity] = Field(default_factory=dict)
    limits: dict[str, fields.Quantity] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _requests_default_to_limits(self) -> ResourceRequirements:
        # Kubernetes: a limit without a request requests the limit.
        for name, limit in self.limits.items():
            self.requests.setdefault(name, limit)
        return self


class VolumeMount(KubeModel):
    name: str
    mount_path: str
    read_only: bool = False
    sub_path: str | None = None


class KeyToPath(KubeModel):
    key: str
    path: str
    mode: fields.Int32 | None = Field(default=None, ge=0, le=0o777)


class ConfigMapVolumeSource(KubeModel):
    name: str
    items: list[KeyToPath] = Field(default_factory=list)
    default_mode: fields.Int32 | None = Field(default=None, ge=0, le=0o777)
    optional: bool | None = None


class SecretVolumeSource(KubeModel):
    secret_name: str
    items: list[KeyToPath] = Field(default_factory=list)
    default_mode: fields.Int32 | None = Field(default=None, ge=0, le=0o777)
    optional: bool | None = None


class EmptyDirVolumeSource(KubeModel):
    #: "" (node disk) or "Memory" (tmpfs).
    medium: Literal["", "Memory"] | None = None
    size_limit: fields.Quantity | None = None


HostPathType = Literal["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                       "CharDevice", "BlockDevice"]


class HostPathVolumeSource(KubeModel):
    """A file or directory of the node, bind-mounted as it is (kubelet checks ``type``)."""

    path: str
    type: HostPathType | None = None


class DownwardAPIVolumeFile(KubeModel):
    """One file of a downwardAPI volume: a pod field or a container's request or limit."""

    path: str
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    mode: fields.Int32 | None = Field(default=None, ge=0, le=0o777)


class DownwardAPIVolumeSource(KubeModel):
    items: list[DownwardAPIVolumeFile] = Field(default_factory=list)
    default_mode: fields.Int32 | None = Field(default=None, ge=0, le=0o777)


class PersistentVolumeClaimVolumeSource(KubeModel):
    """A claim of the pod's namespace; the pod runs where its volume is (``storage.py``)."""

    claim_name: str
    read_only: bool = False


class Volume(KubeModel):
    name: str
    config_map: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None
    empty_dir: EmptyDirVolumeSource | None = None
    #: Files kept up to date in place, like ConfigMap volumes (labels, annotations...).
    downward_api: DownwardAPIVolumeSource | None = Field(default=None, alias="downwardAPI")
    persistent_volume_claim: PersistentVolumeClaimVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None


class Toleration(KubeModel):
    key: str | None = None
    #: Gt/Lt compare integers: tolerated when the taint's value is greater/less.
    operator: Literal["Exists", "Equal", "Gt", "Lt"] = "Equal"
    value: str | None = None
    #: Unset: tolerates every effect.
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: fields.Int64 | None = None

    def tolerates(self, key: str, value: str | None, effect: str) -> bool:
        """Whether this toleration matches a taint (Kubernetes' ToleratesTaint)."""
        if self.effect and self.effect != effect:
            return False
        if self.key and self.key != key:
            return False
        if self.operator == "Exists":
            return True
        if self.operator in ("Gt", "Lt"):
            return compare_toleration(self.operator, self.value or "", value or "")
        return (self.value or "") == (value or "")


def compare_toleration(operator: str, toleration_value: str, taint_value: str) -> bool:
    """Gt: the taint's integer value is greater than the toleration's; Lt: less. A value
    that is not a decimal integer (no leading zeros) tolerates nothing."""
    if not (_DECIMAL.fullmatch(toleration_value) and _DECIMAL.fullmatch(taint_value)):
        return False
    wanted, actual = int(toleration_value), int(taint_value)
    return actual > wanted if operator == "Gt" else actual < wanted


_DECIMAL = re.compile(r"0|-?[1-9][0-9]*")


PullPolicy = Literal["Always", "IfNotPresent", "Never"]


class Container(KubeModel):
    name: str
    image: str
    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    working_dir: str | None = None
    env: list[EnvVar] = Field(default_factory=list)
    env_from: list[EnvFromSource] = Field(default_factory=list)
    ports: list[ContainerPort] = Field(default_factory=list)
    resources: ResourceRequirements = Field(default_factory=ResourceRequirements)
    volume_mounts: list[VolumeMount] = Field(default_factory=list)
    #: Defaulted from the image as Kubernetes does (see ``default_pull_policy``).
    image_pull_policy: PullPolicy | None = None
    #: Run by the node's supervisor (see ``probes.py``).
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    #: Init containers only: Always makes a sidecar (KEP-753), started before the app
    #: containers and kept running beside them.
    restart_policy: Literal["Always"] | None = None
    #: Wins over the pod's, field by field (see ``security.py``).
    security_context: SecurityContext | None = None
    #: postStart and preStop hooks, run by the node agent (see ``lifecycle.py``).
    lifecycle: Lifecycle | None = None

    @model_validator(mode="after")
    def _default_pull_policy(self) -> Container:
        if self.image_pull_policy is None:
            self.image_pull_policy = default_pull_policy(self.image)
        return self


def image_tag(image: str) -> str:
    """The tag of an image reference, "" when it has none (a registry port is not a tag)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def default_pull_policy(image: str) -> PullPolicy:
    """Always for ``:latest`` or no tag; IfNotPresent otherwise (a digest counts as a tag)."""
    tag = image_tag(image)
    if tag == "latest" or (not tag and "@" not in image):
        return "Always"
    return "IfNotPresent"


class PodDNSConfigOption(KubeModel):
    name: str
    value: str | None = None


class PodDNSConfig(KubeModel):
    """Extra resolv.conf settings; with dnsPolicy None, the whole of it."""

    nameservers: list[str] = Field(default_factory=list)
    searches: list[str] = Field(default_factory=list)
    options: list[PodDNSConfigOption] = Field(default_factory=list)


DNSPolicy = Literal["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]


class PodSpec(KubeModel):
    #: Run in order, each to completion (a sidecar: until started), before ``containers``.
    init_containers: list[Container] = Field(default_factory=list)
    containers: list[Container] = Field(min_length=1)
    restart_policy: Literal["Always", "OnFailure", "Never"] = "Always"
    node_name: str | None = None
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    volumes: list[Volume] = Field(default_factory=list)
    termination_grace_period_seconds: fields.Int64 = Field(default=30, ge=0)
    #: The pod's host name (default: its name); with ``subdomain`` naming a headless
    #: Service of its namespace, DNS answers <hostname>.<subdomain>.<ns>.svc.<domain>.
    hostname: str | None = None
    subdomain: str | None = None
    #: Unset means true: each container gets <SVC>_SERVICE_HOST/_PORT and the Docker link
    #: variables of the Services of its namespace (kubelet's enableServiceLinks).
    enable_service_links: bool | None = None
    #: The ServiceAccount the pod runs as (``accounts.account_of``: default ``default``);
    #: ``serviceAccount`` is its deprecated spelling, which Kubernetes still reads.
    service_account_name: str | None = None
    service_account: str | None = None
    #: Accepted; no token is mounted either way (gitkube has no API for one: ``accounts``).
    automount_service_account_token: bool | None = None
    priority: fields.Int32 | None = None
    #: Resolved to a priority by the scheduler (see ``scheduling.py``).
    priority_class_name: str | None = None
    affinity: Affinity | None = None
    topology_spread_constraints: list[TopologySpreadConstraint] = Field(
        default_factory=list
    )
    security_context: PodSecurityContext | None = None
    #: Unset means ClusterFirst, which behaves as Default until gitkube has a cluster DNS
    #: (left unset rather than defaulted, so pods written before it keep their spec hash).
    dns_policy: DNSPolicy | None = None
    dns_config: PodDNSConfig | None = None


class PodTemplateMeta(KubeModel):
    """The metadata a pod template may carry: what its pods are labelled and annotated with."""

    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    #: Only ``null`` in practice: ``kubectl create --dry-run=client -o yaml`` writes it.
    creation_timestamp: str | None = None
    #: Ignored, as Kubernetes ignores it: pods are named by their controller.
    name: str | None = None


class PodTemplateSpec(KubeModel):
    metadata: PodTemplateMeta = Field(default_factory=PodTemplateMeta)
    spec: PodSpec
