"""A Job's pods: deterministic names, the pods to create, finish times and the retry back-off.

The parts of Kubernetes' job controller (``pkg/controller/job``) that look at pods,
kept apart from the status logic in ``jobs.py``. Pod names are deterministic —
``<job>-<5 chars>``, or ``<job>-<index>-<5 chars>`` for Indexed Jobs — hashed from
the Job's uid and a slot, so a pass repeated or killed half-way never makes a
second copy. The back-off between retries is Kubernetes' (10 s, doubling, capped
at 6 minutes) counted from the finish time of the last failed pod, compared with
the injected clock, so a pass once a minute from cron behaves like a daemon.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from gitkube import clock as clocks
from gitkube.api import batch, core, hashing, keys, names, pods, podstate
from gitkube.api.meta import ObjectMeta
from gitkube.planning import objects
from gitkube.planning.snapshot import Snapshot

DEFAULT_BACKOFF_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 360.0
#: Annotation on a Job overriding the first back-off delay, in seconds (tests, impatient
#: people); the cap stays 36 times the base, as 10 s → 6 min in Kubernetes.
BACKOFF_ANNOTATION = "gitkube.io/job-backoff-seconds"
#: Annotation the controller puts on a finished pod once the Job's status counts it
#: (Kubernetes uses the batch.kubernetes.io/job-tracking finalizer for the same purpose).
COUNTED_ANNOTATION = "gitkube.io/job-counted"


def completion_index(pod: core.Pod) -> int | None:
    text = pod.metadata.annotations.get(batch.COMPLETION_INDEX)
    return int(text) if text is not None and text.isdigit() else None


def pod_name(job: batch.Job, slot: int, index: int | None = None) -> str:
    """``<job>-<5 chars>`` or ``<job>-<index>-<5 chars>``, cut as the Job controller's
    ``generateName`` is (at most 63 characters, the index kept)."""
    length = names.GENERATED_SUFFIX_LENGTH
    if index is None:
        suffix = hashing.stable_hash([job.metadata.uid, slot], length=length)
        return names.generated_name(f"{job.name}-", suffix)
    suffix = hashing.stable_hash([job.metadata.uid, index, slot], length=length)
    return names.indexed_generated_name(job.name, index, suffix)


def new_pods(
    snapshot: Snapshot, job: batch.Job, owned: list[core.Pod], count: int,
    indexes: Iterable[int | None], clock: clocks.Clock,
) -> list[core.Pod]:
    """Up to ``count`` new pods, one per entry of ``indexes`` (None: NonIndexed)."""
    taken = {p.name for p in owned}
    out: list[core.Pod] = []
    for index in indexes:
        if len(out) >= count:
            break
        slot = 0
        while True:
            name = pod_name(job, slot, index)
            key = keys.object_key("pods", job.namespace, name)
            if name not in taken and snapshot.get(key) is None:
                break
            slot += 1
        taken.add(name)
        out.append(_pod(snapshot, job, name, index, clock))
    return out


def _pod(
    snapshot: Snapshot, job: batch.Job, name: str, index: int | None, clock: clocks.Clock
) -> core.Pod:
    template = job.spec.template
    uid = job.metadata.uid or ""
    labels = {**template.metadata.labels, batch.CONTROLLER_UID_LABEL: uid,
              batch.JOB_NAME_LABEL: _label_value(job.name),
              batch.LEGACY_CONTROLLER_UID_LABEL: uid,
              batch.LEGACY_JOB_NAME_LABEL: _label_value(job.name)}
    annotations = dict(template.metadata.annotations)
    spec = template.spec.model_copy(deep=True)
    if index is not None:
        labels[batch.COMPLETION_INDEX] = str(index)
        annotations[batch.COMPLETION_INDEX] = str(index)
        spec = _with_index(spec, job, index)
    key = keys.object_key("pods", job.namespace, name)
    return core.Pod(
        metadata=ObjectMeta(
            name=name, namespace=job.namespace, labels=labels, annotations=annotations,
            owner_references=[objects.owner_reference(job)],
            uid=objects.deterministic_uid(snapshot.cluster, key, snapshot.revision),
            creation_timestamp=objects.now_text(clock), generation=1,
        ),
        spec=spec,
    )


def _with_index(spec: pods.PodSpec, job: batch.Job, index: int) -> pods.PodSpec:
    """JOB_COMPLETION_INDEX from the pod's annotation in every container (init containers
    included), as Kubernetes does; the hostname ``<job>-<index>`` when it is a valid label."""
    source = pods.EnvVarSource(field_ref=pods.ObjectFieldSelector(
        field_path=f"metadata.annotations['{batch.COMPLETION_INDEX}']"))

    def indexed(container: pods.Container) -> pods.Container:
        env = list(container.env)
        if all(v.name != batch.COMPLETION_INDEX_ENV for v in env):
            env.append(pods.EnvVar(name=batch.COMPLETION_INDEX_ENV, value_from=source))
        return container.model_copy(update={"env": env})

    hostname = f"{job.name}-{index}"
    update: dict[str, object] = {"containers": [indexed(c) for c in spec.containers]}
    if spec.init_containers:  # init containers too (indexed-job.yaml's reads it in one)
        update["init_containers"] = [indexed(c) for c in spec.init_containers]
    if spec.hostname is None and not names.dns1123_label_errors(hostname):
        update["hostname"] = hostname
    return spec.model_copy(update=update)


def _label_value(name: str) -> str:
    # A label value holds at most 63 characters; a Job name may be longer (Kubernetes too
    # falls back to the uid label alone then).
    return name if len(name) <= 63 else ""


# -- finish times and back-off -----------------------------------------------------------


def finished_at(pod: core.Pod, clock: clocks.Clock) -> dt.datetime:
    """When a finished pod finished (getFinishedTime), never later than the clock's now:
    the latest container finish, else when it stopped being ready, else when it was counted,
    else its creation."""
    now = clock.now()
    times = [s.state.terminated.finished_at for s in pod.status.container_statuses
             if s.state.terminated is not None]
    text: str | None = None
    if times and all(times):
        text = max(t for t in times if t)
    if text is None:
        ready = pod.status.condition("Ready")
        if ready is not None and ready.status == "False" and ready.last_transition_time:
            text = ready.last_transition_time
    text = text or pod.metadata.annotations.get(COUNTED_ANNOTATION)
    moment = objects.parse_or_epoch(text or pod.metadata.creation_timestamp)
    return min(moment, now)


def failures_after_last_success(
    owned: list[core.Pod], clock: clocks.Clock
) -> tuple[int, dt.datetime | None]:
    """(failed pods that finished after the last success, when the last of them did)."""
    succeeded = [finished_at(p, clock) for p in owned if p.status.phase == "Succeeded"]
    last_success = max(succeeded, default=None)
    failures = sorted(finished_at(p, clock) for p in owned if p.status.phase == "Failed")
    if last_success is not None:
        failures = [t for t in failures if t > last_success]
    return len(failures), (failures[-1] if failures else None)


def base_backoff(job: batch.Job) -> float:
    text = job.metadata.annotations.get(BACKOFF_ANNOTATION)
    try:
        value = float(text) if text is not None else DEFAULT_BACKOFF_SECONDS
    except ValueError:
        return DEFAULT_BACKOFF_SECONDS
    return value if value >= 0 else DEFAULT_BACKOFF_SECONDS


def backoff_delay(failures: int, base: float = DEFAULT_BACKOFF_SECONDS) -> float:
    """Kubernetes' delay before the next pod after ``failures`` failures in a row."""
    if failures <= 0:
        return 0.0
    cap = base * (MAX_BACKOFF_SECONDS / DEFAULT_BACKOFF_SECONDS)
    return float(min(base * 2.0 ** (failures - 1), cap))


def backoff_remaining(job: batch.Job, owned: list[core.Pod], clock: clocks.Clock) -> float:
    """Seconds until the Job may create its next pod; 0 when it may now."""
    failures, last = failures_after_last_success(owned, clock)
    if failures == 0 or last is None:
        return 0.0
    delay = backoff_delay(failures, base_backoff(job))
    elapsed = (clock.now() - last).total_seconds()
    return max(0.0, delay - elapsed)


def restarts_of_active(owned: list[core.Pod]) -> int:
    """Container restarts of pods still running (restartPolicy OnFailure's failures)."""
    return sum(s.restart_count for p in owned if podstate.is_active(p)
               for s in p.status.container_statuses)


# -- Indexed ------------------------------------------------------------------------------


def parse_indexes(text: str | None) -> set[int]:
    """``"0-2,5"`` → {0, 1, 2, 5} (status.completedIndexes)."""
    out: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        if first.isdigit() and (not last or last.isdigit()):
            out.update(range(int(first), int(last or first) + 1))
    return out


def format_indexes(indexes: Iterable[int]) -> str:
    """{0, 1, 2, 5} → ``"0-2,5"``, Kubernetes' compressed interval form."""
    ordered = sorted(set(indexes))
    parts: list[str] = []
    start = prev = None
    for value in [*ordered, None]:
        if value is not None and prev is not None and value == prev + 1:
            prev = value
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = value
    return ",".join(parts)
