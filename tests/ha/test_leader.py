"""Leader election and its fence: one leader at a time, terms that only grow, writes refused
to a deposed leader (memory store with a hand-driven clock; then a real etcd)."""

from __future__ import annotations

import time

import pytest

from gitkube import errors
from gitkube.reconcile import leader
from gitkube.store import base, etcd, memory
from gitkube.store.base import Compare, Put
from tests.waiting import until

QUICK = leader.Timing(lease_duration=1.0, renew_deadline=0.6, retry_period=0.2)


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def electors(store: base.Store, *names: str, timing: leader.Timing = QUICK,
             clock: Monotonic | None = None) -> tuple[list[leader.Elector], list[str]]:
    lines: list[str] = []
    made = [leader.Elector(store, identity=name, timing=timing, log=lines.append,
                           monotonic=clock or time.monotonic) for name in names]
    return made, lines


def test_one_leads_the_others_stand_by() -> None:
    store = memory.MemoryStore()
    (a, b, c), lines = electors(store, "a", "b", "c")

    assert a.step() == leader.Leadership("a", 1, store.get(leader.LEADER_KEY).mod_revision)
    assert b.step() is None and c.step() is None
    assert a.step() is not None  # renewing keeps it

    roster = leader.roster(store)
    assert roster.leader is not None and roster.leader["holder"] == "a"
    assert sorted(m["identity"] for m in roster.standbys) == ["b", "c"]
    assert lines == ["a leads the cluster (term 1)"]


def test_a_resigned_leader_is_replaced_with_the_next_term() -> None:
    store = memory.MemoryStore()
    (a, b), lines = electors(store, "a", "b")
    a.step()
    b.step()

    a.resign()

    assert b.step() == leader.Leadership("b", 2, store.get(leader.LEADER_KEY).mod_revision)
    assert a.current() is None
    assert leader.roster(store).standbys == []
    assert lines[-1] == "b leads the cluster (term 2)"


def test_a_paused_leader_is_replaced_and_its_writes_are_refused() -> None:
    store = memory.MemoryStore()
    clock = Monotonic()
    (a, b), lines = electors(store, "a", "b", clock=clock)
    first = a.step()
    assert first is not None
    fenced = first.fence(store)
    assert fenced.txn([], [Put("/registry/pods/default/web", {"n": 1})]).succeeded

    until(lambda: b.step(), "b takes over once a's lease ran out", timeout=10, every=0.1)
    clock.now += 1.0  # a was stopped all this time (the monotonic clock counts it)

    assert a.current() is None
    with pytest.raises(errors.NotLeader, match=r"a \(term 1\) no longer leads"):
        fenced.txn([], [Put("/registry/pods/default/web", {"n": 2})])
    assert store.get("/registry/pods/default/web").value == {"n": 1}  # type: ignore[union-attr]
    with pytest.raises(errors.NotLeader, match="lost the leadership of term 1"):
        a.check(first)
    assert "a lost the leadership of term 1: not renewed for 1.0 s" in "\n".join(lines)
    assert a.step() is None  # b holds it now
    assert store.get(leader.TERM_KEY).value == {"term": 2}  # type: ignore[union-attr]


def test_a_lapse_nobody_used_is_taken_back_in_the_same_term() -> None:
    store = memory.MemoryStore()
    clock = Monotonic()
    (a,), lines = electors(store, "a", clock=clock,
                           timing=leader.Timing(lease_duration=60, renew_deadline=10,
                                                retry_period=2))
    first = a.step()
    clock.now += 11

    assert a.current() is None
    assert a.step() == first
    assert lines[-1] == "a leads the cluster again (term 1)"


def test_the_fence_keeps_the_callers_own_compares() -> None:
    store = memory.MemoryStore()
    (a,), _ = electors(store, "a")
    fenced = a.step().fence(store)  # type: ignore[union-attr]
    done = fenced.txn([], [Put("/k", {"n": 1})])

    stale = fenced.txn([Compare("/k", done.revision - 1)], [Put("/k", {"n": 2})])

    assert (stale.succeeded, stale.conflicts) == (False, ("/k",))
    with pytest.raises(ValueError, match="no failure operations"):
        fenced.txn([Compare("/k", 0)], [], [Put("/other", {})])


@pytest.mark.parametrize(("lease", "renew", "retry"), [(10, 15, 2), (15, 10, 12), (15, 10, 0)])
def test_timing_must_be_in_order(lease: float, renew: float, retry: float) -> None:
    with pytest.raises(errors.ConfigError, match="lease duration"):
        leader.Timing(lease, renew, retry)


def test_a_dead_leader_on_etcd_is_replaced(
        etcd_store: etcd.EtcdStore) -> None:
    timing = leader.Timing(lease_duration=2, renew_deadline=1.5, retry_period=0.3)
    (a, b), _ = electors(etcd_store, "a", "b", timing=timing)
    assert a.step() is not None
    b.step()

    # a stops renewing, as good as killed: its lease runs out, and b takes over.
    took = until(lambda: b.step(), "b leads", timeout=20, every=timing.retry_period)

    assert took.term == 2
    assert leader.roster(etcd_store).leader["holder"] == "b"  # type: ignore[index]
