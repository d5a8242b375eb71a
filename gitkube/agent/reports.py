"""What a runtime shows, in kubelet's words: PodReports from the containers a runtime lists.

Every runtime lists its containers in its own way (podman's ``ps`` JSON, containerd's
task list, the simulator's records) and hands them here as ``Seen`` records: labels, id,
image, a lower-case state (running, exited, created, paused...), exit code and times.
``pods_from`` groups them into pods by their uid label (``identity.LABEL_*``), the
sandbox apart, init containers (labelled with their index) in spec order under
``initContainers``, and gives each container kubelet's state and reason and each pod
kubelet's phase. So every runtime reports the same pod the same way, and the rules are
tested once, as pure functions. A pod is Pending until its init containers are done
(Failed when one failed under restartPolicy Never), and its app containers wait meanwhile
with kubelet's ``PodInitializing``.

``fill_missing`` adds the containers the runtime cannot show (their image never arrived)
from the agent's own records, and ``apply_stats`` lays resource use over the reports.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any, NamedTuple

from . import identity, protocol


class Seen(NamedTuple):
    """One container (or a pod's sandbox) as a runtime lists it."""

    #: As reported: a container's ``containerID`` (``<runtime>://<id>``), a sandbox's
    #: ``sandboxID`` (the runtime's id).
    id: str
    labels: dict[str, str]
    #: Lower-case: running, stopping, paused, exited, stopped, created, ...
    state: str
    image: str = ""
    image_id: str = ""
    exit_code: int = 0
    #: Unix seconds; 0: never.
    started: int = 0
    finished: int = 0
    #: The pod's sandbox (podman's infra container), not one of its containers.
    sandbox: bool = False
    #: The runtime's name for it, where the labels name no container.
    name: str = ""


def rfc3339(unix_seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(unix_seconds, tz=datetime.timezone.utc)  # noqa: UP017
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def pods_from(seen: Iterable[Seen]) -> list[protocol.PodReport]:
    """Group containers into pods by their gitkube uid label (unlabelled ones are not ours)."""
    pods: dict[str, protocol.PodReport] = {}
    inits: dict[str, list[tuple[int, protocol.ContainerReport]]] = {}
    sidecars: dict[str, set[str]] = {}
    for entry in seen:
        uid = entry.labels.get(identity.LABEL_POD_UID)
        if not uid:
            continue
        pod = pods.get(uid)
        if pod is None:
            pod = pods[uid] = _pod_from(uid, entry.labels)
        if entry.sandbox:
            pod["sandboxID"] = entry.id
            continue
        index = entry.labels.get(identity.LABEL_INIT, "")
        if not index.isdigit():
            pod["containers"].append(container_report(entry, pod["restartPolicy"]))
            continue
        sidecar = entry.labels.get(identity.LABEL_SIDECAR) == "true"
        policy = init_restart_policy(pod["restartPolicy"], sidecar=sidecar)
        inits.setdefault(uid, []).append((int(index), container_report(entry, policy)))
        if sidecar:
            sidecars.setdefault(uid, set()).add(str(inits[uid][-1][1].get("name", "")))
    for uid, pod in pods.items():
        pod["containers"].sort(key=lambda c: c.get("name", ""))
        if uid in inits:
            pod["initContainers"] = [c for _, c in sorted(inits[uid], key=lambda i: i[0])]
        pod["phase"] = pod_phase(pod["containers"], pod["restartPolicy"],
                                 init_state(pod, sidecars.get(uid, set())))
    return sorted(pods.values(), key=lambda p: (p["namespace"], p["name"], p["uid"]))


def _pod_from(uid: str, labels: dict[str, str]) -> protocol.PodReport:
    pod = protocol.PodReport(
        uid=uid,
        name=labels.get(identity.LABEL_POD_NAME, ""),
        namespace=labels.get(identity.LABEL_NAMESPACE, ""),
        hash=labels.get(identity.LABEL_SPEC_HASH, ""),
        restartPolicy=labels.get(identity.LABEL_RESTART_POLICY, "Always"),
        containers=[],
    )
    grace = labels.get(identity.LABEL_GRACE, "")
    if grace.isdigit():
        pod["terminationGracePeriodSeconds"] = int(grace)
    return pod


def container_report(entry: Seen, restart_policy: str) -> protocol.ContainerReport:
    """One container as kubelet would describe it (state, reason, exit code, times)."""
    report = protocol.ContainerReport(
        name=entry.labels.get(identity.LABEL_CONTAINER, entry.name),
        containerID=entry.id,
        image=entry.image,
        imageID=entry.image_id,
        restartCount=0,
        ready=False,
    )
    if entry.started > 0:
        report["startedAt"] = rfc3339(entry.started)
    state = entry.state
    if state in ("running", "stopping", "paused"):
        report["state"] = "running"
        report["ready"] = state == "running"
    elif state in ("exited", "stopped", "removing"):
        code = entry.exit_code
        report["exitCode"] = code
        if entry.finished > 0:
            report["finishedAt"] = rfc3339(entry.finished)
        if restart_policy == "Always" or (restart_policy == "OnFailure" and code != 0):
            report["state"] = "waiting"
            report["reason"] = "CrashLoopBackOff"
            report["message"] = f"back-off restarting the container (last exit code {code})"
        else:
            report["state"] = "terminated"
            report["reason"] = "Completed" if code == 0 else "Error"
    elif state in ("created", "configured", "initialized", ""):
        report["state"] = "waiting"
        report["reason"] = "ContainerCreating"
    else:
        report["state"] = "waiting"
        report["reason"] = state.capitalize()
    return report


def init_restart_policy(pod_policy: str, *, sidecar: bool) -> str:
    """How an init container is restarted: a sidecar always, another only after a failure
    (never under the pod's Never); an exit 0 completes it."""
    if sidecar:
        return "Always"
    return "Never" if pod_policy == "Never" else "OnFailure"


def init_state(pod: protocol.PodReport, sidecars: set[str]) -> str:
    """"done", "pending" or "failed": where the pod's init containers stand."""
    inits = pod.get("initContainers", [])
    if not inits or any(c.get("containerID") for c in pod.get("containers", [])):
        return "done"
    for container in inits:
        state = container.get("state")
        if container.get("name") in sidecars:
            if state == "running" and container.get("started") is not False:
                continue
            return "pending"
        if state == "terminated" and int(container.get("exitCode", 0)) == 0:
            continue
        return "failed" if state == "terminated" else "pending"
    return "done"


def pod_phase(containers: list[protocol.ContainerReport], restart_policy: str,
              init: str = "done") -> str:
    """Kubelet's pod phase from its containers' states (``init``: see ``init_state``)."""
    if init == "failed":
        return "Failed"
    if init != "done" or not containers:
        return "Pending"
    states = [c.get("state") for c in containers]
    if any(
        c.get("state") == "waiting" and c.get("reason") in protocol.START_WAITING_REASONS
        for c in containers
    ):
        return "Pending"
    if any(s in ("running", "waiting") for s in states):
        return "Running"
    codes = [c.get("exitCode", 0) for c in containers]
    if all(code == 0 for code in codes):
        return "Succeeded" if restart_policy != "Always" else "Running"
    return "Failed" if restart_policy == "Never" else "Running"


WaitRecords = dict[str, dict[str, dict[str, Any]]]


def fill_missing(
    desired: list[protocol.PodRun], actual: list[protocol.PodReport], waiting: WaitRecords
) -> list[protocol.PodReport]:
    """Report desired containers the runtime does not have yet, as kubelet would (waiting)."""
    by_uid = {pod["uid"]: pod for pod in actual}
    result = list(actual)
    for want in desired:
        uid = want.get("uid", "")
        have = by_uid.get(uid)
        if have is not None and have.get("hash") != want.get("hash"):
            continue
        if have is None:
            have = protocol.PodReport(
                uid=uid,
                name=want.get("name", ""),
                namespace=want.get("namespace", ""),
                hash=want.get("hash", ""),
                restartPolicy=want.get("restartPolicy", "Always"),
                containers=[],
            )
            result.append(have)
        records = waiting.get(uid, {})
        specs = want.get("initContainers", [])
        sidecars = {c.get("name", "") for c in specs if c.get("restartPolicy") == "Always"}
        initialised = any(c.get("containerID") for c in have.get("containers", []))
        if specs:
            present = {c.get("name"): c for c in have.get("initContainers", [])}
            have["initContainers"] = [
                present.get(spec.get("name")) or _missing_init(spec, records, initialised)
                for spec in specs
            ]
        state = init_state(have, sidecars)
        app_reason = "ContainerCreating" if state == "done" else protocol.POD_INITIALIZING
        present = {c.get("name"): c for c in have.get("containers", [])}
        ordered: list[protocol.ContainerReport] = []
        for spec in want.get("containers", []):
            name = spec.get("name", "")
            found = present.pop(name, None)
            if found is None:
                found = _waiting(spec, records.get(name, {}), app_reason)
            ordered.append(found)
        have["containers"] = ordered + list(present.values())
        have["phase"] = pod_phase(have["containers"], have.get("restartPolicy", "Always"), state)
    return sorted(result, key=lambda p: (p.get("namespace", ""), p.get("name", ""), p["uid"]))


def _waiting(spec: protocol.ContainerRun, record: dict[str, Any],
             reason: str) -> protocol.ContainerReport:
    found = protocol.ContainerReport(
        name=spec.get("name", ""),
        image=spec.get("image", ""),
        state="waiting",
        ready=False,
        restartCount=0,
        reason=str(record.get("reason", reason)),
    )
    if record.get("message"):
        found["message"] = str(record["message"])
    return found


def _missing_init(spec: protocol.ContainerRun, records: dict[str, Any],
                  initialised: bool) -> protocol.ContainerReport:
    """An init container the node does not show: not run yet, or done and removed since."""
    if initialised and spec.get("restartPolicy") != "Always":
        # Its work is done (the app containers exist): kubelet keeps reporting it Completed.
        return protocol.ContainerReport(name=spec.get("name", ""), image=spec.get("image", ""),
                                        state="terminated", reason="Completed", exitCode=0,
                                        ready=False, restartCount=0)
    reason = "ContainerCreating" if initialised else protocol.POD_INITIALIZING
    return _waiting(spec, records.get(spec.get("name", ""), {}), reason)


def apply_stats(pods: list[protocol.PodReport], stats: dict[str, tuple[int, int]]) -> None:
    """Lay the runtime's ``stats`` (keyed by a prefix of ``containerID``) over the reports."""
    for pod in pods:
        for container in pod.get("containers", []):
            cid = container.get("containerID", "")
            for short, (cpu, memory) in stats.items():
                if short and cid.startswith(short):
                    container["cpuMillis"] = cpu
                    container["memoryBytes"] = memory
