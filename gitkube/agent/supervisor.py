"""The node-resident supervisor: kubelet's restart and probe loop, without the control plane.

Started by the agent (``ensure``) and then on its own: ``python3 -m <agent> supervise
STATE_DIR`` runs detached as the agent's other resident processes do (``daemons``: its own
session, no inherited stdin/stdout/stderr, so an SSH channel closes as soon as the agent
answers), one per cluster and node, guarded by an flock on ``supervisor.lock`` and named
in ``supervisor.pid`` (``kill $(cat supervisor.pid)`` stops it). Every request that
finds it gone starts it again.

Once a second it reads ``desired.json`` (the pods of the last converge), lists the
cluster's containers, and, under the agent's lock so that it never races a converge:

- restarts exited containers per restartPolicy with CrashLoopBackOff (``healing``),
  recording restart counts and the last termination (exit code, reason, OOMKilled);
- advances pods with init containers: once one exited 0 (a sidecar: runs and passed its
  startup probe) it creates the next, then the app containers; stops sidecars once the
  app containers finished for good;
- runs due probes (``probing``) outside the lock, then kills a container whose
  liveness or startup probe failed (it is restarted like any exited container);
- writes ``health.json``, which ``observe`` lays over the runtime's report;
- journals what it did as events (``Unhealthy``, ``Killing``, ``BackOff``, ``Failed``, in
  kubelet's words) in ``events.json``, which the next converge drains into its report.

It leaves when nothing is desired any more, when its state directory (or the runtime's
storage: ``Runtime.gone``) is gone, or on SIGTERM. It speaks to the runtime only through
its interface (``runtimes.base``), built by ``runtimes.kinds`` from ``runtime.json``, so a
test can tick it on the simulated runtime too. Containers missing altogether are not
its business: the next converge recreates them (and the control plane's plan calls
that drift).
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import signal
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import (
    daemons,
    dnsserver,
    healing,
    identity,
    initsteps,
    network,
    probing,
    protocol,
    reports,
    state,
)
from .runtimes import base, kinds

TICK_SECONDS = 1.0
#: Its files in the state directory (``supervisor.lock``, ``.pid``, ``.detail``, ``.log``:
#: ``daemons``).
NAME = "supervisor"
#: ``python3 -m <agent> supervise STATE_DIR`` runs it (``__main__``).
COMMAND = "supervise"

Clock = Callable[[], float]
#: A probe to run: (pod uid, container spec, probe kind, probe, container, pod).
Due = tuple[str, protocol.ContainerRun, str, protocol.ProbeRun, protocol.ContainerReport,
            protocol.PodReport]


class Supervisor:
    """One node's healing for one cluster; ``tick()`` is one look at the node."""

    def __init__(self, node_state: state.StateDir, runtime: base.Runtime, cluster: str,
                 *, now: Clock = time.time, log: Callable[[str], None] = lambda _m: None,
                 node: str = "") -> None:
        self.state = node_state
        self.rt = runtime
        self.cluster = cluster
        #: The node's name as the control plane calls it (its endpoints in the Services).
        self.node = node
        self.now = now
        self.log = log
        #: Events of the current tick, journaled before the agent's lock is released.
        self.pending: list[state.Event] = []

    def tick(self) -> bool:
        """Restart, probe, record; False when nothing is desired (the supervisor may leave)."""
        with self.state.lock():
            desired = self.state.read_desired()
            if not desired:
                return False
            health = self.state.read_health()
            before = json.dumps(health, sort_keys=True)
            due = self._restart_and_find_probes(desired, health)
            self._journal()
        results = self._run_probes(due)
        with self.state.lock():
            current = {p.get("uid"): p.get("hash") for p in self.state.read_desired()}
            for (uid, spec, kind, probe, container, pod), (ok, output) in zip(  # noqa: B905
                    due, results):  # zip(strict=) needs Python 3.10; a node may have 3.9
                if current.get(uid) != pod.get("hash"):
                    continue  # replaced or removed meanwhile
                record = health.get(uid, {}).get(spec.get("name", ""))
                if record is None or record.get("run") != healing.run_id(container):
                    continue
                verdict = healing.record_probe(record, kind, probe, ok, output, self.now())
                if not ok:
                    self._event(pod, spec, healing.unhealthy(kind, output))
                if verdict == "kill":
                    self._kill(pod, spec, container, record, kind, output)
            if json.dumps(health, sort_keys=True) != before:
                self.state.write_health(health)
            self._withhold(self.state.read_desired(), health)
            self._journal()
        return True

    def _withhold(self, desired: list[protocol.PodRun], health: healing.Health) -> None:
        """Take this node's pods that stopped being Ready out of its Service rules and DNS
        answers now, before the control plane hears of it (and back once they are)."""
        if not self.rt.runs_on_host or self.state.memory is not None:
            return
        try:
            hidden = network.withhold(self.state.path, cluster=self.cluster, node=self.node,
                                      runtime=self.rt,
                                      unready=healing.unready_pods(desired, health))
        except (network.NetworkFailure, base.RuntimeFailure) as exc:
            self.log(f"could not update the Service rules: {exc}")
            return
        if hidden is not None:
            dnsserver.reload(self.state.path)
            self.log(f"Service rules: {len(hidden)} pod(s) withheld (readiness)")

    def _event(self, pod: protocol.PodRun | protocol.PodReport, spec: protocol.ContainerRun,
               text: healing.EventText) -> None:
        type_, reason, message = text
        self.pending.append({
            "type": type_, "reason": reason, "message": message, "pod": identity.key(pod),
            "container": spec.get("name", ""), "time": reports.rfc3339(self.now()),
        })

    def _journal(self) -> None:
        """Append this tick's events to the node's journal (the agent's lock is held)."""
        self.pending += self.rt.take_events()  # lifecycle hooks' failures
        if self.pending:
            pending, self.pending = self.pending, []
            self.state.append_events(pending)

    # -- restarts -----------------------------------------------------------------------------

    def _restart_and_find_probes(
        self, desired: list[protocol.PodRun], health: healing.Health,
    ) -> list[Due]:
        reported = {pod["uid"]: pod for pod in self.rt.list_pods(self.cluster, details=False)}
        now = self.now()
        due: list[Due] = []
        for want in desired:
            uid = want.get("uid", "")
            have = reported.get(uid)
            if have is None or have.get("hash") != want.get("hash"):
                continue
            records = health.setdefault(uid, {})
            present = {c.get("name"): c
                       for c in [*have.get("initContainers", []), *have.get("containers", [])]}
            policies = _restart_policies(want, have)
            for spec in initsteps.all_containers(want):
                container = present.get(spec.get("name"))
                record = records.get(spec.get("name", ""))
                if container is None or not container.get("containerID"):
                    if record is not None:
                        record.pop("waiting", None)  # gone: the converge recreates it
                    continue
                if record is None or record.get("hash") != want.get("hash"):
                    record = records[spec.get("name", "")] = {
                        "hash": want.get("hash"), "restartCount": 0}
                if container.get("state") != "running":
                    if "exitCode" in container:  # exited; "created" is the converge's business
                        policy = policies.get(spec.get("name", ""), "Never")
                        self._maybe_restart(want, spec, container, record, now,
                                            "Never" if policy == _STOP else policy)
                    continue
                if policies.get(spec.get("name", "")) == _STOP:
                    self._stop_sidecar(want, spec, container)
                    continue
                if record.get("run") != healing.run_id(container):
                    healing.new_run(record, healing.run_id(container), spec)
                started = _unix(container.get("startedAt")) or now
                for kind in healing.PROBES:
                    probe = healing.probe_of(spec, kind)
                    if probe and healing.probe_due(record, kind, probe, started, now):
                        due.append((uid, spec, kind, probe, container, have))
            if want.get("initContainers"):
                self._advance(want, have, health)
        wanted = {p.get("uid") for p in desired}
        for uid in [uid for uid in health if uid not in wanted]:
            del health[uid]
        return due

    def _advance(self, want: protocol.PodRun, have: protocol.PodReport,
                 health: healing.Health) -> None:
        """Take the pod's next initialisation step when it is due (``initsteps.creatable``)."""
        seen = copy.deepcopy(have)
        healing.merge([seen], [want], health)  # sidecars' startup probes
        wanted = initsteps.creatable(want, seen)
        if not wanted:
            return
        try:
            self.rt.create_pod(self.cluster, want, existing=seen)
        except Exception as exc:  # the next tick (or converge) tries again
            self.log(f"could not start {', '.join(wanted)} of {identity.key(want)}: {exc}")
            return
        for name in wanted:
            self.pending.append({
                "type": "Normal", "reason": "Started", "message": f"Started container {name}",
                "pod": identity.key(want), "container": name, "time": reports.rfc3339(self.now()),
            })
        self.log(f"started {', '.join(wanted)} of {identity.key(want)}")

    def _stop_sidecar(self, pod: protocol.PodRun, spec: protocol.ContainerRun,
                      container: protocol.ContainerReport) -> None:
        """The app containers finished for good: sidecars stop too (KEP-753)."""
        self._event(pod, spec, ("Normal", "Killing", f"Stopping container {spec.get('name')}"))
        self._stop(pod, spec, container, f"sidecar {spec.get('name')} of {identity.key(pod)}")

    def _maybe_restart(self, pod: protocol.PodRun, spec: protocol.ContainerRun,
                       container: protocol.ContainerReport, record: healing.Record,
                       now: float, policy: str) -> None:
        code = int(container.get("exitCode", 0))
        if not healing.should_restart(policy, code):
            record.pop("waiting", None)
            return
        finished = _unix(container.get("finishedAt")) or now
        started = _unix(container.get("startedAt")) or finished
        wait, backoff = healing.restart_delay(record.get("backoff"), finished - started)
        name = f"{identity.key(pod)}/{spec.get('name')}"
        if now < finished + wait:
            waiting = {
                "reason": "CrashLoopBackOff",
                "message": f"back-off {wait:g}s restarting failed container {name}",
            }
            if record.get("waiting") != waiting:  # once per exit, not once per tick
                self._event(pod, spec, healing.back_off(
                    spec.get("name", ""), pod.get("namespace", "default"), pod.get("name", ""),
                    pod.get("uid", "")))
            record["waiting"] = waiting
            return
        cid = container.get("containerID", "")
        oom = self.rt.was_oom_killed(cid)
        killed = record.pop("killedBy", None)
        last: dict[str, Any] = {
            "exitCode": code,
            "reason": "OOMKilled" if oom else ("Completed" if code == 0 else "Error"),
            "containerID": cid,
        }
        if container.get("startedAt"):
            last["startedAt"] = container.get("startedAt")
        if container.get("finishedAt"):
            last["finishedAt"] = container.get("finishedAt")
        if killed:
            last["message"] = killed
        record["lastState"] = last
        record["restartCount"] = int(record.get("restartCount", 0)) + 1
        record["backoff"] = backoff
        record["run"] = ""
        record.pop("waiting", None)
        try:
            # A failing postStart hook kills it again: the next exit takes the back-off.
            self.rt.restart_container(cid, spec, identity.of(pod),
                                      int(pod.get("terminationGracePeriodSeconds", 30)))
        except Exception as exc:  # the next tick tries again, after the back-off
            record["waiting"] = {"reason": "RunContainerError", "message": str(exc)}
            self._event(pod, spec, ("Warning", "Failed", f"Error: {exc}"[:healing.MESSAGE_MAX]))
            self.log(f"could not restart {name}: {exc}")
            return
        self.log(f"restarted {name} (exit code {code}, restart {record['restartCount']})")

    def _kill(self, pod: protocol.PodReport, spec: protocol.ContainerRun,
              container: protocol.ContainerReport, record: healing.Record, kind: str,
              output: str) -> None:
        what = "liveness" if kind == "livenessProbe" else "startup"
        record["killedBy"] = f"{what} probe failed: {output}"[:500]
        record["ready"] = False
        name = f"{identity.key(pod)}/{spec.get('name')}"
        self.log(f"{name} failed its {what} probe ({output}); killing it")
        self._event(pod, spec, healing.killing(spec.get("name", ""), kind))
        self._stop(pod, spec, container, name)

    def _stop(self, pod: protocol.PodRun | protocol.PodReport, spec: protocol.ContainerRun,
              container: protocol.ContainerReport, name: str) -> None:
        """Stop a container as kubelet's killContainer: its preStop hook first, all within
        the pod's grace period; a failure is logged (the next tick sees what happened)."""
        try:
            self.rt.kill_container(container.get("containerID", ""), spec,
                                   int(pod.get("terminationGracePeriodSeconds", 30)),
                                   identity.of(pod))
        except Exception as exc:
            self.log(f"could not stop {name}: {exc}")

    # -- probes -------------------------------------------------------------------------------

    def _run_probes(self, due: list[Due]) -> list[tuple[bool, str]]:
        return self.rt.run_probes([(container.get("containerID", ""), probe, pod.get("podIP", ""))
                                   for _, _, _, probe, container, pod in due])


#: The restart "policy" of a sidecar whose pod finished: stop it, never restart it.
_STOP = "Stop"


def _restart_policies(want: protocol.PodRun, have: protocol.PodReport) -> dict[str, str]:
    """Each container's restart policy as kubelet applies it.

    App containers follow the pod. An init container restarts only after a failure (never
    under the pod's Never) and not at all once the pod is initialised; a sidecar always,
    until the app containers are finished for good, when it is stopped (``_STOP``).
    """
    pod_policy = want.get("restartPolicy", "Always")
    policies: dict[str, str] = {c.get("name", ""): pod_policy
                                for c in want.get("containers", [])}
    apps = [c for c in have.get("containers", []) if c.get("containerID")]
    initialised = bool(apps)
    finished = len(apps) == len(want.get("containers", [])) and reports.pod_phase(
        apps, pod_policy) in ("Succeeded", "Failed")
    for spec in want.get("initContainers", []):
        name = spec.get("name", "")
        if initsteps.is_sidecar(spec):
            policies[name] = _STOP if finished else "Always"
        else:
            policies[name] = "Never" if initialised else reports.init_restart_policy(
                pod_policy, sidecar=False)
    return policies


def _unix(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# -- the process ------------------------------------------------------------------------------


def ensure(state_dir: Path) -> None:
    """Start the supervisor of ``state_dir`` unless it runs (current agent version) already."""
    found = daemons.running(state_dir, NAME)
    if found is not None and found[1] == probing.package_root():
        return
    if found is not None:
        # An older agent's supervisor: ask it to leave, then start this version's.
        daemons.stop(state_dir, NAME, timeout=5)
    # Answer only once it runs, so whoever asked can find its pid.
    daemons.start(state_dir, NAME, [COMMAND, str(state_dir)])


def serve(state_dir: Path) -> int:
    """The supervisor's life: hold the lock, tick until there is nothing left to do."""
    node_state = state.StateDir(state_dir)
    if not state_dir.is_dir():
        return 0
    fd = daemons.hold(state_dir, NAME, probing.package_root())
    if fd is None:
        return 0  # another supervisor has this node
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    log = daemons.logger(state_dir, NAME)
    log("supervisor started")
    try:
        config = node_state.read_runtime()
        runtime = kinds.make(config.get("runtime", {}), state_dir,
                             str(config.get("node", "this node")))
        supervisor = Supervisor(node_state, runtime, str(config.get("cluster", "")), log=log,
                                node=str(config.get("node", "")))
        # A storage that is gone (a test's, a node reset by hand) has nothing left to heal.
        while not stopping and (state_dir / "desired.json").exists() and not runtime.gone():
            began = time.monotonic()
            try:
                if not supervisor.tick():
                    break
            except Exception:
                log("tick failed:\n" + traceback.format_exc())
            time.sleep(max(0.05, TICK_SECONDS - (time.monotonic() - began)))
    finally:
        log("supervisor leaving")
        os.close(fd)
    return 0
