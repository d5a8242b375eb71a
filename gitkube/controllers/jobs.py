"""Job → Pods: run pods to completion, retry failures with back-off, say how it ended.

Kubernetes' job controller (``pkg/controller/job``) as a pure planner. Each pass,
per Job:

1. Count pods that finished since the last pass into ``status.succeeded`` /
   ``failed`` (and ``completedIndexes``), marking each counted pod so it is
   counted once even if it disappears later (Kubernetes' tracking finalizer).
2. Suspended: delete active pods, condition Suspended; resuming restarts the
   activeDeadlineSeconds timer (``startTime`` = now).
3. Failed: more failed pods than ``backoffLimit`` (for OnFailure: container
   restarts reaching it) → BackoffLimitExceeded; older than
   ``activeDeadlineSeconds`` → DeadlineExceeded. Active pods are deleted and
   counted as failed.
4. Complete: ``completions`` pods succeeded (every index, for Indexed; any pod and
   none running, for a work queue) → condition Complete and ``completionTime``.
5. Otherwise keep ``min(parallelism, remaining)`` pods active, waiting out the
   back-off after failures (``jobpods.backoff_remaining``).

Finished pods are kept (for ``gitkube logs``) until the Job goes. After
``ttlSecondsAfterFinished`` a Job owned by a CronJob is deleted (garbage collection
takes its pods); a Job Git declares is kept — Git is the source of truth and would
create it again — and only its pods are deleted.

Counting and status writes are ``status_only`` so the pass records them right after
converging; creating and deleting pods waits for the next plan.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from gitkube import clock as clocks
from gitkube.api import batch, core, podstate
from gitkube.api.meta import SOURCE_ANNOTATION
from gitkube.controllers import jobpods, replicasets
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "job"
BACKOFF_LIMIT = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")


def plan_jobs(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    pods = replicasets.pods_by_controller(snapshot)
    actions: list[Action] = []
    for stored in snapshot.stored_of_kind(batch.Job):
        job = stored.obj
        if isinstance(job, batch.Job) and not job.metadata.deletion_timestamp:
            owned = pods.get(job.metadata.uid or "", [])
            actions += sync_job(snapshot, job, stored.mod_revision, owned, clock)
    return actions


def sync_job(
    snapshot: Snapshot, job: batch.Job, revision: int, owned: list[core.Pod],
    clock: clocks.Clock,
) -> list[Action]:
    if job.status.finished:
        return _delete_active(snapshot, job, owned, "finished") + _expire(snapshot, job, owned,
                                                                           clock)
    sync = _Sync(snapshot, job, owned, clock)
    sync.count_finished()
    sync.manage()
    status = sync.status()
    if status != job.status:
        sync.actions.append(Action(
            ActionKind.UPDATE, ObjectRef.of(job), _status_reason(job, status),
            obj=job.model_copy(update={"status": status}), expected_revision=revision,
            status_only=True, source=SOURCE,
        ))
    return sync.actions


class _Sync:
    """One Job's sync: the status being built and the actions planned so far."""

    def __init__(self, snapshot: Snapshot, job: batch.Job, owned: list[core.Pod],
                 clock: clocks.Clock) -> None:
        self.snapshot, self.job, self.owned, self.clock = snapshot, job, owned, clock
        self.now = objects.now_text(clock)
        self.fields: dict[str, Any] = job.status.model_dump()
        self.conditions = [c.to_dict() for c in job.status.conditions]
        self.completed = jobpods.parse_indexes(job.status.completed_indexes)
        self.actions: list[Action] = []

    @property
    def spec(self) -> batch.JobSpec:
        return self.job.spec

    def count_finished(self) -> None:
        """Kubernetes' trackJobStatusAndRemoveFinalizers: each finished pod counted once."""
        completions = self.spec.completions or 0
        indexed = self.spec.completion_mode == "Indexed"
        for pod in self.owned:
            if (not podstate.is_terminal(pod)
                    or jobpods.COUNTED_ANNOTATION in pod.metadata.annotations):
                continue
            if pod.status.phase == "Failed":
                self.fields["failed"] += 1
            elif not indexed:
                self.fields["succeeded"] += 1
            else:
                index = jobpods.completion_index(pod)
                if index is not None and index < completions:
                    self.completed.add(index)
            marked = pod.model_copy(deep=True)
            marked.metadata.annotations[jobpods.COUNTED_ANNOTATION] = self.now
            stored = self.snapshot.get(pod.key)
            self.actions.append(Action(
                ActionKind.UPDATE, ObjectRef.of(pod),
                f"{objects.describe(self.job)} counts pod {pod.name} ({pod.status.phase})",
                obj=marked, expected_revision=stored.mod_revision if stored else None,
                status_only=True, source=SOURCE,
            ))
            self.owned = [marked if p.name == pod.name else p for p in self.owned]
        if indexed:
            self.fields["succeeded"] = len(self.completed)
            self.fields["completed_indexes"] = jobpods.format_indexes(self.completed) or None

    def manage(self) -> None:
        if self.spec.suspend:
            self._suspend()
            return
        if self._condition_true("Suspended"):
            self._set("Suspended", "False", "JobResumed", "Job resumed")
            self.fields["start_time"] = self.now  # the deadline timer starts again
        self.fields["start_time"] = self.fields["start_time"] or self.now
        failure = self._failure()
        if failure is not None:
            active = [p for p in self.owned if podstate.is_active(p) and self._stored(p)]
            self.fields["failed"] += len(active)
            self._set("Failed", "True", *failure)
            self.actions += _delete_active(self.snapshot, self.job, self.owned, failure[0])
            return
        if self._complete():
            self._set("Complete", "True", "", "")
            self.fields["completion_time"] = self.now
            self.actions += _delete_active(self.snapshot, self.job, self.owned, "complete")
            return
        self._keep_active()

    def status(self) -> batch.JobStatus:
        active = [p for p in self.owned if podstate.is_active(p) and self._stored(p)]
        if self.fields_finished():
            active = []
        self.fields["active"] = len(active)
        self.fields["ready"] = sum(1 for p in active if podstate.is_ready(p))
        self.fields["conditions"] = self.conditions
        return batch.JobStatus.model_validate(self.fields)

    def fields_finished(self) -> bool:
        return self._condition_true("Complete") or self._condition_true("Failed")

    # -- the steps ------------------------------------------------------------------------

    def _suspend(self) -> None:
        self.actions += _delete_active(self.snapshot, self.job, self.owned, "suspended")
        self.owned = [p for p in self.owned if not podstate.is_active(p)]
        self._set("Suspended", "True", "JobSuspended", "Job suspended")

    def _failure(self) -> tuple[str, str] | None:
        limit = self.spec.backoff_limit
        if self.fields["failed"] > limit:
            return BACKOFF_LIMIT
        if self.spec.template.spec.restart_policy == "OnFailure":
            restarts = jobpods.restarts_of_active(self.owned)
            if (restarts > 0 if limit == 0 else restarts >= limit):
                return BACKOFF_LIMIT
        deadline = self.spec.active_deadline_seconds
        age = objects.seconds_since(self.fields["start_time"], self.clock)
        if deadline is not None and age is not None and age >= deadline:
            return DEADLINE
        return None

    def _complete(self) -> bool:
        succeeded = int(self.fields["succeeded"])
        if self.spec.completions is None:  # a work queue: one success, and nothing running
            return succeeded > 0 and not any(podstate.is_active(p) for p in self.owned)
        return succeeded >= self.spec.completions

    def _keep_active(self) -> None:
        active = [p for p in self.owned if podstate.is_active(p)]
        parallelism = self.spec.wanted_parallelism
        indexes: Iterable[int | None]
        if self.spec.completion_mode == "Indexed":
            completions = self.spec.completions or 0
            # Counted, not listed: completions may be in the billions.
            done = {i for i in {*self.completed, *(jobpods.completion_index(p) for p in active)}
                    if i is not None and 0 <= i < completions}
            indexes = (i for i in range(completions) if i not in done)
            wanted = min(parallelism, len(active) + completions - len(done))
        elif self.spec.completions is None:
            wanted = len(active) if self.fields["succeeded"] > 0 else parallelism
            indexes = itertools.repeat(None)
        else:
            wanted = min(parallelism, self.spec.completions - self.fields["succeeded"])
            indexes = itertools.repeat(None)
        if len(active) > wanted:
            for pod in replicasets.pods_to_delete(active, len(active) - wanted):
                self.actions.append(_delete(self.snapshot, pod, f"{objects.describe(self.job)} "
                                            f"wants {wanted} active, has {len(active)}"))
            return
        if len(active) == wanted:
            return
        if jobpods.backoff_remaining(self.job, self.owned, self.clock) > 0:
            return  # a later pass creates the pod, once the back-off has passed
        budget = replicasets.creation_budget(active, wanted - len(active))
        for pod in jobpods.new_pods(self.snapshot, self.job, self.owned, budget, indexes,
                                    self.clock):
            self.actions.append(Action(
                ActionKind.CREATE, ObjectRef.of(pod),
                f"{objects.describe(self.job)} wants {wanted} active "
                f"({self.fields['succeeded']} succeeded, {self.fields['failed']} failed)",
                obj=pod, expected_revision=0, source=SOURCE,
            ))

    # -- helpers --------------------------------------------------------------------------

    def _stored(self, pod: core.Pod) -> bool:
        """Already in the store (not just planned in this pass): what status may count."""
        stored = self.snapshot.get(pod.key)
        return stored is not None and stored.mod_revision > 0

    def _condition_true(self, kind: str) -> bool:
        cond = objects.condition(self.conditions, kind)
        return cond is not None and cond.get("status") == "True"

    def _set(self, kind: str, status: str, reason: str, message: str) -> None:
        self.conditions = objects.set_condition(self.conditions, kind, status, self.now,
                                                reason=reason, message=message)
        for cond in self.conditions:
            if cond["type"] == kind:
                cond.setdefault("lastProbeTime", self.now)


def _delete_active(
    snapshot: Snapshot, job: batch.Job, owned: list[core.Pod], why: str
) -> list[Action]:
    return [_delete(snapshot, pod, f"{objects.describe(job)} is {why.lower()}")
            for pod in owned if podstate.is_active(pod)]


def _delete(snapshot: Snapshot, pod: core.Pod, reason: str) -> Action:
    stored = snapshot.get(pod.key)
    return Action(ActionKind.DELETE, ObjectRef.of(pod), reason,
                  expected_revision=stored.mod_revision if stored else None, source=SOURCE)


def _expire(
    snapshot: Snapshot, job: batch.Job, owned: list[core.Pod], clock: clocks.Clock
) -> list[Action]:
    """ttlSecondsAfterFinished (Kubernetes' TTL-after-finished controller)."""
    ttl = job.spec.ttl_seconds_after_finished
    kind = job.status.finished
    cond = job.status.condition(kind) if kind else None
    finished = job.status.completion_time or (cond.last_transition_time if cond else None)
    age = objects.seconds_since(finished, clock)
    if ttl is None or age is None or age < ttl:
        return []
    why = f"finished {age:.0f} s ago; ttlSecondsAfterFinished is {ttl}"
    if SOURCE_ANNOTATION in job.metadata.annotations and not job.metadata.owner_references:
        # Git declares this Job: deleting it would only make the next pass create it again.
        return [_delete(snapshot, pod, f"{objects.describe(job)} {why}; Git still declares "
                                       "the Job, so only its pods go") for pod in owned]
    stored = snapshot.get(job.key)
    return [Action(ActionKind.DELETE, ObjectRef.of(job), f"{objects.describe(job)} {why}",
                   expected_revision=stored.mod_revision if stored else None, source=SOURCE)]


def _status_reason(job: batch.Job, status: batch.JobStatus) -> str:
    done = status.finished
    where = objects.describe(job)
    if done == "Failed":
        cond = status.condition("Failed")
        return f"{where} failed: {cond.reason if cond else ''}"
    if done == "Complete":
        return f"{where} complete: {status.succeeded} succeeded"
    wanted = job.spec.completions
    return (f"{where}: {status.active} active, {status.succeeded}"
            f"{f'/{wanted}' if wanted is not None else ''} succeeded, {status.failed} failed")
