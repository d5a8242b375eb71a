"""``gitkube get jobs|cronjobs``: kubectl's columns for the batch kinds.

kubectl prints a Job as NAME, STATUS, COMPLETIONS, DURATION, AGE and a CronJob as
NAME, SCHEDULE, TIMEZONE, SUSPEND, ACTIVE, LAST SCHEDULE, AGE; these rows are the
same, read from stored objects. ``tables`` puts them in its column registry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gitkube.cli import render
from gitkube.cli.render import NONE, dig, items


def job_status(job: Any) -> str:
    """kubectl 1.28+: Complete, Failed, Suspended or Running."""
    for kind in ("Complete", "Failed", "Suspended"):
        for condition in items(job, "status", "conditions"):
            if dig(condition, "type") == kind and dig(condition, "status") == "True":
                return kind
    return "Running"


def job_completions(job: Any) -> str:
    succeeded = dig(job, "status", "succeeded", default=0)
    completions = dig(job, "spec", "completions")
    if completions is not None:
        return f"{succeeded}/{completions}"
    parallelism = dig(job, "spec", "parallelism", default=1)
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(job: Any, now: dt.datetime) -> str:
    start = dig(job, "status", "start_time")
    if not start:
        return NONE
    end = dig(job, "status", "completion_time")
    seconds = render.since(start, now)
    if end:
        seconds = (render.since(start, now) or 0.0) - (render.since(end, now) or 0.0)
    return NONE if seconds is None else render.human_duration(max(0.0, seconds))


def job_row(job: Any, now: dt.datetime) -> list[str]:
    return [job.name, job_status(job), job_completions(job), job_duration(job, now),
            render.age(dig(job, "metadata", "creation_timestamp"), now)]


def job_wide(job: Any, now: dt.datetime) -> list[str]:
    containers = items(job, "spec", "template", "spec", "containers")
    return [",".join(str(dig(c, "name")) for c in containers),
            ",".join(str(dig(c, "image")) for c in containers)]


def cronjob_row(cron: Any, now: dt.datetime) -> list[str]:
    last = dig(cron, "status", "last_schedule_time")
    return [cron.name, str(dig(cron, "spec", "schedule")),
            str(dig(cron, "spec", "time_zone") or NONE),
            str(bool(dig(cron, "spec", "suspend"))), str(len(items(cron, "status", "active"))),
            render.age(last, now) if last else NONE,
            render.age(dig(cron, "metadata", "creation_timestamp"), now)]


def cronjob_wide(cron: Any, now: dt.datetime) -> list[str]:
    containers = items(cron, "spec", "job_template", "spec", "template", "spec", "containers")
    return [",".join(str(dig(c, "name")) for c in containers),
            ",".join(str(dig(c, "image")) for c in containers)]


JOB_COLUMNS = ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
CRONJOB_COLUMNS = ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]
WIDE_COLUMNS = ["CONTAINERS", "IMAGES"]
