"""``gitkube get jobs|cronjobs``: kubectl's columns, read from stored objects."""

from __future__ import annotations

import datetime as dt

from gitkube.cli import tables

from . import builders as b

NOW = b.START + dt.timedelta(minutes=10)


def test_jobs_table() -> None:
    done = b.job("pi", completions=3, status={
        "startTime": b.at(0), "completionTime": b.at(95), "succeeded": 3,
        "conditions": [{"type": "Complete", "status": "True"}]})
    running = b.job("queue", parallelism=2, status={"startTime": b.at(300), "active": 2})
    suspended = b.job("later", suspend=True, status={
        "conditions": [{"type": "Suspended", "status": "True"}]})
    text = tables.render_table(tables.resolve_kind("job"), [done, running, suspended], NOW)
    assert text.splitlines() == [
        "NAME    STATUS      COMPLETIONS   DURATION   AGE",
        "later   Suspended   0/1           <none>     10m",
        "pi      Complete    3/3           95s        10m",
        "queue   Running     0/1 of 2      5m         10m",
    ]


def test_cronjobs_table() -> None:
    cron = b.cronjob("tick", "*/5 * * * *", time_zone="Europe/Berlin",
                     status={"lastScheduleTime": b.at(300),
                             "active": [{"name": "tick-1", "kind": "Job"}]})
    text = tables.render_table(tables.resolve_kind("cj"), [cron], NOW)
    assert text.splitlines() == [
        "NAME   SCHEDULE      TIMEZONE        SUSPEND   ACTIVE   LAST SCHEDULE   AGE",
        "tick   */5 * * * *   Europe/Berlin   False     1        5m              10m",
    ]
    wide = tables.render_table("cronjobs", [cron], NOW, wide=True)
    assert wide.splitlines()[1].endswith("main         busybox:1")
