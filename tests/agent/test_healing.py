"""The supervisor's decisions as tables: restart policy, CrashLoopBackOff, probe thresholds,
and what observe reports from the supervisor's records."""

from __future__ import annotations

import pytest

from gitkube.agent import healing, protocol


@pytest.mark.parametrize(
    ("policy", "exit_code", "restart"),
    [
        pytest.param("Always", 0, True, id="always-after-success"),
        pytest.param("Always", 1, True, id="always-after-failure"),
        pytest.param("OnFailure", 0, False, id="onfailure-success-stays"),
        pytest.param("OnFailure", 137, True, id="onfailure-killed"),
        pytest.param("Never", 1, False, id="never"),
    ],
)
def test_restart_policy(policy: str, exit_code: int, restart: bool) -> None:
    assert healing.should_restart(policy, exit_code) is restart


def test_crash_loop_back_off_schedule() -> None:
    """Immediate first restart, then 10 s doubling to a 300 s cap (runs of 1 s each)."""
    waits, backoff = [], None
    for _ in range(9):
        wait, backoff = healing.restart_delay(backoff, ran_for=1.0)
        waits.append(wait)
    assert waits == [0, 10, 20, 40, 80, 160, 300, 300, 300]


@pytest.mark.parametrize(
    ("backoff", "ran_for", "expected"),
    [
        pytest.param(None, 0.0, (0.0, 10.0), id="first-crash"),
        pytest.param(160.0, 599.0, (160.0, 300.0), id="short-run-keeps-backing-off"),
        pytest.param(300.0, 600.0, (0.0, 10.0), id="ten-minutes-running-resets"),
    ],
)
def test_back_off_reset(backoff: float | None, ran_for: float,
                        expected: tuple[float, float]) -> None:
    assert healing.restart_delay(backoff, ran_for) == expected


def _probe(**kw: int) -> protocol.ProbeRun:
    probe = protocol.ProbeRun(handler="exec", command=["true"], periodSeconds=10,
                              successThreshold=1, failureThreshold=3)
    probe.update(kw)  # type: ignore[typeddict-item]
    return probe


@pytest.mark.parametrize(
    ("kind", "results", "probe", "ready", "verdicts"),
    [
        pytest.param("readinessProbe", [True], _probe(), True, [None], id="ready-on-first"),
        pytest.param("readinessProbe", [True, False, False, False], _probe(), False,
                     [None] * 4, id="unready-after-failure-threshold"),
        pytest.param("readinessProbe", [True, False, False], _probe(), True, [None] * 3,
                     id="two-failures-still-ready"),
        pytest.param("readinessProbe", [True, False, True], _probe(successThreshold=2), False,
                     [None] * 3, id="success-threshold-2"),
        pytest.param("livenessProbe", [False, False, False], _probe(), False,
                     [None, None, "kill"], id="liveness-kills-at-threshold"),
        pytest.param("livenessProbe", [False, False, True, False], _probe(), False,
                     [None] * 4, id="liveness-success-resets-count"),
    ],
)
def test_probe_thresholds(kind: str, results: list[bool], probe: protocol.ProbeRun,
                          ready: bool, verdicts: list[str | None]) -> None:
    record: healing.Record = {}
    healing.new_run(record, "run-1", protocol.ContainerRun(name="c"))
    got = [healing.record_probe(record, kind, probe, ok, "out", now=float(i))
           for i, ok in enumerate(results)]
    assert got == verdicts
    assert bool(record.get("ready")) is ready


def test_startup_probe_holds_back_liveness_and_readiness() -> None:
    spec = protocol.ContainerRun(name="c", startupProbe=_probe(failureThreshold=2),
                                 livenessProbe=_probe(), readinessProbe=_probe())
    record: healing.Record = {}
    healing.new_run(record, "run-1", spec)
    assert [k for k in healing.PROBES if healing.probe_due(
        record, k, _probe(), started_at=0, now=0)] == ["startupProbe"]
    assert not healing.is_ready(record, spec)
    assert healing.record_probe(record, "startupProbe", _probe(), True, "", 1.0) is None
    assert [k for k in healing.PROBES if healing.probe_due(
        record, k, _probe(), started_at=0, now=1)] == ["livenessProbe", "readinessProbe"]
    healing.new_run(record, "run-2", spec)
    assert healing.record_probe(record, "startupProbe", _probe(failureThreshold=2), False,
                                "", 1.0) is None
    assert healing.record_probe(record, "startupProbe", _probe(failureThreshold=2), False,
                                "", 2.0) == "kill"


@pytest.mark.parametrize(
    ("delay", "now", "due"),
    [
        pytest.param(5, 4.0, False, id="initial-delay"),
        pytest.param(5, 5.0, True, id="after-delay"),
    ],
)
def test_initial_delay(delay: int, now: float, due: bool) -> None:
    record: healing.Record = {}
    healing.new_run(record, "r", protocol.ContainerRun(name="c"))
    probe = _probe(initialDelaySeconds=delay)
    assert healing.probe_due(record, "livenessProbe", probe, started_at=0, now=now) is due


def test_merge_reports_counts_last_state_and_readiness_of_the_current_run() -> None:
    desired = [protocol.PodRun(uid="u", name="web", hash="h", containers=[
        protocol.ContainerRun(name="main", image="i", readinessProbe=_probe())])]
    running = protocol.ContainerReport(name="main", containerID="podman://1", state="running",
                                       startedAt="2026-01-01T00:00:10Z", ready=True,
                                       restartCount=0)
    pods = [protocol.PodReport(uid="u", name="web", hash="h", containers=[dict(running)])]  # type: ignore[list-item]
    healing.merge(pods, desired, {})
    assert pods[0]["containers"][0]["ready"] is False, "no readiness result yet"

    record: healing.Record = {"hash": "h", "restartCount": 2, "lastState": {
        "exitCode": 137, "reason": "OOMKilled"}}
    healing.new_run(record, healing.run_id(running), desired[0]["containers"][0])
    record["ready"] = True
    pods = [protocol.PodReport(uid="u", name="web", hash="h", containers=[dict(running)])]  # type: ignore[list-item]
    healing.merge(pods, desired, {"u": {"main": record}})
    container = pods[0]["containers"][0]
    assert (container["ready"], container["restartCount"]) == (True, 2)
    assert container["lastState"] == {"exitCode": 137, "reason": "OOMKilled"}

    record["run"] = "an earlier run"
    pods = [protocol.PodReport(uid="u", name="web", hash="h", containers=[dict(running)])]  # type: ignore[list-item]
    healing.merge(pods, desired, {"u": {"main": record}})
    assert pods[0]["containers"][0]["ready"] is False, "a result of an earlier run is stale"


def test_merge_leaves_a_removed_container_to_the_converge() -> None:
    """A container removed while the supervisor restarted it is missing, not RunContainerError:
    the plan must call it drift and recreate it."""
    desired = [protocol.PodRun(uid="u", name="web", hash="h", containers=[
        protocol.ContainerRun(name="main", image="i")])]
    missing = protocol.ContainerReport(name="main", image="i", state="waiting", ready=False,
                                       restartCount=0, reason="ContainerCreating")
    record: healing.Record = {"hash": "h", "restartCount": 1, "waiting": {
        "reason": "RunContainerError", "message": "no such container"}}
    pods = [protocol.PodReport(uid="u", name="web", hash="h", containers=[dict(missing)])]  # type: ignore[list-item]
    healing.merge(pods, desired, {"u": {"main": record}})
    container = pods[0]["containers"][0]
    assert (container["reason"], container["restartCount"]) == ("ContainerCreating", 1)

    exited = protocol.ContainerReport(name="main", containerID="podman://1", state="waiting",
                                      ready=False, restartCount=0, exitCode=1,
                                      reason="CrashLoopBackOff")
    pods = [protocol.PodReport(uid="u", name="web", hash="h", containers=[dict(exited)])]  # type: ignore[list-item]
    healing.merge(pods, desired, {"u": {"main": record}})
    assert pods[0]["containers"][0]["reason"] == "RunContainerError"
