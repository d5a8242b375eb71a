"""A pod's initialisation, one step at a time: which of its containers may be created now.

Pure functions of the pod (``PodRun``) and what the node shows of it (``PodReport``), as
kubelet's computeInitContainerActions: the first init container, then each next one once
the previous exited 0 (a sidecar, ``restartPolicy: Always``: once it runs and its startup
probe passed), then the app containers. Nothing here waits: converge takes the step the
node allows now, the supervisor takes the next ones as they become due, and every runtime's
``create_pod`` creates exactly what ``creatable`` answers (``Runtime.containers_to_create``).
"""

from __future__ import annotations

import dataclasses

from . import protocol


@dataclasses.dataclass(frozen=True)
class InitProgress:
    """Where a pod stands in its initialisation."""

    #: Every init container is done: the app containers may be created.
    done: bool = True
    #: An init container failed under restartPolicy Never: the pod is Failed, nothing runs.
    failed: bool = False
    #: Init containers (sidecars, or the next init container) to create now.
    create: tuple[str, ...] = ()


def is_sidecar(spec: protocol.ContainerRun) -> bool:
    return spec.get("restartPolicy") == "Always"


def all_containers(pod: protocol.PodRun) -> list[protocol.ContainerRun]:
    """Init containers first, then app containers (names are unique across both)."""
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def init_progress(pod: protocol.PodRun, found: protocol.PodReport | None) -> InitProgress:
    """What the pod's init containers allow now, from what the node shows (``found``)."""
    inits = pod.get("initContainers", [])
    if not inits:
        return InitProgress()
    have = {c.get("name"): c for c in (found or {}).get("initContainers", [])
            if c.get("containerID")}
    if any(c.get("containerID") for c in (found or {}).get("containers", [])):
        # Initialised before (the app containers exist): only lost sidecars come back.
        lost = [c.get("name", "") for c in inits if is_sidecar(c) and c.get("name") not in have]
        return InitProgress(create=tuple(lost))
    for spec in inits:
        report = have.get(spec.get("name"))
        if report is None:
            return InitProgress(done=False, create=(spec.get("name", ""),))
        running = report.get("state") == "running"
        if is_sidecar(spec):
            if running and report.get("started") is not False:
                continue
            return InitProgress(done=False)  # starting, or waiting out its restart back-off
        if not running and "exitCode" in report and int(report.get("exitCode", 0)) == 0:
            continue
        failed = not running and "exitCode" in report and pod.get("restartPolicy") == "Never"
        return InitProgress(done=False, failed=failed)
    return InitProgress()


def creatable(pod: protocol.PodRun, found: protocol.PodReport | None) -> list[str]:
    """The containers (init and app) to create now: missing ones the pod's progress allows."""
    progress = init_progress(pod, found)
    wanted = list(progress.create)
    if progress.done:
        present = {c.get("name") for c in (found or {}).get("containers", [])
                   if c.get("containerID")}
        wanted += [c.get("name", "") for c in pod.get("containers", [])
                   if c.get("name") not in present]
    return wanted
