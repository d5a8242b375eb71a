"""DaemonSet (``apps/v1``): one pod on every node that should run it.

The DaemonSet controller (``controllers/daemonsets.py``) decides which nodes those are
as Kubernetes does (the template's node selector, required node affinity and taints,
with the tolerations it adds to every daemon pod), makes the pods and rolls them to a
new template with RollingUpdate (``maxUnavailable`` 1, ``maxSurge`` 0 by default) or
waits for each to be deleted (OnDelete). Defaults and rules are Kubernetes'.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from gitkube.api import errors, fields, selectors, validation
from gitkube.api.apps import check_workload
from gitkube.api.meta import KubeModel, KubeObject
from gitkube.api.pods import PodTemplateSpec


class RollingUpdateDaemonSet(KubeModel):
    max_unavailable: fields.IntOrPercent = 1
    max_surge: fields.IntOrPercent = 0


class DaemonSetUpdateStrategy(KubeModel):
    type: Literal["RollingUpdate", "OnDelete"] = "RollingUpdate"
    rolling_update: RollingUpdateDaemonSet | None = None

    @model_validator(mode="after")
    def _default_rolling_update(self) -> DaemonSetUpdateStrategy:
        if self.type == "RollingUpdate" and self.rolling_update is None:
            self.rolling_update = RollingUpdateDaemonSet()
        return self


class DaemonSetSpec(KubeModel):
    selector: selectors.LabelSelector
    template: PodTemplateSpec
    update_strategy: DaemonSetUpdateStrategy = Field(default_factory=DaemonSetUpdateStrategy)
    min_ready_seconds: fields.Int32 = Field(default=0, ge=0)
    revision_history_limit: fields.Int32 = Field(default=10, ge=0)


class DaemonSetCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None


class DaemonSetStatus(KubeModel):
    current_number_scheduled: int = 0
    number_misscheduled: int = 0
    desired_number_scheduled: int = 0
    number_ready: int = 0
    observed_generation: int | None = None
    updated_number_scheduled: int = 0
    number_available: int = 0
    number_unavailable: int = 0
    collision_count: int | None = None
    conditions: list[DaemonSetCondition] = Field(default_factory=list)


class DaemonSet(KubeObject):
    plural: ClassVar[str] = "daemonsets"

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["DaemonSet"] = "DaemonSet"
    spec: DaemonSetSpec
    status: DaemonSetStatus = Field(default_factory=DaemonSetStatus)

    def check(self) -> list[errors.FieldIssue]:
        issues = validation.check_metadata(self)
        issues += check_workload(self.spec.selector, self.spec.template, "daemonset")
        update = self.spec.update_strategy.rolling_update
        if self.spec.update_strategy.type == "RollingUpdate" and update is not None:
            issues += _check_rolling_update(update)
        return issues


def _check_rolling_update(update: RollingUpdateDaemonSet) -> list[errors.FieldIssue]:
    """ValidateRollingUpdateDaemonSet: each at most 100%, not both zero."""
    path = "spec.updateStrategy.rollingUpdate"
    issues = []
    for name, value in (("maxUnavailable", update.max_unavailable),
                        ("maxSurge", update.max_surge)):
        if isinstance(value, int) and value < 0:
            issues.append(errors.FieldIssue(f"{path}.{name}",
                                            "must be greater than or equal to 0"))
        if isinstance(value, str) and int(value.rstrip("%")) > 100:
            issues.append(errors.FieldIssue(f"{path}.{name}", "must not be greater than 100%"))
    if _zero(update.max_unavailable) and _zero(update.max_surge):
        issues.append(errors.FieldIssue(f"{path}.maxUnavailable",
                                        "may not be 0 when `maxSurge` is 0"))
    return issues


def _zero(value: int | str) -> bool:
    return value == 0 or value == "0%"


def surge_and_unavailable(ds: DaemonSet, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in pods for ``desired`` scheduled nodes, both rounded up
    (``util.SurgeCount``/``UnavailableCount``); with neither, one may be unavailable."""
    update = ds.spec.update_strategy.rolling_update
    if ds.spec.update_strategy.type != "RollingUpdate" or update is None:
        return 0, 0
    surge = fields.scaled_value(update.max_surge, desired, round_up=True)
    unavailable = fields.scaled_value(update.max_unavailable, desired, round_up=True)
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable
