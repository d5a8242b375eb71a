"""plan_cronjobs on a fake clock: naming, missed schedules, concurrency, history, DST, CAS."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gitkube import clock as clocks
from gitkube.api import batch, registry
from gitkube.controllers import cronjobs, jobs
from gitkube.planning.actions import STORE_KINDS, Action, ActionKind
from gitkube.planning.snapshot import Snapshot, Stored
from gitkube.reconcile import fixpoint
from gitkube.store import base as store_base
from gitkube.store import open_store

from . import builders as b

HOUR = 3600.0


def _jobs(world: b.World) -> list[batch.Job]:
    return sorted(world.of_kind(batch.Job), key=lambda j: j.name)


def _scheduled(world: b.World) -> list[str]:
    return [j.metadata.annotations[batch.SCHEDULED_TIMESTAMP] for j in _jobs(world)]


def test_job_is_named_by_the_scheduled_time_in_unix_minutes() -> None:
    world = b.World(b.cronjob("hello", "*/5 * * * *"))
    world.advance(5 * 60 + 30)
    world.run(cronjobs.plan_cronjobs)
    (job,) = _jobs(world)
    minutes = int((b.START + dt.timedelta(minutes=5)).timestamp()) // 60
    assert job.name == f"hello-{minutes}"
    assert job.metadata.annotations[batch.SCHEDULED_TIMESTAMP] == b.at(300)
    ref = job.controller_ref()
    assert ref is not None and (ref.kind, ref.name) == ("CronJob", "hello")
    cron = world.get(batch.CronJob, "hello")
    assert cron.status.last_schedule_time == b.at(300)
    assert [r.name for r in cron.status.active] == [job.name]


def test_a_pass_every_minute_runs_once_per_minute() -> None:
    world = b.World(b.cronjob(successful_jobs_history_limit=100))
    for _ in range(5):
        world.advance(60)
        world.run(cronjobs.plan_cronjobs)
        world.run(cronjobs.plan_cronjobs)  # a second pass in the same minute adds nothing
    assert _scheduled(world) == [b.at(60 * i) for i in range(1, 6)]


# A CronJob created at 00:00 whose last run was 00:00; the control plane is down until
# 03:30 (hourly) or 03:00:30 (every minute).
@pytest.mark.parametrize(("schedule", "down_for", "deadline", "runs"), [
    pytest.param("0 * * * *", 3.5 * HOUR, None, [b.at(3 * HOUR)],
                 id="hourly-no-deadline-one-catch-up"),
    pytest.param("0 * * * *", 3.5 * HOUR, 600, [], id="hourly-deadline-10min-too-late"),
    pytest.param("0 * * * *", 3.5 * HOUR, 3600, [b.at(3 * HOUR)],
                 id="hourly-deadline-1h-in-time"),
    pytest.param("* * * * *", 3 * HOUR + 30, None, [b.at(3 * HOUR)],
                 id="every-minute-no-deadline-latest-only"),
    pytest.param("* * * * *", 3 * HOUR + 30, 20, [], id="every-minute-deadline-20s-missed"),
    pytest.param("* * * * *", 3 * HOUR + 30, 60, [b.at(3 * HOUR)],
                 id="every-minute-deadline-60s"),
])
def test_missed_schedules_after_a_three_hour_outage(
    schedule: str, down_for: float, deadline: int | None, runs: list[str]
) -> None:
    spec = {} if deadline is None else {"starting_deadline_seconds": deadline}
    world = b.World(b.cronjob(schedule=schedule, status={"lastScheduleTime": b.at(0)}, **spec))
    world.advance(down_for)
    world.run(cronjobs.plan_cronjobs)
    world.run(cronjobs.plan_cronjobs)
    assert _scheduled(world) == runs  # never a burst of catch-up jobs


def test_forbid_skips_while_a_job_runs_and_starts_the_run_later_if_in_time() -> None:
    world = b.World(b.cronjob(schedule="0 * * * *", concurrency_policy="Forbid",
                              starting_deadline_seconds=1800))
    world.advance(HOUR)
    world.run(cronjobs.plan_cronjobs)
    world.advance(HOUR)  # 02:00: the 01:00 job is still running
    world.run(cronjobs.plan_cronjobs)
    assert _scheduled(world) == [b.at(HOUR)]
    first = _jobs(world)[0]
    done = first.model_copy(deep=True)
    done.status.conditions = [batch.JobCondition(type="Complete", status="True")]
    world.put(done)
    world.advance(600)  # 02:10, within the 30 min deadline of 02:00
    world.run(cronjobs.plan_cronjobs)
    assert _scheduled(world) == [b.at(HOUR), b.at(2 * HOUR)]


@pytest.mark.parametrize(("policy", "scheduled", "deleted"), [
    pytest.param("Allow", [b.at(60), b.at(120)], [], id="allow-runs-both"),
    pytest.param("Forbid", [b.at(60)], [], id="forbid-skips"),
    pytest.param("Replace", [b.at(120)], ["Job"], id="replace-deletes-the-running-one"),
])
def test_concurrency_policies(policy: str, scheduled: list[str], deleted: list[str]) -> None:
    world = b.World(b.cronjob(concurrency_policy=policy))
    world.advance(60)
    world.run(cronjobs.plan_cronjobs)
    world.advance(60)
    actions = world.run(cronjobs.plan_cronjobs)
    assert _scheduled(world) == scheduled
    assert [a.target.kind for a in actions if a.kind is ActionKind.DELETE] == deleted
    cron = world.get(batch.CronJob, "tick")
    assert len(cron.status.active) == len(scheduled)


def _finished(world: b.World, outcome: str) -> None:
    for job in _jobs(world):
        if not job.status.finished:
            done = job.model_copy(deep=True)
            done.status.start_time = job.metadata.creation_timestamp
            done.status.completion_time = clocks.format_time(world.clock.now())
            done.status.conditions = [batch.JobCondition(type=outcome, status="True")]
            world.put(done)


@pytest.mark.parametrize(("outcomes", "kept"), [
    pytest.param(["Complete"] * 5, [3, 4, 5], id="keeps-3-successful"),
    pytest.param(["Failed"] * 3, [3], id="keeps-1-failed"),
    pytest.param(["Complete", "Failed", "Complete", "Failed", "Complete", "Complete"],
                 [3, 4, 5, 6], id="limits-apply-separately"),
])
def test_history_limits(outcomes: list[str], kept: list[int]) -> None:
    world = b.World(b.cronjob())
    for outcome in outcomes:
        world.advance(60)
        world.run(cronjobs.plan_cronjobs)
        _finished(world, outcome)
    world.run(cronjobs.plan_cronjobs)
    assert _scheduled(world) == [b.at(60 * i) for i in kept]
    cron = world.get(batch.CronJob, "tick")
    assert not cron.status.active
    last_ok = max((60 * (i + 1) for i, o in enumerate(outcomes) if o == "Complete"),
                  default=None)
    assert cron.status.last_successful_time == (b.at(last_ok) if last_ok else None)


def test_suspend_stops_new_runs_only() -> None:
    world = b.World(b.cronjob(suspend=True))
    world.advance(300)
    world.run(cronjobs.plan_cronjobs)
    assert _scheduled(world) == []


NY_SPRING = dt.datetime(2026, 3, 7, 12, tzinfo=dt.UTC)  # DST starts 2026-03-08 02:00 EST
NY_FALL = dt.datetime(2026, 10, 31, 12, tzinfo=dt.UTC)  # DST ends 2026-11-01 02:00 EDT


def _utc(*args: int) -> str:
    return clocks.format_time(dt.datetime(*args, tzinfo=dt.UTC))


@pytest.mark.parametrize(("start", "schedule", "runs"), [
    pytest.param(NY_SPRING, "30 2 * * *",
                 [_utc(2026, 3, 8, 7, 0), _utc(2026, 3, 9, 6, 30)],
                 id="spring-forward-skipped-time-runs-once-at-03:00-EDT"),
    pytest.param(NY_SPRING, "0 9 * * *",
                 [_utc(2026, 3, 7, 14, 0), _utc(2026, 3, 8, 13, 0)],
                 id="spring-forward-09:00-local-moves-in-utc"),
    pytest.param(NY_FALL, "30 1 * * *",
                 [_utc(2026, 11, 1, 5, 30), _utc(2026, 11, 2, 6, 30)],
                 id="fall-back-repeated-time-runs-once"),
    pytest.param(NY_FALL, "0 1 * * *",
                 [_utc(2026, 11, 1, 5, 0), _utc(2026, 11, 2, 6, 0)],
                 id="fall-back-01:00-runs-once"),
])
def test_daylight_saving_changes_in_a_time_zone(
    start: dt.datetime, schedule: str, runs: list[str]
) -> None:
    cron = b.cronjob(schedule=schedule, start=start, time_zone="America/New_York",
                     successful_jobs_history_limit=100)
    world = b.World(cron, clock=clocks.FakeClock(start))
    for _ in range(int(48 * HOUR // 600)):  # a pass every 10 minutes for two days
        world.advance(600)
        world.run(cronjobs.plan_cronjobs)
    assert _scheduled(world) == runs


def test_hourly_in_a_time_zone_runs_every_real_hour_through_fall_back() -> None:
    cron = b.cronjob(schedule="0 * * * *", start=NY_FALL, time_zone="America/New_York",
                     successful_jobs_history_limit=100)
    world = b.World(cron, clock=clocks.FakeClock(NY_FALL))
    world.clock.advance(16 * HOUR)  # 2026-11-01 04:00 UTC = 00:00 EDT
    cron = cron.model_copy(update={"status": batch.CronJobStatus(
        last_schedule_time=clocks.format_time(world.clock.now()))})
    world.put(cron)
    for _ in range(4 * 6):
        world.advance(600)
        world.run(cronjobs.plan_cronjobs)
    assert _scheduled(world) == [_utc(2026, 11, 1, h, 0) for h in (5, 6, 7, 8)]


# -- a pass killed half-way and run again, against the real store ---------------------


def _snapshot(store: store_base.Store) -> Snapshot:
    kvs, revision = store.range("/registry/")
    return Snapshot(revision=revision, cluster="test", objects={
        kv.key: Stored(registry.from_stored(kv.value), kv.mod_revision) for kv in kvs})


def _write(store: store_base.Store, actions: list[Action]) -> bool:
    """What apply does: one transaction, every write guarded by the revision it was planned on."""
    compares, ops = [], []
    for action in (a for a in actions if a.kind in STORE_KINDS):
        key = action.obj.key if action.obj is not None else registry.key_for(
            action.target.kind, action.target.namespace, action.target.name)
        if action.expected_revision is not None:
            compares.append(store_base.Compare(key, action.expected_revision))
        ops.append(store_base.Delete(key) if action.kind is ActionKind.DELETE
                   else store_base.Put(key, action.obj.to_dict() if action.obj else {}))
    return store.txn(compares, ops).succeeded


def test_a_killed_and_rerun_pass_never_creates_a_second_job(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.sqlite")
    try:
        cron = b.cronjob()
        store.txn([], [store_base.Put(cron.key, cron.to_dict())])
        clock = clocks.FakeClock(b.START)
        clock.advance(90)
        before = _snapshot(store)
        killed = fixpoint.plan_pass(before, clock)  # planned, then killed: or written, then killed
        rerun = fixpoint.plan_pass(before, clock)
        created = [a.target.name for a in killed if a.kind is ActionKind.CREATE
                   and a.target.kind == "Job"]
        assert created == [a.target.name for a in rerun if a.kind is ActionKind.CREATE
                           and a.target.kind == "Job"]
        assert _write(store, killed)
        assert not _write(store, rerun)  # compare-and-swap: that Job exists now
        again = fixpoint.plan_pass(_snapshot(store), clock)
        assert not [a for a in again if a.kind is ActionKind.CREATE and a.target.kind == "Job"]
        kvs, _ = store.range("/registry/jobs/")
        assert [kv.key.rsplit("/", 1)[1] for kv in kvs] == created
        # Its pods were created in the same pass (cronjob → job → pods in one fixpoint).
        pods, _ = store.range("/registry/pods/")
        assert len(pods) == 1
    finally:
        store.close()


def test_job_and_cronjob_status_are_written_with_the_jobs_they_describe() -> None:
    world = b.World(b.cronjob())
    world.advance(60)
    actions = cronjobs.plan_cronjobs(world.snapshot(), world.clock)
    update = next(a for a in actions if a.kind is ActionKind.UPDATE)
    assert not update.status_only  # never recorded without the Job it created
    world.run(cronjobs.plan_cronjobs, jobs.plan_jobs)
    assert len(world.pods()) == 1
