"""plan_jobs on a fake clock: parallelism, back-off, limits, deadline, Indexed, suspend, TTL."""

from __future__ import annotations

import pytest

from gitkube.api import batch, core
from gitkube.controllers import jobpods, jobs
from gitkube.planning.actions import ActionKind

from . import builders as b


def _job(world: b.World, name: str = "pi") -> batch.Job:
    found: batch.Job = world.get(batch.Job, name)
    return found


def _condition(job: batch.Job, kind: str) -> batch.JobCondition | None:
    return job.status.condition(kind)


def test_completions_3_parallelism_2_never_more_than_2_active() -> None:
    world = b.World(b.job(completions=3, parallelism=2))
    most_active = 0
    for _ in range(6):
        world.run(jobs.plan_jobs)
        most_active = max(most_active, len(world.active()))
        world.set_phase(world.active()[:1], "Succeeded")
        world.advance(5)
    world.run(jobs.plan_jobs)
    job = _job(world)
    assert most_active == 2
    assert len(world.pods("Succeeded")) == 3 and not world.active()
    assert (job.status.succeeded, job.status.failed, job.status.active) == (3, 0, 0)
    complete = _condition(job, "Complete")
    assert complete is not None and complete.status == "True"
    assert job.status.completion_time == complete.last_transition_time == b.at(15)
    assert job.status.start_time == b.at(0)


def test_pods_have_deterministic_names_labels_and_owner() -> None:
    world = b.World(b.job(completions=2, parallelism=2))
    first = [a.target.name for a in jobs.plan_jobs(world.snapshot(), world.clock)]
    again = [a.target.name for a in jobs.plan_jobs(world.snapshot(), world.clock)]
    assert first == again and len(set(first) - {"pi"}) == 2
    world.run(jobs.plan_jobs)
    pod = world.pods()[0]
    assert pod.name.startswith("pi-") and len(pod.name) == len("pi-") + 5
    assert pod.metadata.labels[batch.JOB_NAME_LABEL] == "pi"
    assert pod.metadata.labels[batch.CONTROLLER_UID_LABEL] == "uid-pi"
    ref = pod.controller_ref()
    assert ref is not None and (ref.kind, ref.name) == ("Job", "pi")


@pytest.mark.parametrize(("failures", "base", "delay"), [
    pytest.param(0, 10, 0, id="no-failure"),
    pytest.param(1, 10, 10, id="first-retry-10s"),
    pytest.param(2, 10, 20, id="second-20s"),
    pytest.param(3, 10, 40, id="third-40s"),
    pytest.param(6, 10, 320, id="sixth-320s"),
    pytest.param(7, 10, 360, id="capped-6min"),
    pytest.param(20, 10, 360, id="still-capped"),
    pytest.param(3, 1, 4, id="annotation-base-1s"),
    pytest.param(9, 1, 36, id="annotation-base-capped-36x"),
])
def test_backoff_delays(failures: int, base: float, delay: float) -> None:
    assert jobpods.backoff_delay(failures, base) == delay


@pytest.mark.parametrize(("waited", "new_pod"), [
    pytest.param(0, False, id="right-after-failure"),
    pytest.param(9, False, id="9s-later"),
    pytest.param(10, True, id="10s-later"),
])
def test_a_failed_pod_is_retried_after_the_backoff(waited: float, new_pod: bool) -> None:
    world = b.World(b.job(backoff_limit=3))
    world.run(jobs.plan_jobs)
    world.set_phase(world.pods(), "Failed")
    world.advance(waited)
    world.run(jobs.plan_jobs)
    assert len(world.active()) == (1 if new_pod else 0)
    assert _job(world).status.failed == 1


def test_backoff_doubles_between_retries_and_the_limit_fails_the_job() -> None:
    world = b.World(b.job(backoff_limit=2))
    created_at = []
    for _ in range(80):
        world.run(jobs.plan_jobs)
        if _job(world).status.finished:
            break
        for pod in world.active():
            created_at.append(pod.metadata.creation_timestamp)
            world.set_phase([pod], "Failed")
        world.advance(1)
    job = _job(world)
    failed = _condition(job, "Failed")
    assert failed is not None and failed.status == "True"
    assert (failed.reason, failed.message) == jobs.BACKOFF_LIMIT
    assert job.status.failed == 3 and job.status.completion_time is None
    assert created_at == [b.at(0), b.at(10), b.at(30)]  # 10 s, then 20 s after each failure


def test_backoff_limit_zero_fails_on_the_first_failure() -> None:
    world = b.World(b.job(backoff_limit=0))
    world.run(jobs.plan_jobs)
    world.set_phase(world.pods(), "Failed")
    world.run(jobs.plan_jobs)
    failed = _condition(_job(world), "Failed")
    assert failed is not None and failed.reason == "BackoffLimitExceeded"
    assert len(world.pods()) == 1  # kept for its logs


def test_on_failure_restarts_count_toward_the_backoff_limit() -> None:
    world = b.World(b.job(backoff_limit=2, restart="OnFailure"))
    world.run(jobs.plan_jobs)
    world.set_phase(world.pods(), "Running", restarts=1)
    world.run(jobs.plan_jobs)
    assert _job(world).status.finished is None
    world.set_phase(world.pods(), "Running", restarts=2)
    world.run(jobs.plan_jobs)
    job = _job(world)
    assert job.status.finished == "Failed" and job.status.failed == 1
    assert not world.pods()  # the running pod is deleted (and counted failed)


@pytest.mark.parametrize(("elapsed", "finished"), [
    pytest.param(29, None, id="before-deadline"),
    pytest.param(30, "Failed", id="at-deadline"),
])
def test_active_deadline(elapsed: float, finished: str | None) -> None:
    world = b.World(b.job(active_deadline_seconds=30, completions=2, parallelism=2))
    world.run(jobs.plan_jobs)
    world.set_phase(world.pods(), "Running")
    world.advance(elapsed)
    world.run(jobs.plan_jobs)
    job = _job(world)
    assert job.status.finished == finished
    if finished:
        cond = _condition(job, "Failed")
        assert cond is not None and (cond.reason, cond.message) == jobs.DEADLINE
        assert cond.last_transition_time == b.at(elapsed)
        assert not world.pods() and job.status.failed == 2 and job.status.active == 0
    else:
        assert len(world.active()) == 2 and job.status.active == 2


def test_indexed_job_gives_each_pod_its_index() -> None:
    world = b.World(b.job(completions=3, parallelism=2, completion_mode="Indexed"))
    world.run(jobs.plan_jobs)
    pods = sorted(world.pods(), key=lambda p: p.name)
    assert [p.name.rsplit("-", 1)[0] for p in pods] == ["pi-0", "pi-1"]
    pod = pods[1]
    assert pod.metadata.annotations[batch.COMPLETION_INDEX] == "1"
    assert pod.metadata.labels[batch.COMPLETION_INDEX] == "1"
    assert pod.spec.hostname == "pi-1"
    env = {v.name: v for v in pod.spec.containers[0].env}
    source = env["JOB_COMPLETION_INDEX"].value_from
    assert source is not None and source.field_ref is not None
    assert source.field_ref.field_path == f"metadata.annotations['{batch.COMPLETION_INDEX}']"
    world.set_phase([pod], "Succeeded")
    world.run(jobs.plan_jobs)
    assert _job(world).status.completed_indexes == "1"
    running = sorted(p.name.rsplit("-", 1)[0] for p in world.active())
    assert running == ["pi-0", "pi-2"]
    world.set_phase(world.active(), "Succeeded")
    world.run(jobs.plan_jobs)
    job = _job(world)
    assert job.status.completed_indexes == "0-2" and job.status.succeeded == 3
    assert job.status.finished == "Complete"


def test_indexed_retry_of_a_failed_index_gets_a_new_name() -> None:
    world = b.World(b.job(completions=1, completion_mode="Indexed",
                          annotations={jobpods.BACKOFF_ANNOTATION: "0"}))
    world.run(jobs.plan_jobs)
    first = world.pods()[0]
    world.set_phase([first], "Failed")
    world.run(jobs.plan_jobs)
    retry = world.active()[0]
    assert retry.name != first.name and retry.name.startswith("pi-0-")


@pytest.mark.parametrize(("indexes", "text"), [
    pytest.param(set(), "", id="none"),
    pytest.param({0, 1, 2, 5}, "0-2,5", id="range-and-single"),
    pytest.param({3, 7, 8, 10}, "3,7-8,10", id="mixed"),
])
def test_completed_indexes_round_trip(indexes: set[int], text: str) -> None:
    assert jobpods.format_indexes(indexes) == text
    assert jobpods.parse_indexes(text) == indexes


def test_suspend_deletes_active_pods_and_resume_restarts_the_deadline() -> None:
    world = b.World(b.job(completions=2, parallelism=2, active_deadline_seconds=60))
    world.run(jobs.plan_jobs)
    world.set_phase(world.pods(), "Running")
    suspended = _job(world).model_copy(deep=True)
    suspended.spec.suspend = True
    world.put(suspended)
    world.advance(50)
    world.run(jobs.plan_jobs)
    job = _job(world)
    cond = _condition(job, "Suspended")
    assert cond is not None and (cond.status, cond.reason) == ("True", "JobSuspended")
    assert not world.pods() and job.status.active == 0 and job.status.failed == 0
    resumed = job.model_copy(deep=True)
    resumed.spec.suspend = False
    world.put(resumed)
    world.advance(50)  # 100 s after the first start: the deadline counts from the resume
    world.run(jobs.plan_jobs)
    job = _job(world)
    cond = _condition(job, "Suspended")
    assert cond is not None and (cond.status, cond.reason) == ("False", "JobResumed")
    assert job.status.start_time == b.at(100) and job.status.finished is None
    assert len(world.active()) == 2


def test_work_queue_completes_when_one_succeeded_and_none_runs() -> None:
    world = b.World(b.job(parallelism=2))
    assert _job(world).spec.completions is None
    world.run(jobs.plan_jobs)
    one, other = world.pods()
    world.set_phase([one], "Succeeded")
    world.run(jobs.plan_jobs)
    assert _job(world).status.finished is None and len(world.pods()) == 2  # no new pod
    world.set_phase([other], "Succeeded")
    world.run(jobs.plan_jobs)
    assert _job(world).status.finished == "Complete"


def test_a_counted_pod_stays_counted_when_it_disappears() -> None:
    world = b.World(b.job(completions=2))
    world.run(jobs.plan_jobs)
    world.set_phase(world.pods(), "Succeeded")
    world.run(jobs.plan_jobs)
    counted = [p for p in world.pods("Succeeded")]
    assert all(jobpods.COUNTED_ANNOTATION in p.metadata.annotations for p in counted)
    del world.objects[counted[0].key]  # e.g. its node left the inventory
    world.run(jobs.plan_jobs)
    assert _job(world).status.succeeded == 1 and len(world.active()) == 1


def test_finished_pods_are_kept_until_the_job_goes() -> None:
    world = b.World(b.job(completions=1))
    world.run(jobs.plan_jobs)
    world.set_phase(world.pods(), "Succeeded")
    world.advance(3600)
    for _ in range(3):
        world.run(jobs.plan_jobs)
    assert len(world.pods("Succeeded")) == 1


@pytest.mark.parametrize(("owned_by_cronjob", "gone"), [
    pytest.param(True, "job", id="cronjob-job-deleted"),
    pytest.param(False, "pods", id="git-job-keeps-object-drops-pods"),
])
def test_ttl_after_finished(owned_by_cronjob: bool, gone: str) -> None:
    owner = b.cronjob() if owned_by_cronjob else None
    world = b.World(b.job(ttl_seconds_after_finished=100, owner=owner,
                          source=None if owner else "jobs.yaml:1"))
    world.run(jobs.plan_jobs)
    world.set_phase(world.pods(), "Succeeded")
    world.run(jobs.plan_jobs)
    world.advance(99)
    assert not world.run(jobs.plan_jobs)
    world.advance(1)
    deleted = {a.target.kind for a in world.run(jobs.plan_jobs) if a.kind is ActionKind.DELETE}
    assert deleted == ({"Job"} if gone == "job" else {"Pod"})


def test_parallelism_lowered_deletes_extra_active_pods() -> None:
    world = b.World(b.job(completions=4, parallelism=3))
    world.run(jobs.plan_jobs)
    world.set_phase(world.pods(), "Running")
    lowered = _job(world).model_copy(deep=True)
    lowered.spec.parallelism = 1
    world.put(lowered)
    world.run(jobs.plan_jobs)
    assert len(world.active()) == 1


def test_status_counts_only_pods_already_stored() -> None:
    world = b.World(b.job(completions=2, parallelism=2))
    actions = jobs.plan_jobs(world.snapshot(), world.clock)
    status = [a for a in actions if a.kind is ActionKind.UPDATE and a.target.kind == "Job"]
    assert status and all(a.status_only for a in status)
    job = status[0].obj
    assert isinstance(job, batch.Job) and job.status.active == 0  # pods not written yet
    assert [a.kind for a in actions if a.target.kind == "Pod"] == [ActionKind.CREATE] * 2
    assert all(isinstance(a.obj, core.Pod) for a in actions if a.target.kind == "Pod")
