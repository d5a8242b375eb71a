"""Leader election among control machines that share one store (client-go's leaderelection).

With the cluster's state in etcd, several ``gitkube serve`` (one per control machine) campaign
for one key; the one that holds it leads and is the only one that runs passes, the others
stand by and take over when it goes. The key lives on the campaigner's store lease, so a
leader that dies loses it when the lease runs out, with nobody having to notice::

    /gitkube/leader        {"holder", "host", "pid", "term", "since"}  on the leader's lease
    /gitkube/leader-term   {"term": N}   the last term given out (no lease: terms only grow)
    /gitkube/members/<id>  {"host", "pid", "since"}  on each campaigner's lease (the standbys)

Timing is client-go's (settable): the lease lasts ``lease_duration`` (15 s) after the last
renewal; the leader renews every ``retry_period`` (2 s) and counts itself leader only until
``renew_deadline`` (10 s) after its last successful renewal, well inside the lease, so it
stops before anyone else can start; standbys try every ``retry_period``, so a dead leader is
replaced within ``lease_duration + retry_period`` (17 s).

A leader's pass is fenced three ways (``Leadership``): every store write compares the leader
key's revision (``store.fencing``), every node operation carries the term and agents refuse a
term lower than one they have seen, and the pass checks that the leadership has not lapsed
(by the monotonic clock, which also counts time spent stopped) before it touches a node.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator

from gitkube import errors
from gitkube.clock import SystemClock, format_time
from gitkube.store import base, fencing

LEADER_KEY = "/gitkube/leader"
TERM_KEY = "/gitkube/leader-term"
MEMBERS_PREFIX = "/gitkube/members/"

Log = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Timing:
    """client-go's defaults: lease 15 s, renew deadline 10 s, retry period 2 s."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise errors.ConfigError(
                f"Leader election needs lease duration ({self.lease_duration:g} s) > renew "
                f"deadline ({self.renew_deadline:g} s) > retry period ({self.retry_period:g} s) "
                "> 0, as client-go does.")


@dataclasses.dataclass(frozen=True)
class Leadership:
    """One term of leadership: what a pass of the leader carries."""

    identity: str
    term: int
    #: The leader key's mod_revision: every write of the term compares it.
    revision: int

    def fence(self, store: base.Store) -> fencing.FencedStore:
        return fencing.FencedStore(store, LEADER_KEY, self.revision,
                                   who=f"{self.identity} (term {self.term})")


@dataclasses.dataclass(frozen=True)
class Roster:
    """Who leads the cluster and who stands by, as the store says (``gitkube status``)."""

    leader: base.JSON | None
    members: list[base.JSON]

    @property
    def standbys(self) -> list[base.JSON]:
        holder = self.leader.get("holder") if self.leader else None
        return [m for m in self.members if m.get("identity") != holder]

    def names(self) -> tuple[str, list[str]]:
        """The leader (``nobody`` between leaders) and the standbys, in words."""
        return (describe(self.leader) if self.leader else "nobody",
                [describe(m) for m in self.standbys])


def new_identity() -> str:
    """This process, unique among the campaigners: ``host-pid-random``."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def roster(store: base.Store) -> Roster:
    leader = store.get(LEADER_KEY)
    members, _ = store.range(MEMBERS_PREFIX)
    return Roster(leader.value if leader else None, [kv.value for kv in members])


def describe(record: base.JSON) -> str:
    """``cp2 (pid 4242, term 3)``: a leader record in a sentence."""
    term = f", term {record['term']}" if "term" in record else ""
    return f"{record.get('host', '?')} (pid {record.get('pid', '?')}{term})"


class Elector:
    """Campaigns for the leadership and keeps it; ``run`` in a thread, ``current`` anywhere."""

    def __init__(self, store: base.Store, *, identity: str | None = None,
                 timing: Timing | None = None, log: Log = lambda _line: None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.identity = identity or new_identity()
        self.timing = timing or Timing()
        self.log = log
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._lease = 0
        self._leading: Leadership | None = None
        self._renewed = float("-inf")
        self._unavailable = False

    def current(self) -> Leadership | None:
        """The leadership, while it holds: renewed within the renew deadline."""
        with self._lock:
            if self._leading is None:
                return None
            late = self._monotonic() - self._renewed
            if late < self.timing.renew_deadline:
                return self._leading
            self._lose(f"not renewed for {late:.1f} s (renew deadline "
                       f"{self.timing.renew_deadline:g} s)")
            return None

    def check(self, leadership: Leadership) -> None:
        """``NotLeader`` unless ``leadership`` is still this process's current one."""
        if self.current() != leadership:
            raise errors.NotLeader(
                f"{self.identity} lost the leadership of term {leadership.term}; it writes "
                "nothing and touches no node until it leads again.", retry_after=2.0)

    def step(self) -> Leadership | None:
        """One round: keep this process's lease alive, then keep or take the leadership."""
        began = self._monotonic()
        try:
            self._keep_lease()
            with self._lock:
                leading = self._leading
            held = self._still_held(leading) if leading else self._try_acquire()
            with self._lock:
                if held is not None and (self._leading is None or self._leading == held):
                    self._leading, self._renewed = held, began
            if self._unavailable:
                self.log("the store answers again")
                self._unavailable = False
        except errors.StoreUnavailable as exc:
            if not self._unavailable:
                self.log(f"cannot reach the store to renew or campaign: {exc}")
                self._unavailable = True
        return self.current()

    def run(self, stop: threading.Event) -> None:
        """Campaign every retry period until ``stop`` is set, then resign."""
        while not stop.is_set():
            self.step()
            stop.wait(self.timing.retry_period)
        self.resign()

    def resign(self) -> None:
        """Give the leadership (and this member's entry) up now: a standby takes over at once."""
        with self._lock:
            lease, self._lease = self._lease, 0
            if self._leading is not None:
                self._lose("resigned")
        if lease:
            with contextlib.suppress(errors.TemporaryError):  # else it runs out by itself
                self.store.revoke_lease(lease)

    # -- internals -----------------------------------------------------------------------------

    def _keep_lease(self) -> None:
        if self._lease:
            try:
                self.store.keepalive(self._lease)
                return
            except errors.StoreConflict:
                with self._lock:
                    self._lease = 0
                    if self._leading is not None:
                        self._lose(f"its lease ran out ({self.timing.lease_duration:g} s)")
        lease = self.store.grant_lease(self.timing.lease_duration)
        host, pid = socket.gethostname(), os.getpid()
        since = format_time(SystemClock().now())
        self.store.txn([], [base.Put(MEMBERS_PREFIX + self.identity, {
            "identity": self.identity, "host": host, "pid": pid, "since": since}, lease)])
        self._lease = lease

    def _try_acquire(self) -> Leadership | None:
        held = self.store.get(LEADER_KEY)
        if held is not None:
            if held.value.get("holder") != self.identity or held.lease != self._lease:
                return None
            # Still ours: it lapsed here (not renewed in time) but nobody else could take it.
            term = int(held.value.get("term", 0))
            self.log(f"{self.identity} leads the cluster again (term {term})")
            return Leadership(self.identity, term, held.mod_revision)
        last = self.store.get(TERM_KEY)
        term = int(last.value.get("term", 0)) + 1 if last else 1
        record = {"holder": self.identity, "host": socket.gethostname(), "pid": os.getpid(),
                  "term": term, "since": format_time(SystemClock().now())}
        result = self.store.txn(
            [base.Compare(LEADER_KEY, 0), base.Compare(TERM_KEY, last.mod_revision if last else 0)],
            [base.Put(LEADER_KEY, record, self._lease), base.Put(TERM_KEY, {"term": term})])
        if not result.succeeded:
            return None
        self.log(f"{self.identity} leads the cluster (term {term})")
        return Leadership(self.identity, term, result.revision)

    def _still_held(self, leading: Leadership) -> Leadership | None:
        found = self.store.get(LEADER_KEY)
        if found is not None and found.mod_revision == leading.revision:
            return leading
        with self._lock:
            if self._leading == leading:
                who = describe(found.value) if found else "nobody yet"
                self._lose(f"the leader key moved on ({who} leads now)")
        return None

    def _lose(self, why: str) -> None:
        """Called with the lock held."""
        assert self._leading is not None
        term = self._leading.term
        self._leading = None
        self.log(f"{self.identity} lost the leadership of term {term}: {why}; it writes "
                 "nothing and touches no node until it leads again")


@dataclasses.dataclass(frozen=True)
class Fence:
    """What a leader's pass carries: its term, the check it makes before touching a node or
    the ledger (``NotLeader`` once the leadership lapsed), and where it publishes the ledger
    (the origin the control machines fetch from; None: the clone's own branch)."""

    leadership: Leadership
    check: Callable[[], None]
    remote: str | None = None


@contextlib.contextmanager
def one_pass(store: base.Store, *, timing: Timing | None = None, remote: str | None = None,
             log: Log = lambda _line: None) -> Iterator[Fence]:
    """The leadership for one pass of a command (``reconcile`` from cron, ``apply``): taken
    when nobody leads, kept while the pass runs, given up after. ``NotLeader`` naming the
    leader when another control machine leads."""
    elector = Elector(store, timing=timing, log=log)
    leading = roster(store).leader
    got = None if leading is not None else elector.step()
    if got is None:
        elector.resign()
        leading = roster(store).leader
        who = describe(leading) if leading else "another control machine"
        raise errors.NotLeader(
            f"{who} leads this cluster and runs its passes; this machine has nothing to do.",
            leader=who)
    stop = threading.Event()
    keeper = threading.Thread(target=elector.run, args=(stop,), name="leader", daemon=True)
    keeper.start()
    try:
        yield Fence(got, lambda: elector.check(got), remote)
    finally:
        stop.set()
        keeper.join()
