"""Events a node journaled keep the node's times and counts on their way into the store."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gitkube.reconcile import events
from gitkube.store.memory import MemoryStore

PASS = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def probe(**times: Any) -> dict[str, Any]:
    return {"type": "Warning", "reason": "Unhealthy", "message": "Liveness probe failed: no",
            "pod": "default/web-1", "container": "main", **times}


@pytest.mark.parametrize(("raw", "expected"), [
    (probe(), (1, "2026-01-01T12:00:00Z", "2026-01-01T12:00:00Z")),
    (probe(time="2026-01-01T11:58:00Z"), (1, "2026-01-01T11:58:00Z", "2026-01-01T11:58:00Z")),
    (probe(time="2026-01-01T11:58:00Z", firstTime="2026-01-01T11:50:00Z", count=40),
     (40, "2026-01-01T11:50:00Z", "2026-01-01T11:58:00Z")),
    (probe(time="2026-01-01T13:58:00+02:00"), (1, "2026-01-01T11:58:00Z", "2026-01-01T11:58:00Z")),
    (probe(time="yesterday", count="many"), (1, "2026-01-01T12:00:00Z", "2026-01-01T12:00:00Z")),
    (probe(time="2026-01-01T11:58:00Z", firstTime="2026-01-01T11:59:00Z"),
     (1, "2026-01-01T11:58:00Z", "2026-01-01T11:58:00Z")),
], ids=["no-time-is-the-pass", "node-time", "node-count-and-first", "offset-normalised",
        "unreadable-ignored", "first-never-after-last"])
def test_a_node_event_keeps_its_own_time_and_count(
        raw: dict[str, Any], expected: tuple[int, str, str]) -> None:
    store = MemoryStore()
    events.record(store, events.from_report("node-1", {"events": [raw]}), PASS)
    [kept] = events.list_events(store, kind="pod", name="web-1")
    assert (kept["count"], kept["firstTimestamp"], kept["lastTimestamp"]) == expected
    assert kept["metadata"]["creationTimestamp"] == "2026-01-01T12:00:00Z"


def test_a_repeat_adds_its_count_and_moves_last_seen_only_forward() -> None:
    store = MemoryStore()
    first = probe(time="2026-01-01T11:50:00Z", count=3, firstTime="2026-01-01T11:49:00Z")
    events.record(store, events.from_report("node-1", {"events": [first]}), PASS)
    later = PASS + dt.timedelta(minutes=1)
    late_news = probe(time="2026-01-01T11:55:00Z", count=2)
    old_news = probe(time="2026-01-01T11:40:00Z")
    events.record(store, events.from_report("node-1", {"events": [late_news, old_news]}), later)
    [kept] = events.list_events(store)
    assert (kept["count"], kept["firstTimestamp"], kept["lastTimestamp"]) == (
        6, "2026-01-01T11:40:00Z", "2026-01-01T11:55:00Z")


def test_old_news_from_a_node_lives_its_ttl_from_when_the_store_got_it() -> None:
    store = MemoryStore()
    stale = probe(time="2026-01-01T09:00:00Z")  # journaled while no pass ran for 3 hours
    assert events.record(store, events.from_report("node-1", {"events": [stale]}), PASS,
                         ttl_seconds=3600) == 1
    assert events.list_events(store)[0]["lastTimestamp"] == "2026-01-01T09:00:00Z"
    gone = PASS + dt.timedelta(seconds=3601)
    assert events.record(store, [], gone, ttl_seconds=3600) == 0
    assert events.list_events(store) == []


def test_events_list_in_the_order_the_node_saw_them() -> None:
    store = MemoryStore()
    report = {"events": [
        probe(time="2026-01-01T11:58:00Z"),
        {"type": "Normal", "reason": "Killing", "pod": "default/web-1", "container": "main",
         "message": "Container main failed liveness probe, will be restarted",
         "time": "2026-01-01T11:58:01Z"},
        {"type": "Normal", "reason": "Created", "pod": "default/web-2", "message": "created"},
    ]}
    events.record(store, events.from_report("node-1", report), PASS)
    assert [(e["reason"], e["lastTimestamp"]) for e in events.list_events(store)] == [
        ("Unhealthy", "2026-01-01T11:58:00Z"), ("Killing", "2026-01-01T11:58:01Z"),
        ("Created", "2026-01-01T12:00:00Z")]
