"""Converging one node: plan (pure) which pods to create and remove, then do it in parallel.

``plan_node`` compares the desired pods with what the runtime shows, by pod uid
and spec hash: a missing pod is created, a pod whose hash changed is replaced (as is
one holding a container the runtime never started), a pod no longer desired is removed,
and a pod lacking some containers (an interrupted converge, an image that had not
arrived) is completed. ``execute``
resolves images once per converge (pull policy, pull back-off), removes first
(freeing names and host ports), then creates, with a few workers in parallel.
Per-pod failures become events and waiting reasons, never a failed converge.

A pod with init containers is created one step at a time (``initsteps``, pure): a
converge never waits for an init container: it takes the step the node allows now, and
the node's supervisor takes the next ones as they become due (as does every later
converge). Everything goes through the runtime interface (``runtimes.base.Runtime``).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from . import identity, initsteps, protocol
from .runtimes import base

_T = TypeVar("_T")
_R = TypeVar("_R")
_EAGERNESS = {"Never": 0, "IfNotPresent": 1, "Always": 2}
#: Runtimes serialise much of their work on locks; more workers than this only queue.
WORKERS = 4
_BACKOFF_FIRST, _BACKOFF_MAX = 10.0, 300.0

#: Why a container cannot be created yet: (waiting reason, message).
Blocked = tuple[str, str]


def plan_node(
    desired: list[protocol.PodRun], actual: list[protocol.PodReport]
) -> tuple[list[protocol.PodRun], list[protocol.PodReport]]:
    """(pods to create or complete, pods to remove); removals go first when executed."""
    have = {pod["uid"]: pod for pod in actual}
    want_uids = {pod.get("uid", "") for pod in desired}
    to_create: list[protocol.PodRun] = []
    to_remove = [pod for pod in actual if pod["uid"] not in want_uids]
    for pod in desired:
        found = have.get(pod.get("uid", ""))
        if found is not None and (
            found.get("hash") != pod.get("hash") or changed_containers(pod, found)
            or never_started(found)
        ):
            to_remove.append(found)
            to_create.append(pod)
        elif found is None or initsteps.creatable(pod, found):
            to_create.append(pod)
    return to_create, to_remove


def changed_containers(pod: protocol.PodRun, found: protocol.PodReport) -> list[str]:
    """Containers that run another image than desired: changed by hand on the node (drift)."""
    want = {c.get("name"): protocol.normalize_image(c.get("image", ""))
            for c in pod.get("containers", [])}
    return [
        str(c.get("name")) for c in found.get("containers", [])
        if c.get("containerID") and c.get("image") and c.get("name") in want
        and protocol.normalize_image(str(c.get("image"))) != want[c.get("name")]
    ]


def never_started(found: protocol.PodReport) -> list[str]:
    """Containers the runtime holds but never started. A converge starts what it creates
    (a failed start removes the container), so one left behind is a container whose state
    the runtime lost: podman's run directory reset under it (``podman start`` then fails
    with "container with given ID already exists"), or a create cut short by a kill. Its
    pod is made again, as kubelet makes a pod whose sandbox died."""
    return [
        str(c.get("name")) for c in [*found.get("initContainers", []), *found.get("containers", [])]
        if c.get("containerID") and c.get("state") == "waiting" and "exitCode" not in c
        and c.get("reason") == "ContainerCreating"
    ]


def default_pull_policy(image: str) -> str:
    """Kubernetes' default: Always for ``:latest`` or untagged images, else IfNotPresent."""
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    return "Always" if ":" not in last or last.endswith(":latest") else "IfNotPresent"


@dataclasses.dataclass
class Outcome:
    created: list[str] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    missing_images: list[str] = dataclasses.field(default_factory=list)

    def event(self, kind: str, reason: str, message: str, **about: str) -> None:
        """Record an event; ``about`` names its pod, container or image (empty ones dropped)."""
        record = {"type": kind, "reason": reason, "message": message}
        record.update({key: value for key, value in about.items() if value})
        self.events.append(record)


def execute(
    rt: base.Runtime,
    cluster: str,
    desired: list[protocol.PodRun],
    actual: list[protocol.PodReport],
    waiting: dict[str, Any],
    *,
    now: float,
) -> Outcome:
    """Converge the node; update ``waiting`` (container reasons, pull back-off) in place."""
    outcome = Outcome()
    workers = WORKERS if rt.parallel else 1
    to_create, to_remove = plan_node(desired, actual)
    failed_removals = _remove_all(rt, cluster, to_remove, workers, outcome)
    to_create = [pod for pod in to_create if pod.get("uid") not in failed_removals]
    removing = {pod["uid"] for pod in to_remove}
    kept = {pod["uid"]: pod for pod in actual if pod["uid"] not in removing}
    policies = _pull_policies(to_create, kept)
    unavailable = _resolve_images(rt, policies, waiting, now, outcome, workers)
    records: dict[str, dict[str, Any]] = waiting.setdefault("containers", {})

    def create(pod: protocol.PodRun) -> tuple[int, list[tuple[str, str, str]]]:
        return _create(rt, cluster, pod, kept.get(pod.get("uid", "")), unavailable, records)

    for pod, result, error in _parallel(create, to_create, workers):
        key, uid = identity.key(pod), pod.get("uid", "")
        if result is not None:
            started, blocked = result
            if started:
                outcome.created.append(key)
                outcome.event("Normal", "Started", f"started {started} container(s)", pod=key)
            for name, reason, message in blocked:
                outcome.event("Warning", reason, message, pod=key, container=name)
            continue
        failure = error if isinstance(error, base.RuntimeFailure) else None
        name = failure.container if failure is not None else ""
        if failure is not None and name:
            # CreateContainerConfigError when the runtime refused the configuration
            # (runAsNonRoot with a root image), as kubelet reports it.
            records.setdefault(uid, {})[name] = {"reason": failure.reason, "message": str(error)}
        outcome.event("Warning", "FailedCreate", str(error), pod=key, container=name)
    # What lifecycle hooks did meanwhile (FailedPostStartHook, FailedPreStopHook).
    outcome.events += rt.take_events()
    return outcome


def _remove_all(rt: base.Runtime, cluster: str, to_remove: list[protocol.PodReport],
                workers: int, outcome: Outcome) -> set[str]:
    """Remove pods (events for each); answers the uids that could not be removed."""
    failed: set[str] = set()

    def remove(pod: protocol.PodReport) -> None:
        rt.remove_pod(cluster, pod["uid"], int(pod.get("terminationGracePeriodSeconds", 30)))

    for gone, _, error in _parallel(remove, to_remove, workers):
        if error is None:
            outcome.removed.append(identity.key(gone))
            outcome.event(
                "Normal", "Killing", "stopped and removed the pod", pod=identity.key(gone)
            )
        else:
            failed.add(gone["uid"])
            outcome.event("Warning", "FailedKillPod", str(error), pod=identity.key(gone))
    return failed


def _create(rt: base.Runtime, cluster: str, pod: protocol.PodRun,
            existing: protocol.PodReport | None, unavailable: dict[str, Blocked],
            records: dict[str, dict[str, Any]]) -> tuple[int, list[tuple[str, str, str]]]:
    """Create what the pod lacks, but for containers whose image is unavailable (recorded
    as waiting); answers (containers started, [(name, reason, message)] blocked)."""
    uid = pod.get("uid", "")
    needed = set(initsteps.creatable(pod, existing))
    runnable, blocked = [], []
    for container in initsteps.all_containers(pod):
        name = container.get("name", "")
        reason = unavailable.get(container.get("image", ""))
        if reason is None or name not in needed:
            runnable.append(name)
            continue
        blocked.append((name, *reason))
        records.setdefault(uid, {})[name] = {"reason": reason[0], "message": reason[1]}
    rt.create_pod(cluster, {
        **pod,
        "containers": [c for c in pod.get("containers", []) if c.get("name") in runnable],
        **({"initContainers": [c for c in pod["initContainers"] if c.get("name") in runnable]}
           if pod.get("initContainers") else {}),
    }, existing=existing)
    started = [name for name in runnable if name in needed]
    return len(started), blocked


def prune_waiting(
    waiting: dict[str, Any], desired: list[protocol.PodRun], actual: list[protocol.PodReport]
) -> None:
    """Forget reasons for containers that now exist or pods no longer desired."""
    exists = {
        (pod["uid"], c.get("name"))
        for pod in actual
        for c in [*pod.get("initContainers", []), *pod.get("containers", [])]
        if c.get("containerID")
    }
    wanted = {pod.get("uid", ""): pod for pod in desired}
    records: dict[str, dict[str, Any]] = waiting.get("containers", {})
    for uid in list(records):
        names = ({c.get("name") for c in initsteps.all_containers(wanted[uid])}
                 if uid in wanted else ())
        for name in list(records[uid]):
            if name not in names or (uid, name) in exists:
                del records[uid][name]
        if not records[uid]:
            del records[uid]
    images = {c.get("image") for pod in desired for c in initsteps.all_containers(pod)}
    pulls: dict[str, Any] = waiting.get("pulls", {})
    for ref in list(pulls):
        if ref not in images:
            del pulls[ref]


def _pull_policies(to_create: list[protocol.PodRun], kept: dict[str, protocol.PodReport]
                   ) -> dict[str, str]:
    """The pull policy of each image of the containers about to be created."""
    policies: dict[str, str] = {}
    for pod in to_create:
        needed = set(initsteps.creatable(pod, kept.get(pod.get("uid", ""))))
        for container in initsteps.all_containers(pod):
            if container.get("name") not in needed:
                continue
            image = container.get("image", "")
            policy = container.get("imagePullPolicy") or default_pull_policy(image)
            # The most eager policy among the containers sharing an image decides.
            if _EAGERNESS[policy] >= _EAGERNESS[policies.get(image, "Never")]:
                policies[image] = policy
    return policies


def _resolve_images(rt: base.Runtime, policies: dict[str, str], waiting: dict[str, Any],
                    now: float, outcome: Outcome, workers: int) -> dict[str, Blocked]:
    """Make the images of containers about to be created present; answer those that are not."""
    pulls: dict[str, dict[str, Any]] = waiting.setdefault("pulls", {})

    def resolve(image: str) -> Blocked | None:
        return _resolve(rt, image, policies[image], pulls, now, outcome)

    unavailable: dict[str, Blocked] = {}
    for image, blocked, error in _parallel(resolve, list(policies), workers):
        if error is not None:
            blocked = ("ErrImagePull", f"Failed to pull image {image}: {error}")
        if blocked is not None:
            unavailable[image] = blocked
            outcome.missing_images.append(image)
    return unavailable


def _resolve(rt: base.Runtime, image: str, policy: str, pulls: dict[str, dict[str, Any]],
             now: float, outcome: Outcome) -> Blocked | None:
    """Pull one image as its policy and back-off allow; None once it is present."""
    present = rt.has_image(image)
    if policy == "Never" or (policy == "IfNotPresent" and present):
        if present:
            pulls.pop(image, None)
            return None
        return "ErrImageNeverPull", (
            f"Container image {image} is not present with pull policy of Never; "
            "ship it to the node (load-image)."
        )
    record = pulls.get(image)
    if record:
        delay = min(_BACKOFF_FIRST * 2 ** (int(record["failures"]) - 1), _BACKOFF_MAX)
        if now < float(record["last"]) + delay and not present:
            return "ImagePullBackOff", f"Back-off pulling image {image}: {record['message']}"
    try:
        rt.pull_image(image)
    except base.RuntimeFailure as exc:
        failures = int(record["failures"]) + 1 if record else 1
        pulls[image] = {"failures": failures, "last": now, "message": str(exc)}
        if present:
            outcome.event(
                "Warning", "Failed", f"pull failed, using the node's copy: {exc}", image=image
            )
            return None
        return "ErrImagePull", f"Failed to pull image {image}: {exc}"
    pulls.pop(image, None)
    outcome.event("Normal", "Pulled", "pulled the image", image=image)
    return None


def _parallel(
    work: Callable[[_T], _R], items: list[_T], workers: int
) -> list[tuple[_T, _R | None, Exception | None]]:
    """Run ``work`` on every item with ``workers`` threads: (item, result, exception), in order."""
    results: list[tuple[_T, _R | None, Exception | None]] = []
    if workers <= 1 or len(items) <= 1:
        for item in items:
            try:
                results.append((item, work(item), None))
            except Exception as exc:
                results.append((item, None, exc))
        return results
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [pool.submit(work, item) for item in items]
        for item, future in zip(items, futures):  # noqa: B905 - zip(strict=) needs Python 3.10
            try:
                results.append((item, future.result(), None))
            except Exception as exc:
                results.append((item, None, exc))
    return results
