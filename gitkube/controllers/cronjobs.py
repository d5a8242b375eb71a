"""CronJob → Jobs: one Job per scheduled time, never a burst, never one time twice.

Kubernetes' cronjob controller (``pkg/controller/cronjob``, ``syncCronJob`` and
``mostRecentScheduleTime``) as a pure planner, made for passes that may run only once
a minute from cron or not at all for hours:

- The run to start is the most recent scheduled time after ``lastScheduleTime``
  (or the CronJob's creation) and not after now; with ``startingDeadlineSeconds``
  only times within that many seconds of now count. Earlier missed times are never
  started: an outage ends with at most one catch-up Job.
- The Job is named ``<cronjob>-<scheduled time in unix minutes>`` and created with
  compare-and-swap on "does not exist", in the same store transaction that records
  ``lastScheduleTime``; a pass killed half-way and run again finds the Job (or
  finds nothing written) and cannot create a second one for that time.
- ``concurrencyPolicy``: Allow starts it anyway, Forbid skips the run while a Job
  is active (a later pass starts it if it is still within the deadline), Replace
  deletes the active Jobs first (garbage collection takes their pods).
- Finished Jobs beyond ``successfulJobsHistoryLimit`` / ``failedJobsHistoryLimit``
  are deleted, oldest first. ``suspend`` stops new runs only.
"""

from __future__ import annotations

import datetime as dt

from gitkube import clock as clocks
from gitkube.api import batch, keys
from gitkube.api.meta import ObjectMeta
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "cronjob"


def plan_cronjobs(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    jobs: dict[str, list[batch.Job]] = {}
    for job in snapshot.of_kind(batch.Job):
        ref = job.controller_ref()
        if ref is not None and ref.kind == "CronJob":
            jobs.setdefault(ref.uid, []).append(job)
    actions: list[Action] = []
    for stored in snapshot.stored_of_kind(batch.CronJob):
        cronjob = stored.obj
        if isinstance(cronjob, batch.CronJob) and not cronjob.metadata.deletion_timestamp:
            owned = jobs.get(cronjob.metadata.uid or "", [])
            actions += sync_cronjob(snapshot, cronjob, stored.mod_revision, owned, clock)
    return actions


def job_name(cronjob: batch.CronJob, scheduled: dt.datetime) -> str:
    """``<cronjob>-<scheduled time in unix minutes>`` (getJobName)."""
    return f"{cronjob.name}-{int(scheduled.timestamp()) // 60}"


def sync_cronjob(
    snapshot: Snapshot, cronjob: batch.CronJob, revision: int, owned: list[batch.Job],
    clock: clocks.Clock,
) -> list[Action]:
    actions = prune_history(snapshot, cronjob, owned)
    pruned = {a.target.name for a in actions}
    owned = [j for j in owned if j.name not in pruned]
    active = [j for j in owned if not j.status.finished]
    last_schedule = cronjob.status.last_schedule_time
    start = None if cronjob.spec.suspend else due_run(cronjob, clock)
    if start is not None:
        name = job_name(cronjob, start)
        if snapshot.get(keys.object_key("jobs", cronjob.namespace, name)) is not None:
            last_schedule = max(last_schedule or "", clocks.format_time(start))
        elif cronjob.spec.concurrency_policy == "Forbid" and active:
            pass  # skipped while a Job runs; a later pass starts it if still in time
        else:
            if cronjob.spec.concurrency_policy == "Replace":
                actions += [_delete(snapshot, job, f"{objects.describe(cronjob)} replaces it "
                                                   f"with the run of {_time(start)}")
                            for job in active]
                active = []
            job = new_job(snapshot, cronjob, start, clock)
            actions.append(Action(
                ActionKind.CREATE, ObjectRef.of(job),
                f"{objects.describe(cronjob)}: scheduled run of {_time(start)}", obj=job,
                expected_revision=0, source=SOURCE,
            ))
            active.append(job)
            last_schedule = clocks.format_time(start)
    status = cronjob.status.model_copy(update={
        "active": [_reference(j) for j in sorted(active, key=lambda j: j.name)],
        "last_schedule_time": last_schedule or None,
        "last_successful_time": _last_success(cronjob, owned),
    })
    if status != cronjob.status:
        # Recorded in the same write as the Jobs created or deleted: never without them.
        changes = any(a.kind in (ActionKind.CREATE, ActionKind.DELETE) for a in actions)
        actions.append(Action(
            ActionKind.UPDATE, ObjectRef.of(cronjob),
            f"{objects.describe(cronjob)}: {len(status.active)} active, last scheduled "
            f"{status.last_schedule_time or 'never'}",
            obj=cronjob.model_copy(update={"status": status}), expected_revision=revision,
            status_only=not changes, source=SOURCE,
        ))
    return actions


def due_run(cronjob: batch.CronJob, clock: clocks.Clock) -> dt.datetime | None:
    """The scheduled time to start now, if any (mostRecentScheduleTime): the latest time
    after the last scheduled one (or the creation), within startingDeadlineSeconds."""
    now = clock.now()
    earliest = objects.parse_or_epoch(cronjob.status.last_schedule_time
                                      or cronjob.metadata.creation_timestamp)
    deadline = cronjob.spec.starting_deadline_seconds
    if deadline is not None:
        earliest = max(earliest, now - dt.timedelta(seconds=deadline))
    if earliest >= now:
        return None
    latest, _missed = cronjob.spec.cron_schedule().latest_between(earliest, now)
    return latest


def new_job(
    snapshot: Snapshot, cronjob: batch.CronJob, scheduled: dt.datetime, clock: clocks.Clock
) -> batch.Job:
    """getJobFromTemplate2: the jobTemplate, owned by the CronJob, named by the time."""
    template = cronjob.spec.job_template
    name = job_name(cronjob, scheduled)
    key = keys.object_key("jobs", cronjob.namespace, name)
    annotations = {**template.metadata.annotations,
                   batch.SCHEDULED_TIMESTAMP: clocks.format_time(scheduled)}
    return batch.Job(
        metadata=ObjectMeta(
            name=name, namespace=cronjob.namespace, labels=dict(template.metadata.labels),
            annotations=annotations, owner_references=[objects.owner_reference(cronjob)],
            uid=objects.deterministic_uid(snapshot.cluster, key, snapshot.revision),
            creation_timestamp=objects.now_text(clock), generation=1,
        ),
        spec=template.spec.model_copy(deep=True),
    )


def prune_history(
    snapshot: Snapshot, cronjob: batch.CronJob, owned: list[batch.Job]
) -> list[Action]:
    """Delete the oldest finished Jobs beyond the history limits (cleanupFinishedJobs)."""
    actions: list[Action] = []
    limits = {"Complete": cronjob.spec.successful_jobs_history_limit,
              "Failed": cronjob.spec.failed_jobs_history_limit}
    for kind, limit in limits.items():
        done = sorted((j for j in owned if j.status.finished == kind), key=_started)
        for job in done[:max(0, len(done) - limit)]:
            history = "successfulJobsHistoryLimit" if kind == "Complete" else (
                "failedJobsHistoryLimit")
            actions.append(_delete(snapshot, job, f"{objects.describe(cronjob)} keeps "
                                                  f"{limit} ({history})"))
    return actions


def _started(job: batch.Job) -> tuple[bool, str, str]:
    # byJobStartTime: by start time, Jobs never started last, then by name.
    return (job.status.start_time is None, job.status.start_time or "", job.name)


def _last_success(cronjob: batch.CronJob, owned: list[batch.Job]) -> str | None:
    times = [j.status.completion_time for j in owned
             if j.status.finished == "Complete" and j.status.completion_time]
    previous = cronjob.status.last_successful_time
    return max([*times, *([previous] if previous else [])], default=None)


def _reference(job: batch.Job) -> batch.ObjectReference:
    return batch.ObjectReference(api_version=job.api_version, kind=job.kind, name=job.name,
                                 namespace=job.namespace, uid=job.metadata.uid)


def _delete(snapshot: Snapshot, job: batch.Job, reason: str) -> Action:
    stored = snapshot.get(job.key)
    return Action(ActionKind.DELETE, ObjectRef.of(job), reason,
                  expected_revision=stored.mod_revision if stored else None, source=SOURCE)


def _time(moment: dt.datetime) -> str:
    return clocks.format_time(moment)
