"""Batch kinds (apiVersion ``batch/v1``): Job and CronJob.

A Job runs pods to completion (``controllers/jobs.py``); a CronJob creates Jobs on a
schedule (``controllers/cronjobs.py``). Defaults are Kubernetes' (backoffLimit 6,
parallelism 1, completions 1 when neither is given, NonIndexed, Allow, history limits
3 and 1) so that batch YAML written for Kubernetes behaves the same. Fields gitkube
does not implement (podFailurePolicy, successPolicy, backoffLimitPerIndex ...) are
refused by name, never dropped.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from gitkube.api import cron, errors, fields, pod_checks, validation
from gitkube.api.meta import KubeModel, KubeObject
from gitkube.api.pods import PodTemplateSpec

ConditionStatus = Literal["True", "False", "Unknown"]

#: Labels and annotations the Job controller puts on its pods, as Kubernetes names them.
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
#: Annotation on a CronJob's Job: the scheduled time it was created for.
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
#: Kubernetes caps Indexed Jobs at this many completions (and parallelism).
MAX_INDEXED_COMPLETIONS = 100_000
#: A CronJob's name leaves room for "-<unix minutes>" within 63 characters.
CRONJOB_NAME_MAX = 52


class JobSpec(KubeModel):
    #: None with parallelism given: a work queue (done when one pod succeeds and none run).
    completions: fields.Int32 | None = Field(default=None, ge=0)
    parallelism: fields.Int32 | None = Field(default=None, ge=0)
    backoff_limit: fields.Int32 = Field(default=6, ge=0)
    active_deadline_seconds: fields.Int64 | None = Field(default=None, gt=0)
    ttl_seconds_after_finished: fields.Int32 | None = Field(default=None, ge=0)
    suspend: bool = False
    completion_mode: Literal["NonIndexed", "Indexed"] = "NonIndexed"
    template: PodTemplateSpec
    #: Kubernetes generates a Job's selector; a manual one is refused in ``check``.
    selector: dict[str, Any] | None = None
    manual_selector: bool | None = None

    @model_validator(mode="after")
    def _kubernetes_defaults(self) -> JobSpec:
        # Kubernetes: neither given → 1 and 1; parallelism alone → a work queue.
        if self.completions is None and self.parallelism is None:
            self.completions = 1
        if self.parallelism is None:
            self.parallelism = 1
        return self

    @property
    def wanted_parallelism(self) -> int:
        return self.parallelism if self.parallelism is not None else 1


class JobCondition(KubeModel):
    #: Complete, Failed, Suspended.
    type: str
    status: ConditionStatus
    reason: str | None = None
    message: str | None = None
    last_probe_time: str | None = None
    last_transition_time: str | None = None


class JobStatus(KubeModel):
    start_time: str | None = None
    completion_time: str | None = None
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    ready: int = 0
    #: Indexed Jobs: the completed indexes, compressed ("0-2,5").
    completed_indexes: str | None = None
    conditions: list[JobCondition] = Field(default_factory=list)

    def condition(self, kind: str) -> JobCondition | None:
        return next((c for c in self.conditions if c.type == kind), None)

    @property
    def finished(self) -> str | None:
        """"Complete" or "Failed" once the Job is finished, else None."""
        for kind in ("Complete", "Failed"):
            cond = self.condition(kind)
            if cond is not None and cond.status == "True":
                return kind
        return None


class Job(KubeObject):
    plural: ClassVar[str] = "jobs"

    api_version: Literal["batch/v1"] = "batch/v1"
    kind: Literal["Job"] = "Job"
    spec: JobSpec
    status: JobStatus = Field(default_factory=JobStatus)

    def check(self) -> list[errors.FieldIssue]:
        return validation.check_metadata(self) + check_job_spec(self.spec, "spec")


def check_job_spec(spec: JobSpec, path: str) -> list[errors.FieldIssue]:
    """A Job's spec, for Jobs and for a CronJob's jobTemplate (``path`` prefixes issues)."""
    issues: list[errors.FieldIssue] = []
    if spec.selector is not None or spec.manual_selector:
        issues.append(errors.FieldIssue(
            f"{path}.selector", "gitkube generates a Job's selector (batch.kubernetes.io/"
            "controller-uid); remove selector and manualSelector"))
    if spec.completion_mode == "Indexed":
        if spec.completions is None:
            issues.append(errors.FieldIssue(
                f"{path}.completions", "field 'completions' is required when completionMode "
                "is Indexed"))
        elif spec.completions > MAX_INDEXED_COMPLETIONS:
            issues.append(errors.FieldIssue(
                f"{path}.completions", f"must be less than or equal to "
                f"{MAX_INDEXED_COMPLETIONS} when completionMode is Indexed"))
    template = spec.template
    where = f"{path}.template"
    issues += validation.check_labels(f"{where}.metadata.labels", template.metadata.labels)
    issues += validation.check_annotations(f"{where}.metadata.annotations",
                                           template.metadata.annotations)
    if template.spec.restart_policy not in ("Never", "OnFailure"):
        issues.append(errors.FieldIssue(
            f"{where}.spec.restartPolicy",
            f"unsupported value {template.spec.restart_policy!r}: a Job's pods need "
            "restartPolicy 'Never' or 'OnFailure'"))
    issues += pod_checks.check_pod_spec(template.spec, f"{where}.spec")
    return issues


# -- CronJob ---------------------------------------------------------------------------------


class JobTemplateMeta(KubeModel):
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    creation_timestamp: str | None = None


class JobTemplateSpec(KubeModel):
    metadata: JobTemplateMeta = Field(default_factory=JobTemplateMeta)
    spec: JobSpec


class CronJobSpec(KubeModel):
    schedule: str
    time_zone: str | None = None
    starting_deadline_seconds: fields.Int64 | None = Field(default=None, ge=0)
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] = "Allow"
    suspend: bool = False
    job_template: JobTemplateSpec
    successful_jobs_history_limit: fields.Int32 = Field(default=3, ge=0)
    failed_jobs_history_limit: fields.Int32 = Field(default=1, ge=0)

    def cron_schedule(self) -> cron.Schedule:
        return cron.Schedule(self.schedule.strip(), self.time_zone or "")


class ObjectReference(KubeModel):
    api_version: str | None = None
    kind: str | None = None
    name: str
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None


class CronJobStatus(KubeModel):
    active: list[ObjectReference] = Field(default_factory=list)
    last_schedule_time: str | None = None
    last_successful_time: str | None = None


class CronJob(KubeObject):
    plural: ClassVar[str] = "cronjobs"

    api_version: Literal["batch/v1"] = "batch/v1"
    kind: Literal["CronJob"] = "CronJob"
    spec: CronJobSpec
    status: CronJobStatus = Field(default_factory=CronJobStatus)

    def check(self) -> list[errors.FieldIssue]:
        issues = validation.check_metadata(self)
        if len(self.name) > CRONJOB_NAME_MAX:
            issues.append(errors.FieldIssue(
                "metadata.name", f"must be no more than {CRONJOB_NAME_MAX} characters (its "
                "Jobs are named <name>-<scheduled minutes>)"))
        problem = cron.check_schedule(self.spec.schedule)
        if problem:
            issues.append(errors.FieldIssue("spec.schedule", problem))
        if self.spec.time_zone is not None:
            problem = cron.check_time_zone(self.spec.time_zone)
            if problem:
                issues.append(errors.FieldIssue("spec.timeZone", problem))
        template = self.spec.job_template
        issues += validation.check_labels("spec.jobTemplate.metadata.labels",
                                          template.metadata.labels)
        issues += validation.check_annotations("spec.jobTemplate.metadata.annotations",
                                               template.metadata.annotations)
        return issues + check_job_spec(template.spec, "spec.jobTemplate.spec")
