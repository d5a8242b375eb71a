"""``gitkube get jobs|cronjobs``: kubectl's columns for the batch kinds.

kubectl prints a Job as NAME, STATUS, COMPLETIONS, DURATION, AGE and a CronJob as
NAME, SCHEDULE, TIMEZONE, SUSPEND, ACTIVE, LAST SCHEDULE, AGE; these rows are the
same, read from stored objects. ``tables`` puts them in its column registry.
"""

from __future__ import annotations

import datetime as dt

from gitkube.api import batch, core
from gitkube.cli import render
from gitkube.cli.render import NONE


def job_status(job: batch.Job) -> str:
    """kubectl 1.28+: Complete, Failed, Suspended or Running."""
    for kind in ("Complete", "Failed", "Suspended"):
        if any(c.type == kind and c.status == "True" for c in job.status.conditions):
            return kind
    return "Running"


def job_completions(job: batch.Job) -> str:
    succeeded = job.status.succeeded
    if job.spec.completions is not None:
        return f"{succeeded}/{job.spec.completions}"
    parallelism = 1 if job.spec.parallelism is None else job.spec.parallelism
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(job: batch.Job, now: dt.datetime) -> str:
    start = job.status.start_time
    if not start:
        return NONE
    end = job.status.completion_time
    seconds = render.since(start, now)
    if end:
        seconds = (render.since(start, now) or 0.0) - (render.since(end, now) or 0.0)
    return NONE if seconds is None else render.human_duration(max(0.0, seconds))


def job_row(job: batch.Job, now: dt.datetime) -> list[str]:
    return [job.name, job_status(job), job_completions(job), job_duration(job, now),
            render.age(job.metadata.creation_timestamp, now)]


def _containers(containers: list[core.Container]) -> list[str]:
    return [",".join(c.name for c in containers), ",".join(c.image for c in containers)]


def job_wide(job: batch.Job, now: dt.datetime) -> list[str]:
    return _containers(job.spec.template.spec.containers)


def cronjob_row(cron: batch.CronJob, now: dt.datetime) -> list[str]:
    last = cron.status.last_schedule_time
    return [cron.name, cron.spec.schedule, cron.spec.time_zone or NONE,
            str(cron.spec.suspend), str(len(cron.status.active)),
            render.age(last, now) if last else NONE,
            render.age(cron.metadata.creation_timestamp, now)]


def cronjob_wide(cron: batch.CronJob, now: dt.datetime) -> list[str]:
    return _containers(cron.spec.job_template.spec.template.spec.containers)


JOB_COLUMNS = ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
CRONJOB_COLUMNS = ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]
WIDE_COLUMNS = ["CONTAINERS", "IMAGES"]
