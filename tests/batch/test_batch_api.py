"""Job and CronJob manifests: Kubernetes' defaults, and every refusal names field and reason."""

from __future__ import annotations

from typing import Any

import pytest
from ruamel.yaml import YAML

from gitkube.api import batch, errors, registry
from tests.corpus import CORPUS

from . import builders as b


def _job(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
            "spec": {"template": b.pod_template(), **spec}}


def _cronjob(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
            "spec": {"schedule": "*/5 * * * *",
                     "jobTemplate": {"spec": {"template": b.pod_template()}}, **spec}}


def _issues(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(errors.ObjectInvalid) as caught:
        registry.parse_object(doc)
    return {i.path: i.message for i in caught.value.issues}


@pytest.mark.parametrize(("spec", "completions", "parallelism"), [
    pytest.param({}, 1, 1, id="neither-means-1-and-1"),
    pytest.param({"parallelism": 3}, None, 3, id="parallelism-alone-is-a-work-queue"),
    pytest.param({"completions": 5}, 5, 1, id="completions-alone"),
])
def test_job_defaults(spec: dict[str, Any], completions: int | None, parallelism: int) -> None:
    job = registry.parse_object(_job(**spec))
    assert isinstance(job, batch.Job)
    assert (job.spec.completions, job.spec.parallelism) == (completions, parallelism)
    assert (job.spec.backoff_limit, job.spec.completion_mode, job.spec.suspend) == (
        6, "NonIndexed", False)
    assert registry.from_stored(job.to_dict()) == job


def test_cronjob_defaults() -> None:
    cron = registry.parse_object(_cronjob())
    assert isinstance(cron, batch.CronJob)
    spec = cron.spec
    assert (spec.concurrency_policy, spec.successful_jobs_history_limit,
            spec.failed_jobs_history_limit, spec.suspend) == ("Allow", 3, 1, False)
    assert spec.starting_deadline_seconds is None and spec.time_zone is None


@pytest.mark.parametrize(("doc", "path", "message"), [
    pytest.param(_job(template=b.pod_template(restart="Always")),
                 "spec.template.spec.restartPolicy",
                 "unsupported value 'Always': a Job's pods need restartPolicy 'Never' or "
                 "'OnFailure'", id="restart-always"),
    pytest.param(_job(completionMode="Indexed", parallelism=2), "spec.completions",
                 "field 'completions' is required when completionMode is Indexed",
                 id="indexed-needs-completions"),
    pytest.param(_job(podFailurePolicy={"rules": []}), "spec.podFailurePolicy",
                 "field 'podFailurePolicy' is not supported by gitkube yet",
                 id="pod-failure-policy"),
    pytest.param(_job(backoffLimit=-1), "spec.backoffLimit",
                 "must be greater than or equal to 0, not -1", id="negative-backoff"),
    pytest.param(_job(activeDeadlineSeconds=0), "spec.activeDeadlineSeconds",
                 "must be greater than 0, not 0", id="zero-deadline"),
    pytest.param(_job(selector={"matchLabels": {"a": "b"}}), "spec.selector",
                 "gitkube generates a Job's selector (batch.kubernetes.io/controller-uid); "
                 "remove selector and manualSelector", id="manual-selector"),
    pytest.param(_cronjob(schedule="CRON_TZ=UTC 0 * * * *"), "spec.schedule",
                 "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                 id="cron-tz-prefix"),
    pytest.param(_cronjob(schedule="0 0 * * * *"), "spec.schedule",
                 "'0 0 * * * *' has 6 fields; a schedule has 5 (minute hour day-of-month month "
                 "day-of-week), e.g. '*/5 * * * *'", id="six-fields"),
    pytest.param(_cronjob(schedule="61 * * * *"), "spec.schedule",
                 "'61 * * * *' is not a valid cron schedule (minute hour day-of-month month "
                 "day-of-week)", id="minute-61"),
    pytest.param(_cronjob(schedule="@every 5m"), "spec.schedule",
                 "unsupported macro '@every 5m': use one of @yearly, @annually, @monthly, "
                 "@weekly, @daily, @midnight, @hourly or a 5-field schedule", id="every-macro"),
    pytest.param(_cronjob(timeZone="Mars/Olympus"), "spec.timeZone",
                 "unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Berlin or "
                 "Etc/UTC", id="unknown-zone"),
    pytest.param(_cronjob(concurrencyPolicy="Sometimes"), "spec.concurrencyPolicy",
                 "unsupported value 'Sometimes': supported values are 'Allow', 'Forbid' or "
                 "'Replace'", id="concurrency-policy"),
    pytest.param(_cronjob(jobTemplate={"spec": {"template": b.pod_template(restart="Always")}}),
                 "spec.jobTemplate.spec.template.spec.restartPolicy",
                 "unsupported value 'Always': a Job's pods need restartPolicy 'Never' or "
                 "'OnFailure'", id="template-restart-always"),
    pytest.param({**_cronjob(), "apiVersion": "batch/v1beta1"}, "apiVersion",
                 "apiVersion batch/v1beta1 is not served for kind CronJob; use batch/v1",
                 id="batch-v1beta1"),
    pytest.param({**_cronjob(), "metadata": {"name": "x" * 53}}, "metadata.name",
                 "must be no more than 52 characters (its Jobs are named <name>-<scheduled "
                 "minutes>)", id="cronjob-name-too-long"),
])
def test_refusals_name_the_field(doc: dict[str, Any], path: str, message: str) -> None:
    assert _issues(doc).get(path) == message


@pytest.mark.parametrize("schedule", ["@hourly", "@daily", "0 3 * * 1-5", "*/15 9-17 * * *",
                                      "0 0 1 jan *"])
def test_schedules_kubernetes_accepts(schedule: str) -> None:
    assert isinstance(registry.parse_object(_cronjob(schedule=schedule, timeZone="Etc/UTC")),
                      batch.CronJob)


CORPUS_CASES = [
    ("controllers/job.yaml", None, None),
    ("application/job/cronjob.yaml", "apiVersion",
     "apiVersion batch/v1beta1 is not served for kind CronJob; use batch/v1"),
    ("application/job/indexed-job.yaml", None, None),
    ("application/job/job-sidecar.yaml", None, None),
    ("controllers/job-pod-failure-policy-example.yaml", "spec.podFailurePolicy",
     "field 'podFailurePolicy' is not supported by gitkube yet"),
    ("controllers/job-backoff-limit-per-index-example.yaml", "spec.backoffLimitPerIndex",
     "field 'backoffLimitPerIndex' is not supported by gitkube yet"),
    ("controllers/job-success-policy.yaml", "spec.successPolicy",
     "field 'successPolicy' is not supported by gitkube yet"),
]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not present")
@pytest.mark.parametrize(("name", "path", "message"), CORPUS_CASES,
                         ids=[c[0] for c in CORPUS_CASES])
def test_corpus_batch_files(name: str, path: str | None, message: str | None) -> None:
    (doc,) = [d for d in YAML(typ="safe").load_all((CORPUS / name).read_text()) if d]
    if path is None:
        job = registry.parse_object(doc)
        # job.yaml says 4; the others take Kubernetes' default, 6.
        expected = 4 if name == "controllers/job.yaml" else 6
        assert isinstance(job, batch.Job) and job.spec.backoff_limit == expected
    else:
        assert _issues(doc).get(path) == message
