"""StatefulSet (``apps/v1``): pods with stable names, stable storage and an order.

Pod ``<set>-<ordinal>`` keeps its name, its host name (``<pod>.<serviceName>``, the
headless Service's DNS) and its claims (``<template>-<set>-<ordinal>``, made from
``volumeClaimTemplates``) across restarts, rescheduling and upgrades. The controller
(``controllers/statefulsets.py``) creates pods in ordinal order, each once the one
before is Running and Ready (``OrderedReady``, the default) or all at once
(``Parallel``), and rolls a new template from the highest ordinal down to
``partition``. Defaults and rules are Kubernetes'.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from gitkube.api import errors, fields, names, pods, selectors, storage, validation
from gitkube.api.apps import check_workload
from gitkube.api.meta import KubeModel, KubeObject
from gitkube.api.pods import PodTemplateSpec

RetentionPolicy = Literal["Retain", "Delete"]


class RollingUpdateStatefulSetStrategy(KubeModel):
    #: Pods with an ordinal below this keep the current revision.
    partition: fields.Int32 = Field(default=0, ge=0)
    #: How many pods the update may take down at once (Kubernetes' MaxUnavailableStatefulSet).
    max_unavailable: fields.IntOrPercent | None = None


class StatefulSetUpdateStrategy(KubeModel):
    type: Literal["RollingUpdate", "OnDelete"] = "RollingUpdate"
    rolling_update: RollingUpdateStatefulSetStrategy | None = None


class PersistentVolumeClaimRetentionPolicy(KubeModel):
    when_deleted: RetentionPolicy = "Retain"
    when_scaled: RetentionPolicy = "Retain"


class StatefulSetOrdinals(KubeModel):
    start: fields.Int32 = Field(default=0, ge=0)


class StatefulSetSpec(KubeModel):
    replicas: fields.Int32 = Field(default=1, ge=0)
    selector: selectors.LabelSelector
    template: PodTemplateSpec
    volume_claim_templates: list[storage.PersistentVolumeClaimTemplate] = Field(
        default_factory=list)
    #: The headless Service giving the pods their DNS names (``<pod>.<serviceName>``).
    service_name: str | None = None
    pod_management_policy: Literal["OrderedReady", "Parallel"] = "OrderedReady"
    update_strategy: StatefulSetUpdateStrategy = Field(default_factory=StatefulSetUpdateStrategy)
    revision_history_limit: fields.Int32 = Field(default=10, ge=0)
    min_ready_seconds: fields.Int32 = Field(default=0, ge=0)
    persistent_volume_claim_retention_policy: PersistentVolumeClaimRetentionPolicy = Field(
        default_factory=PersistentVolumeClaimRetentionPolicy)
    ordinals: StatefulSetOrdinals | None = None


class StatefulSetCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None


class StatefulSetStatus(KubeModel):
    observed_generation: int | None = None
    replicas: int = 0
    ready_replicas: int = 0
    current_replicas: int = 0
    updated_replicas: int = 0
    available_replicas: int = 0
    current_revision: str | None = None
    update_revision: str | None = None
    collision_count: int | None = None
    conditions: list[StatefulSetCondition] = Field(default_factory=list)


#: The longest StatefulSet name whose pods' ``controller-revision-hash`` label (the name of
#: the ControllerRevision, ``<name>-<hash>``) is a valid label value.
NAME_MAX = names.LABEL_MAX - 11


class StatefulSet(KubeObject):
    plural: ClassVar[str] = "statefulsets"

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["StatefulSet"] = "StatefulSet"
    spec: StatefulSetSpec
    status: StatefulSetStatus = Field(default_factory=StatefulSetStatus)

    @property
    def start_ordinal(self) -> int:
        return self.spec.ordinals.start if self.spec.ordinals is not None else 0

    def check(self) -> list[errors.FieldIssue]:
        spec = self.spec
        issues = validation.check_metadata(self)
        if len(self.name) > NAME_MAX:
            issues.append(errors.FieldIssue("metadata.name", (
                f"must be no more than {NAME_MAX} characters: the StatefulSet's pods are "
                "labelled controller-revision-hash=<name>-<hash>, up to 11 characters more, "
                f"and a label value must fit in {names.LABEL_MAX} (Kubernetes fails to create "
                "such pods)")))
        # Mounts may name a claim template: the pods get a volume of that name.
        template = with_claims(spec.template, {c.metadata.name: "" for c in
                                               spec.volume_claim_templates})
        issues += check_workload(spec.selector, template, "statefulset")
        if spec.service_name:
            issues += [errors.FieldIssue("spec.serviceName", p)
                       for p in names.dns1123_label_errors(spec.service_name)]
        issues += _check_update_strategy(spec.update_strategy)
        seen: set[str] = set()
        for i, claim in enumerate(spec.volume_claim_templates):
            where = f"spec.volumeClaimTemplates[{i}]"
            issues += [errors.FieldIssue(f"{where}.metadata.name", p)
                       for p in names.dns1123_subdomain_errors(claim.metadata.name)]
            if claim.metadata.name in seen:
                issues.append(errors.FieldIssue(f"{where}.metadata.name",
                                                f"Duplicate value: {claim.metadata.name!r}"))
            seen.add(claim.metadata.name)
            issues += validation.check_labels(f"{where}.metadata.labels", claim.metadata.labels)
            issues += storage.check_claim_spec(claim.spec, f"{where}.spec")
        return issues


def _check_update_strategy(strategy: StatefulSetUpdateStrategy) -> list[errors.FieldIssue]:
    path = "spec.updateStrategy.rollingUpdate"
    update = strategy.rolling_update
    if update is None:
        return []
    if strategy.type == "OnDelete":
        return [errors.FieldIssue(path, "only allowed for updateStrategy 'RollingUpdate'")]
    value = update.max_unavailable
    if value is None:
        return []
    if value in (0, "0%") or (isinstance(value, int) and value < 0):
        return [errors.FieldIssue(f"{path}.maxUnavailable", "must be greater than 0")]
    if isinstance(value, str) and int(value.rstrip("%")) > 100:
        return [errors.FieldIssue(f"{path}.maxUnavailable", "must not be greater than 100%")]
    return []


def with_claims(template: PodTemplateSpec, claims: dict[str, str]) -> PodTemplateSpec:
    """``template`` whose volumes are one ``persistentVolumeClaim`` volume per claim template
    (volume name → claim name), then its own volumes of other names (``updateStorage``)."""
    if not claims:
        return template
    volumes = [pods.Volume(name=name, persistent_volume_claim=(
        pods.PersistentVolumeClaimVolumeSource(claim_name=claim or name)))
        for name, claim in claims.items()]
    volumes += [v for v in template.spec.volumes if v.name not in claims]
    spec = template.spec.model_copy(update={"volumes": volumes})
    return template.model_copy(update={"spec": spec})


def max_unavailable(sts: StatefulSet) -> int:
    """``getStatefulSetMaxUnavailable``: 1 unless said otherwise, a percentage rounded down
    but never below 1."""
    update = sts.spec.update_strategy.rolling_update
    value = update.max_unavailable if update is not None else None
    if value is None:
        return 1
    return max(fields.scaled_value(value, sts.spec.replicas, round_up=False), 1)


def partition(sts: StatefulSet) -> int:
    update = sts.spec.update_strategy.rolling_update
    return update.partition if update is not None else 0
