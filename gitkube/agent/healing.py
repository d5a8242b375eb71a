"""Node-local healing, decided: restart back-off, probe thresholds, what observe reports.

Pure functions and plain records, no runtime and no clock of their own: the
supervisor (``supervisor.py``) feeds them what it saw and the time, then acts.
They follow kubelet:

- restart policy: Always restarts every exit, OnFailure only a non-zero exit, Never none;
- CrashLoopBackOff: the first exit is restarted at once, then each restart waits
  10 s, 20 s, 40 s ... up to 300 s after the exit; a container that ran for 10 minutes
  starts the schedule again (kubelet's back-off entry expires after twice its maximum);
- probes: a result changes only after ``successThreshold`` successes or
  ``failureThreshold`` failures in a row; liveness starts out passing, readiness
  failing; liveness and readiness wait until a startup probe has passed.

A container's record lives in ``health.json`` under its pod uid and name; ``merge``
lays the records over what the runtime reports, which is how restart counts, the last
termination and readiness reach the control plane. What the supervisor did becomes
events in kubelet's words (``unhealthy``, ``killing``, ``back_off``), journaled on the
node until a converge hands them to the control plane.
"""

from __future__ import annotations

from typing import Any

from . import protocol

BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0
#: A container that ran this long before it exited restarts without delay.
BACKOFF_RESET_AFTER = 2 * BACKOFF_MAX

PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
#: kubelet's probe names in event messages.
PROBE_NAMES = {"startupProbe": "Startup", "livenessProbe": "Liveness",
               "readinessProbe": "Readiness"}
#: Event messages carry at most this much probe output (kubelet trims it too).
MESSAGE_MAX = 500

Record = dict[str, Any]
Health = dict[str, dict[str, Record]]


def should_restart(policy: str, exit_code: int) -> bool:
    """Whether kubelet restarts a container that exited with ``exit_code`` under ``policy``."""
    if policy == "Never":
        return False
    return policy == "Always" or exit_code != 0


def restart_delay(backoff: float | None, ran_for: float) -> tuple[float, float]:
    """``(wait after the exit, back-off to keep)`` for a container about to be restarted.

    ``backoff`` is what the previous restart left (None: never restarted), ``ran_for`` how
    long the run that just ended lasted.
    """
    if backoff is None or ran_for >= BACKOFF_RESET_AFTER:
        return 0.0, BACKOFF_INITIAL
    return backoff, min(backoff * 2, BACKOFF_MAX)


def new_run(record: Record, run_id: str, spec: protocol.ContainerRun) -> None:
    """A container (re)started: its probes start from scratch."""
    record["run"] = run_id
    record["started"] = "startupProbe" not in spec
    record["ready"] = False
    record["probes"] = {}
    record.pop("waiting", None)


def probe_due(record: Record, kind: str, probe: protocol.ProbeRun, started_at: float,
              now: float) -> bool:
    """Whether ``kind``'s probe should run now (initial delay passed, one period since last)."""
    if kind != "startupProbe" and not record.get("started", True):
        return False
    if kind == "startupProbe" and record.get("started", True):
        return False
    if now < started_at + int(probe.get("initialDelaySeconds", 0)):
        return False
    state = record.get("probes", {}).get(kind, {})
    if "last" not in state:
        return True  # the first probe runs as soon as the initial delay is over
    return now >= float(state["last"]) + int(probe.get("periodSeconds", 10))


def record_probe(record: Record, kind: str, probe: protocol.ProbeRun, ok: bool, output: str,
                 now: float) -> str | None:
    """Count one result; answers "kill" when the container must be restarted, else None."""
    states = record.setdefault("probes", {})
    state = states.setdefault(kind, {"successes": 0, "failures": 0})
    state["last"] = now
    state["output"] = output[-300:]
    if ok:
        state["successes"] = int(state.get("successes", 0)) + 1
        state["failures"] = 0
    else:
        state["failures"] = int(state.get("failures", 0)) + 1
        state["successes"] = 0
    passed = state["successes"] >= int(probe.get("successThreshold", 1))
    failed = state["failures"] >= int(probe.get("failureThreshold", 3))
    if kind == "readinessProbe":
        if passed:
            record["ready"] = True
        elif failed:
            record["ready"] = False
        return None
    if kind == "startupProbe" and passed:
        record["started"] = True
        return None
    return "kill" if failed else None


# -- events, in kubelet's words -----------------------------------------------------------------

#: (type, reason, message) of one event about one container.
EventText = tuple[str, str, str]


def unhealthy(kind: str, output: str) -> EventText:
    """A probe run that failed (kubelet's prober records each one)."""
    message = f"{PROBE_NAMES.get(kind, kind)} probe failed: {output.strip()}"
    return "Warning", "Unhealthy", message[:MESSAGE_MAX]


def killing(container: str, kind: str) -> EventText:
    """The container is killed because its liveness or startup probe failed."""
    what = PROBE_NAMES.get(kind, kind).lower()
    return "Normal", "Killing", f"Container {container} failed {what} probe, will be restarted"


def back_off(container: str, namespace: str, pod: str, uid: str) -> EventText:
    """An exited container waits out its CrashLoopBackOff delay."""
    return ("Warning", "BackOff",
            f"Back-off restarting failed container {container} in pod {pod}_{namespace}({uid})")


def probe_of(spec: protocol.ContainerRun, kind: str) -> protocol.ProbeRun | None:
    if kind == "startupProbe":
        return spec.get("startupProbe")
    if kind == "livenessProbe":
        return spec.get("livenessProbe")
    return spec.get("readinessProbe")


def is_ready(record: Record, spec: protocol.ContainerRun) -> bool:
    """Ready: started, and the readiness probe passed (no readiness probe: started is enough)."""
    if not record.get("started", True):
        return False
    return bool(record.get("ready")) if "readinessProbe" in spec else True


def unready_pods(desired: list[protocol.PodRun], health: Health) -> set[str]:
    """Uids of the pods that are not Ready by the supervisor's records: an app container
    whose readiness probe does not pass, or that waits to be restarted (kubelet's rule)."""
    found: set[str] = set()
    for pod in desired:
        uid = pod.get("uid", "")
        records = health.get(uid, {})
        for spec in pod.get("containers", []):
            record = records.get(spec.get("name", ""), {})
            if record.get("waiting") or not is_ready(record, spec):
                found.add(uid)
    return found


def merge(
    pods: list[protocol.PodReport], desired: list[protocol.PodRun], health: Health
) -> None:
    """Lay the supervisor's records over the runtime's reports (in place)."""
    specs = {
        (pod.get("uid", ""), c.get("name", "")): c
        for pod in desired for c in [*pod.get("initContainers", []), *pod.get("containers", [])]
    }
    for pod in pods:
        records = health.get(pod.get("uid", ""), {})
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            name = container.get("name", "")
            spec = specs.get((pod.get("uid", ""), name), protocol.ContainerRun())
            record = records.get(name)
            if record is None or record.get("hash") != pod.get("hash"):
                if container.get("state") == "running" and _probed(spec):
                    container["ready"] = False  # no probe has passed yet
                continue
            container["restartCount"] = int(record.get("restartCount", 0))
            if record.get("lastState"):
                container["lastState"] = record["lastState"]
            if container.get("state") == "running":
                current = record.get("run") == run_id(container)
                container["ready"] = current and is_ready(record, spec)
                if "startupProbe" in spec:
                    container["started"] = current and bool(record.get("started"))
            elif (record.get("waiting") and container.get("state") == "waiting"
                  and container.get("containerID")):
                # The supervisor's back-off is about a container that exists: one removed
                # (by hand, or while a restart was under way) is the converge's to recreate.
                container["reason"] = str(record["waiting"].get("reason", "CrashLoopBackOff"))
                container["message"] = str(record["waiting"].get("message", ""))


def run_id(container: protocol.ContainerReport) -> str:
    """One run of one container: its id and when it started."""
    return f"{container.get('containerID', '')}@{container.get('startedAt', '')}"


def _probed(spec: protocol.ContainerRun) -> bool:
    return "readinessProbe" in spec or "startupProbe" in spec
