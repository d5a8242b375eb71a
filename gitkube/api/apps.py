"""Workload kinds (apiVersion ``apps/v1``): Deployment and ReplicaSet.

A Deployment owns ReplicaSets (one per pod template, named by ``hashing.pod_template_hash``)
and a ReplicaSet owns Pods; the controllers in ``gitkube/controllers/`` drive both.
Defaults are Kubernetes' (1 replica, RollingUpdate 25%/25%, 10 old ReplicaSets kept,
600 s progress deadline), so a manifest behaves as it would on a real cluster.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from gitkube.api import errors, fields, names, pod_checks, selectors, validation
from gitkube.api.meta import KubeModel, KubeObject
from gitkube.api.pods import PodTemplateSpec

ConditionStatus = Literal["True", "False", "Unknown"]


class RollingUpdateDeployment(KubeModel):
    max_surge: fields.IntOrPercent = "25%"
    max_unavailable: fields.IntOrPercent = "25%"


class DeploymentStrategy(KubeModel):
    type: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    rolling_update: RollingUpdateDeployment | None = None

    @model_validator(mode="after")
    def _default_rolling_update(self) -> DeploymentStrategy:
        if self.type == "RollingUpdate" and self.rolling_update is None:
            self.rolling_update = RollingUpdateDeployment()
        return self


class DeploymentSpec(KubeModel):
    replicas: fields.Int32 = Field(default=1, ge=0)
    selector: selectors.LabelSelector
    template: PodTemplateSpec
    strategy: DeploymentStrategy = Field(default_factory=DeploymentStrategy)
    min_ready_seconds: fields.Int32 = Field(default=0, ge=0)
    revision_history_limit: fields.Int32 = Field(default=10, ge=0)
    progress_deadline_seconds: fields.Int32 = Field(default=600, ge=1)
    paused: bool = False


class DeploymentCondition(KubeModel):
    #: Available, Progressing, ReplicaFailure.
    type: str
    status: ConditionStatus
    reason: str | None = None
    message: str | None = None
    last_update_time: str | None = None
    last_transition_time: str | None = None


class DeploymentStatus(KubeModel):
    observed_generation: int | None = None
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    unavailable_replicas: int = 0
    conditions: list[DeploymentCondition] = Field(default_factory=list)
    collision_count: int | None = None


#: The longest Deployment name whose ReplicaSet names (``<name>-<hash>``, the hash at most
#: 10 characters) are valid. Kubernetes accepts a longer one and then fails to create its
#: ReplicaSet; gitkube refuses it at validate instead.
NAME_MAX = names.SUBDOMAIN_MAX - 11


class Deployment(KubeObject):
    plural: ClassVar[str] = "deployments"

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["Deployment"] = "Deployment"
    spec: DeploymentSpec
    status: DeploymentStatus = Field(default_factory=DeploymentStatus)

    def check(self) -> list[errors.FieldIssue]:
        spec = self.spec
        issues = validation.check_metadata(self)
        if len(self.name) > NAME_MAX:
            issues.append(errors.FieldIssue("metadata.name", (
                f"must be no more than {NAME_MAX} characters: the Deployment's ReplicaSets are "
                "named <name>-<pod-template-hash>, up to 11 characters more, and a ReplicaSet's "
                f"name must fit in {names.SUBDOMAIN_MAX}")))
        issues += check_workload(spec.selector, spec.template, "deployment")
        strategy = spec.strategy
        if strategy.type == "Recreate" and strategy.rolling_update is not None:
            issues.append(errors.FieldIssue(
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'"))
        elif strategy.rolling_update is not None:
            issues += _check_rolling_update(strategy.rolling_update)
        return issues


def _check_rolling_update(update: RollingUpdateDeployment) -> list[errors.FieldIssue]:
    path = "spec.strategy.rollingUpdate"
    issues = []
    for name, value in (("maxSurge", update.max_surge),
                        ("maxUnavailable", update.max_unavailable)):
        if isinstance(value, int) and value < 0:
            issues.append(errors.FieldIssue(f"{path}.{name}",
                                            "must be greater than or equal to 0"))
    unavailable = update.max_unavailable
    if isinstance(unavailable, str) and int(unavailable.rstrip("%")) > 100:
        issues.append(errors.FieldIssue(f"{path}.maxUnavailable",
                                        "must not be greater than 100%"))
    if fields.scaled_value(update.max_surge, 100, round_up=True) == 0 and (
        fields.scaled_value(unavailable, 100, round_up=False) == 0
    ):
        issues.append(errors.FieldIssue(f"{path}.maxUnavailable",
                                        "may not be 0 when `maxSurge` is 0"))
    return issues


def resolve_fenceposts(
    update: RollingUpdateDeployment, desired: int
) -> tuple[int, int]:
    """(max surge, max unavailable) in pods, as Kubernetes' ResolveFenceposts.

    Surge rounds up and unavailability rounds down; if both come out 0, one pod may
    be unavailable so that a rollout can make progress.
    """
    surge = fields.scaled_value(update.max_surge, desired, round_up=True)
    unavailable = fields.scaled_value(update.max_unavailable, desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def check_workload(
    selector: selectors.LabelSelector, template: PodTemplateSpec, kind: str
) -> list[errors.FieldIssue]:
    """Selector, template labels and pod spec of a Deployment or ReplicaSet."""
    issues = selectors.check_selector(selector, "spec.selector")
    if selector.empty:
        issues.append(errors.FieldIssue("spec.selector", f"empty selector is invalid for {kind}"))
    labels = template.metadata.labels
    issues += validation.check_labels("spec.template.metadata.labels", labels)
    issues += validation.check_annotations("spec.template.metadata.annotations",
                                           template.metadata.annotations)
    if not selector.empty and not selector.matches(labels):
        issues.append(errors.FieldIssue(
            "spec.template.metadata.labels",
            f"`selector` does not match template `labels` (selector: {selector}; labels: "
            + (",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "none") + ")"))
    if template.spec.restart_policy != "Always":
        issues.append(errors.FieldIssue(
            "spec.template.spec.restartPolicy",
            f"unsupported value {template.spec.restart_policy!r}: supported values are "
            "'Always'"))
    issues += pod_checks.check_pod_spec(template.spec, "spec.template.spec")
    return issues


class ReplicaSetSpec(KubeModel):
    replicas: fields.Int32 = Field(default=1, ge=0)
    selector: selectors.LabelSelector
    template: PodTemplateSpec
    min_ready_seconds: fields.Int32 = Field(default=0, ge=0)


class ReplicaSetCondition(KubeModel):
    type: str
    status: ConditionStatus
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None


class ReplicaSetStatus(KubeModel):
    replicas: int = 0
    fully_labeled_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    observed_generation: int | None = None
    conditions: list[ReplicaSetCondition] = Field(default_factory=list)


class ReplicaSet(KubeObject):
    plural: ClassVar[str] = "replicasets"

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["ReplicaSet"] = "ReplicaSet"
    spec: ReplicaSetSpec
    status: ReplicaSetStatus = Field(default_factory=ReplicaSetStatus)

    def check(self) -> list[errors.FieldIssue]:
        issues = validation.check_metadata(self)
        return issues + check_workload(self.spec.selector, self.spec.template, "replicaset")
