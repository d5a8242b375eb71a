"""The node's event journal: bounded, repeats collapsed, drained by converge and only by it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitkube.agent import handler, healing, state


def ev(reason: str = "Unhealthy", message: str = "Liveness probe failed: no", *,
       time: str = "2026-01-01T00:00:00Z", pod: str = "default/web-1", **extra: Any
       ) -> dict[str, Any]:
    return {"type": "Warning", "reason": reason, "message": message, "pod": pod,
            "container": "main", "time": time, **extra}


T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"


@pytest.mark.parametrize(("journal", "new", "limit", "expected"), [
    ([], [ev()], 10, [("Unhealthy", "default/web-1", 1, T0, None)]),
    ([ev(time=T0, count=1)], [ev(time=T1), ev(time=T2)], 10,
     [("Unhealthy", "default/web-1", 3, T2, T0)]),
    ([ev(time=T0, count=1), ev("Killing", "Container main failed liveness probe", time=T1,
                               count=1)],
     [ev(time=T2)], 10,
     [("Killing", "default/web-1", 1, T1, None), ("Unhealthy", "default/web-1", 2, T2, T0)]),
    ([], [ev(message="Liveness probe failed: a"), ev(message="Liveness probe failed: b")], 10,
     [("Unhealthy", "default/web-1", 1, T0, None), ("Unhealthy", "default/web-1", 1, T0, None)]),
    ([], [ev(pod="default/a"), ev(pod="default/b")], 10,
     [("Unhealthy", "default/a", 1, T0, None), ("Unhealthy", "default/b", 1, T0, None)]),
    ([], [ev(pod=f"default/p-{i}") for i in range(5)], 2,
     [("Unhealthy", "default/p-3", 1, T0, None), ("Unhealthy", "default/p-4", 1, T0, None)]),
    ([ev(pod="default/old", count=1), ev(pod="default/mid", count=1)],
     [ev(pod="default/old", time=T1), ev(pod="default/new")], 2,
     [("Unhealthy", "default/old", 2, T1, T0), ("Unhealthy", "default/new", 1, T0, None)]),
], ids=["first", "repeats-collapse", "repeat-moves-last", "other-message-is-new",
        "other-pod-is-new", "bounded-keeps-newest", "a-repeat-survives-the-bound"])
def test_the_journal_collapses_repeats_and_stays_bounded(
    journal: list[dict[str, Any]], new: list[dict[str, Any]], limit: int,
    expected: list[tuple[str, str, int, str, str | None]],
) -> None:
    found = state.add_events(journal, new, limit)
    assert [(e["reason"], e["pod"], e["count"], e["time"], e.get("firstTime"))
            for e in found] == expected


def test_a_crash_loop_of_probe_failures_never_grows_the_journal_past_its_bound(
        tmp_path: Path) -> None:
    node = state.StateDir(tmp_path / "state")
    for second in range(600):
        with node.lock():
            node.append_events([ev(time=f"2026-01-01T00:{second // 60:02}:{second % 60:02}Z"),
                                ev(f"R{second}", "another kind of trouble")])
    journal = node.read_events()
    assert len(journal) == state.JOURNAL_MAX
    [probe] = [e for e in journal if e["reason"] == "Unhealthy"]
    assert (probe["count"], probe["firstTime"], probe["time"]) == (
        600, "2026-01-01T00:00:00Z", "2026-01-01T00:09:59Z")


@pytest.mark.parametrize(("text", "expected"), [
    (healing.unhealthy("livenessProbe", "cat: can't open '/tmp/alive'\n"),
     ("Warning", "Unhealthy", "Liveness probe failed: cat: can't open '/tmp/alive'")),
    (healing.unhealthy("readinessProbe", "HTTP probe failed with statuscode: 503"),
     ("Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503")),
    (healing.unhealthy("startupProbe", "x" * 2000),
     ("Warning", "Unhealthy", ("Startup probe failed: " + "x" * 2000)[:healing.MESSAGE_MAX])),
    (healing.killing("main", "livenessProbe"),
     ("Normal", "Killing", "Container main failed liveness probe, will be restarted")),
    (healing.killing("main", "startupProbe"),
     ("Normal", "Killing", "Container main failed startup probe, will be restarted")),
    (healing.back_off("main", "default", "web-x", "u-1"),
     ("Warning", "BackOff", "Back-off restarting failed container main in pod "
                            "web-x_default(u-1)")),
], ids=["liveness", "readiness", "startup-trimmed", "killing-liveness", "killing-startup",
        "backoff"])
def test_events_use_kubelets_words(text: object, expected: object) -> None:
    assert text == expected


# -- through the agent: converge drains, observe does not ---------------------------------------

def _pod() -> dict[str, Any]:
    return {"uid": "u-1", "name": "web-1", "namespace": "default", "hash": "h1",
            "containers": [{"name": "main", "image": "img:1"}]}


def test_converge_drains_the_journal_into_its_report_and_observe_leaves_it(
        tmp_path: Path) -> None:
    base = {"cluster": "c1", "node": "n1", "runtime": {"kind": "sim", "images": ["img:1"]},
            "state_dir": str(tmp_path / "state")}
    assert handler.handle({**base, "op": "converge", "pods": [_pod()]})["ok"]
    node = state.StateDir(tmp_path / "state")
    with node.lock():
        node.append_events([ev(pod="default/web-1", time=T0), ev(pod="default/web-1", time=T1),
                            ev("Killing", "Container main failed liveness probe, will be "
                               "restarted", pod="default/web-1", time=T1, type="Normal")])

    observed = handler.handle({**base, "op": "observe"})
    assert observed["ok"] and not observed["report"].get("events")
    assert len(node.read_events()) == 2

    converged = handler.handle({**base, "op": "converge", "pods": [_pod()]})
    assert [(e["reason"], e["count"], e["time"], e.get("firstTime"))
            for e in converged["report"]["events"]] == [
        ("Unhealthy", 2, T1, T0), ("Killing", 1, T1, None)]
    assert node.read_events() == []
    again = handler.handle({**base, "op": "converge", "pods": [_pod()]})
    assert again["report"]["events"] == []


def test_an_unreadable_journal_is_an_empty_one(tmp_path: Path) -> None:
    node = state.StateDir(tmp_path / "state")
    node.ensure()
    (tmp_path / "state" / state.JOURNAL_FILE).write_text("{not json")
    assert node.read_events() == []
    with node.lock():
        node.append_events([ev()])
        assert [e["reason"] for e in node.drain_events()] == ["Unhealthy"]
