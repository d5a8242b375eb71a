"""Pure parsers: podman's output in, the protocol's PodReports out.

The agent observes a node with one ``podman ps -a --format json`` and, only
where ps cannot tell (restart counts, OOM kills, the pod IP), one batched
``podman inspect``. Everything here is a pure function of that text, tested on
output recorded from a real podman (``tests/agent/data/``). The phase rules
follow kubelet's; ``fill_missing`` adds the containers the runtime cannot show
(their image never arrived) from the agent's own records.

Init containers (labelled ``io.gitkube.init=<index>``) are reported apart, in spec
order, under ``initContainers``. A pod is Pending until they are done (Failed when
one failed under restartPolicy Never), and its app containers wait meanwhile with
kubelet's ``PodInitializing``.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, NamedTuple

from . import protocol

#: podman prints Go's zero time (0001-01-01) as this Unix timestamp for "never".
_GO_ZERO_TIME = -62135596800

#: ``podman inspect --format`` template, one tab-separated line per container.
INSPECT_TEMPLATE = (
    "{{.Id}}\t{{.RestartCount}}\t{{.State.OOMKilled}}\t"
    "{{range .NetworkSettings.Networks}}{{.IPAddress}},{{end}}"
)


class InspectFacts(NamedTuple):
    restart_count: int
    oom_killed: bool
    ip: str


def rfc3339(unix_seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(unix_seconds, tz=datetime.timezone.utc)  # noqa: UP017
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _loads_list(json_text: str) -> list[dict[str, Any]]:
    if not json_text.strip():
        return []
    data = json.loads(json_text)
    return list(data) if isinstance(data, list) else []


def parse_ps(json_text: str) -> list[protocol.PodReport]:
    """Group ``podman ps -a --format json`` entries into pods by their gitkube uid label."""
    pods: dict[str, protocol.PodReport] = {}
    inits: dict[str, list[tuple[int, protocol.ContainerReport]]] = {}
    sidecars: dict[str, set[str]] = {}
    for entry in _loads_list(json_text):
        labels: dict[str, str] = entry.get("Labels") or {}
        uid = labels.get(protocol.LABEL_POD_UID)
        if not uid:
            continue
        pod = pods.get(uid)
        if pod is None:
            pod = pods[uid] = protocol.PodReport(
                uid=uid,
                name=labels.get(protocol.LABEL_POD_NAME, ""),
                namespace=labels.get(protocol.LABEL_NAMESPACE, ""),
                hash=labels.get(protocol.LABEL_SPEC_HASH, ""),
                restartPolicy=labels.get(protocol.LABEL_RESTART_POLICY, "Always"),
                containers=[],
            )
            grace = labels.get(protocol.LABEL_GRACE, "")
            if grace.isdigit():
                pod["terminationGracePeriodSeconds"] = int(grace)
        if entry.get("IsInfra"):
            pod["sandboxID"] = str(entry.get("Id", ""))
            continue
        index = labels.get(protocol.LABEL_INIT, "")
        if not index.isdigit():
            pod["containers"].append(container_report(entry, pod["restartPolicy"]))
            continue
        sidecar = labels.get(protocol.LABEL_SIDECAR) == "true"
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


def container_report(entry: dict[str, Any], restart_policy: str) -> protocol.ContainerReport:
    """One container as kubelet would describe it (state, reason, exit code, times)."""
    labels: dict[str, str] = entry.get("Labels") or {}
    names = entry.get("Names") or [""]
    report = protocol.ContainerReport(
        name=labels.get(protocol.LABEL_CONTAINER, names[0]),
        containerID=f"podman://{entry.get('Id', '')}",
        image=str(entry.get("Image", "")),
        imageID=str(entry.get("ImageID", "")),
        restartCount=0,
        ready=False,
    )
    started = int(entry.get("StartedAt") or _GO_ZERO_TIME)
    finished = int(entry.get("ExitedAt") or _GO_ZERO_TIME)
    if started > 0:
        report["startedAt"] = rfc3339(started)
    state = str(entry.get("State", "")).lower()
    if state in ("running", "stopping", "paused"):
        report["state"] = "running"
        report["ready"] = state == "running"
    elif state in ("exited", "stopped", "removing"):
        code = int(entry.get("ExitCode") or 0)
        report["exitCode"] = code
        if finished > 0:
            report["finishedAt"] = rfc3339(finished)
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


def parse_inspect(text: str) -> dict[str, InspectFacts]:
    """Parse ``podman inspect --format INSPECT_TEMPLATE`` output, keyed by container id."""
    facts: dict[str, InspectFacts] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or not fields[0]:
            continue
        ips = [ip for ip in fields[3].split(",") if ip]
        restarts = int(fields[1]) if fields[1].isdigit() else 0
        facts[fields[0]] = InspectFacts(restarts, fields[2] == "true", ips[0] if ips else "")
    return facts


def apply_inspect(pods: list[protocol.PodReport], facts: dict[str, InspectFacts]) -> None:
    """Add restart counts, OOM kills and the pod IP that ``ps`` does not show."""
    for pod in pods:
        ip = facts[pod["sandboxID"]].ip if pod.get("sandboxID", "") in facts else ""
        for container in pod.get("containers", []):
            found = facts.get(container.get("containerID", "").removeprefix("podman://"))
            if found is None:
                continue
            container["restartCount"] = found.restart_count
            ip = ip or found.ip
            if found.oom_killed and "exitCode" in container:
                container["reason"] = "OOMKilled"
        if ip:
            pod["podIP"] = ip


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


def parse_images(json_text: str) -> list[str]:
    """Image refs from ``podman images --format json``."""
    refs: set[str] = set()
    for entry in _loads_list(json_text):
        refs.update(entry.get("Names") or [])
    return sorted(refs)


def parse_image_sizes(json_text: str) -> dict[str, int]:
    """Image ref → size in bytes, from ``podman images --format json``."""
    sizes: dict[str, int] = {}
    for entry in _loads_list(json_text):
        size = entry.get("Size")
        if isinstance(size, int) and size >= 0:
            for name in entry.get("Names") or []:
                sizes[name] = size
    return sizes


_SI_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}


def _parse_size(text: str) -> int:
    text = text.strip().lower()
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number) :] or "b"
    try:
        return int(float(number) * _SI_UNITS.get(unit, 1))
    except ValueError:
        return 0


def parse_stats(json_text: str) -> dict[str, tuple[int, int]]:
    """``podman stats --no-stream --format json``: short id → (cpu millicores, memory bytes)."""
    result: dict[str, tuple[int, int]] = {}
    for entry in _loads_list(json_text):
        try:
            cpu_percent = float(str(entry.get("cpu_percent", "0")).rstrip("%") or 0)
        except ValueError:
            cpu_percent = 0.0
        memory = _parse_size(str(entry.get("mem_usage", "0B")).split("/")[0])
        result[str(entry.get("id", ""))] = (int(cpu_percent * 10), memory)
    return result


def apply_stats(pods: list[protocol.PodReport], stats: dict[str, tuple[int, int]]) -> None:
    for pod in pods:
        for container in pod.get("containers", []):
            cid = container.get("containerID", "").removeprefix("podman://")
            for short, (cpu, memory) in stats.items():
                if short and cid.startswith(short):
                    container["cpuMillis"] = cpu
                    container["memoryBytes"] = memory
