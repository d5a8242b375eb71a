"""Preemption: kube-scheduler's DefaultPreemption PostFilter, on the records of ``cluster``.

``plan_scheduling`` asks ``Preemptor.post_filter`` about a pod that fit no node. As in
Kubernetes (``pkg/scheduler/framework/preemption``), the pod may evict pods of lower
priority to make room, unless its preemptionPolicy is ``Never`` or it already waits
for pods it preempted on its nominated node (``PodEligibleToPreemptOthers``):

1. Nodes whose filter verdict is not ``resolvable`` (taints, selectors: evicting
   pods would not help) are skipped; on each other node every lower-priority pod is
   taken off, and the pod must then pass the same filters (``SelectVictimsOnNode``).
2. The pods taken off are given back one by one, most important first (higher
   priority, then running longer), as long as the pod still fits: the rest are the
   node's victims.
3. One node is chosen by ``pickOneNodeForPreemption``'s rules, in order: the lowest
   highest-victim priority, the smallest sum of victim priorities, the fewest
   victims, the latest start of the highest-priority victims, then by name (there
   are no PodDisruptionBudgets, so their rule is left out).

The victims are evicted (by the caller: deletionTimestamp plus a DisruptionTarget
condition), the pod is nominated to the node and stays Pending until they are gone,
and ``Reservations`` keep its room on that node from pods of lower or equal priority
(kube-scheduler's ``RunFilterPluginsWithNominatedPods``). Everything here is a dry
run on the pass's records: what is taken off a node is put back before returning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from gitkube import clock as clocks
from gitkube.scheduler import cluster as cluster_mod
from gitkube.scheduler import cycle, framework

NAME = "DefaultPreemption"
DISRUPTION_TARGET = "DisruptionTarget"
PREEMPTION_BY_SCHEDULER = "PreemptionByScheduler"
#: DefaultPreemptionArgs' defaults: how many candidate nodes are enough.
MIN_CANDIDATE_NODES_PERCENTAGE = 10
MIN_CANDIDATE_NODES_ABSOLUTE = 100
#: Added to every victim priority before summing, as kube-scheduler does (MaxInt32 + 1),
#: so that more victims of a negative priority never sum lower than fewer.
_PRIORITY_OFFSET = 2**31
#: Victims named in a message; the rest are counted.
_NAMED = 5

NOT_HELPFUL = framework.Status(NAME, ("Preemption is not helpful for scheduling",),
                               resolvable=False)
NO_VICTIMS = framework.Status(NAME, ("No preemption victims found for incoming pod",),
                              resolvable=False)
NEVER = "preemption: not eligible due to preemptionPolicy=Never."


@dataclass(frozen=True)
class Candidate:
    """A node where the pod fits once ``victims`` (most important first) are gone."""

    node: framework.NodeInfo
    victims: tuple[framework.PodInfo, ...]


@dataclass(frozen=True)
class Decision:
    """What PostFilter decided for a pod that fits nowhere."""

    #: The node the pod waits for ("" when none).
    nominated: str
    #: Pods to evict now (those not already being deleted).
    evict: tuple[framework.PodInfo, ...] = ()
    #: The sentence that follows the FitError message ("preemption: ...").
    message: str = ""


def num_candidates(potential: int) -> int:
    """``calculateNumCandidates``: 10% of the potential nodes, at least 100, at most all."""
    wanted = max(potential * MIN_CANDIDATE_NODES_PERCENTAGE // 100, MIN_CANDIDATE_NODES_ABSOLUTE)
    return min(wanted, potential)


def pick_one(
    candidates: Sequence[Candidate], start_of: Callable[[framework.PodInfo], dt.datetime]
) -> Candidate:
    """``pickOneNodeForPreemption`` without PDBs: each rule only breaks the ties of the
    rules before it, and the name breaks the last tie."""

    def key(candidate: Candidate) -> tuple[int, int, int, int, float, str]:
        victims = candidate.victims
        if not victims:  # nothing to evict at all: the best there is
            return (0, 0, 0, 0, 0.0, candidate.node.name)
        highest = victims[0].priority
        earliest = min(start_of(v) for v in victims if v.priority == highest)
        return (
            1,
            highest,
            sum(v.priority + _PRIORITY_OFFSET for v in victims),
            len(victims),
            -earliest.timestamp(),  # the latest start wins
            candidate.node.name,
        )

    return min(candidates, key=key)


class Preemptor:
    """PostFilter for one pass. Victims chosen earlier in the pass count as terminating
    for the pods after them (the store hears of it only when the pass is applied)."""

    def __init__(self, scheduler: cycle.Scheduler, now: dt.datetime) -> None:
        self._scheduler = scheduler
        self._state = scheduler.cluster
        self._now = now
        #: The lowest priority of a pod on a node (None: no pod is on any node). Pods
        #: placed during the pass have at least the priority of the pods after them.
        self._lowest = min((p.priority for p in self._state.bound.values()), default=None)
        self._evicted: set[str] = set()

    def can_help(self, pod: framework.PodInfo) -> bool:
        """Whether a pod of lower priority is on any node. When none is, the pass skips
        preemption and adds nothing to the message (kube-scheduler would say "No
        preemption victims found" for every node)."""
        return self._lowest is not None and pod.priority > self._lowest

    def post_filter(self, pod: framework.PodInfo, *, policy: str, nominated: str) -> Decision:
        """``Evaluator.Preempt`` for ``pod`` (nominated to ``nominated`` so far, "" when
        not), which just failed every filter: whom to evict, where it then waits, and
        what its message adds."""
        node = self._state.by_name.get(nominated) if nominated else None
        if policy == cluster_mod.PREEMPT_NEVER:  # a nomination it has stays, as in Kubernetes
            return Decision(nominated if node is not None else "", message=NEVER)
        if node is not None and self._waits_on(pod, node):
            return Decision(nominated, message=self._waiting(pod, node, ()))
        candidates, statuses = self._find(pod)
        if not candidates:
            nodes = len(self._scheduler.nodes)
            return Decision("", message=f"preemption: {framework.fit_error(nodes, statuses)}")
        best = pick_one(candidates, self.start_of)
        evict = tuple(v for v in best.victims if not self._terminating(v))
        self._evicted.update(v.key for v in evict)
        return Decision(best.node.name, evict, self._waiting(pod, best.node, best.victims))

    def start_of(self, pod: framework.PodInfo) -> dt.datetime:
        """``GetPodStartTime``: status.startTime, or now for a pod that has not started."""
        stored = self._state.bound_pods.get(pod.key)
        text = stored.status.start_time if stored is not None else None
        if text:
            with contextlib.suppress(ValueError):
                return clocks.parse_time(text)
        return self._now

    def _waits_on(self, pod: framework.PodInfo, node: framework.NodeInfo) -> bool:
        """Not eligible to preempt again: a lower-priority pod on the nominated node is
        terminating because the scheduler preempted it, unless the node cannot take the
        pod at all any more."""
        status = _status(replace(pod), self._filters(), node)
        if status is not None and not status.resolvable:
            return False
        return any(p.priority < pod.priority and self._preempted(p) for p in node.pods)

    def _find(
        self, pod: framework.PodInfo
    ) -> tuple[list[Candidate], list[framework.Status]]:
        """``findCandidates`` + ``DryRunPreemption``, node by node in name order."""
        filters = self._filters()
        probe = replace(pod)
        statuses: list[framework.Status] = []
        potential: list[framework.NodeInfo] = []
        for node in self._scheduler.nodes:
            status = _status(probe, filters, node)
            if status is not None and not status.resolvable:
                statuses.append(NOT_HELPFUL)
            else:
                potential.append(node)
        wanted = num_candidates(len(potential))
        candidates: list[Candidate] = []
        for node in potential:
            victims, status = self.select_victims(pod, node)
            if status is not None:
                statuses.append(status)
                continue
            candidates.append(Candidate(node, victims))
            if len(candidates) >= wanted:
                break
        return candidates, statuses

    def select_victims(
        self, pod: framework.PodInfo, node: framework.NodeInfo
    ) -> tuple[tuple[framework.PodInfo, ...], framework.Status | None]:
        """``SelectVictimsOnNode``: the fewest lower-priority pods whose going lets ``pod``
        pass every filter on ``node`` (most important first), or why none would do."""
        lower = [p for p in node.pods if p.priority < pod.priority]
        if not lower:
            return (), NO_VICTIMS
        state = self._state
        filters = self._filters()
        pods_before = list(node.pods)
        ports_before = {key: set(ips) for key, ips in node.ports.items()}
        off = list(lower)
        for other in lower:
            state.unassume(other, node)
        try:
            # A fresh copy per question: plugins keep per-pod answers by identity, and
            # the node changes under them here.
            status = _status(replace(pod), filters, node)
            if status is not None:
                return (), status
            victims: list[framework.PodInfo] = []
            for other in sorted(lower, key=self._importance):
                state.assume(other, node)
                off.remove(other)
                if _status(replace(pod), filters, node) is not None:
                    state.unassume(other, node)
                    off.append(other)
                    victims.append(other)
            return tuple(victims), None
        finally:
            for other in off:
                state.assume(other, node)
            node.pods[:] = pods_before
            node.ports.clear()
            node.ports.update(ports_before)

    def _filters(self) -> list[framework.FilterPlugin]:
        return self._scheduler.filters

    def _importance(self, pod: framework.PodInfo) -> tuple[int, dt.datetime, str, str]:
        """``MoreImportantPod``: higher priority, then the one running longer, first."""
        return (-pod.priority, self.start_of(pod), pod.namespace, pod.name)

    def _terminating(self, pod: framework.PodInfo) -> bool:
        return pod.terminating or pod.key in self._evicted

    def _preempted(self, pod: framework.PodInfo) -> bool:
        """``podTerminatingByPreemption``: being deleted, with DisruptionTarget=True for
        PreemptionByScheduler."""
        if pod.key in self._evicted:
            return True
        stored = self._state.bound_pods.get(pod.key)
        if stored is None or stored.metadata.deletion_timestamp is None:
            return False
        condition = stored.status.condition(DISRUPTION_TARGET)
        return (condition is not None and condition.status == "True"
                and condition.reason == PREEMPTION_BY_SCHEDULER)

    def _waiting(self, pod: framework.PodInfo, node: framework.NodeInfo,
                 victims: Sequence[framework.PodInfo]) -> str:
        """The same sentence whether the victims were chosen now or in an earlier round:
        the lower-priority pods on the node that are (or are about to be) terminating."""
        going = {p.key: p for p in node.pods
                 if p.priority < pod.priority and self._terminating(p)}
        going.update((v.key, v) for v in victims)
        names = sorted(f"{p.namespace}/{p.name}" for p in going.values())
        shown = ", ".join(names[:_NAMED])
        if len(names) > _NAMED:
            shown += f" and {len(names) - _NAMED} more"
        noun = "lower-priority pod" if len(names) == 1 else "lower-priority pods"
        return (f"preemption: nominated to node {node.name}, waiting for {len(names)} "
                f"{noun} there to terminate ({shown}).")


def _status(pod: framework.PodInfo, filters: Sequence[framework.FilterPlugin],
            node: framework.NodeInfo) -> framework.Status | None:
    """The first filter that rejects ``pod`` on ``node`` (None: it fits)."""
    for plugin in filters:
        if plugin.relevant(pod):
            status = plugin.filter(pod, node)
            if status is not None:
                return status
    return None


class Reservations:
    """Nominated pods hold room on their node for the pods after them in the queue.

    kube-scheduler filters a pod against a node as if the pods nominated there with
    the same or a higher priority were already on it, so the room a preemption frees
    goes to the pod that preempted. The queue runs from high priority to low, so a
    nominated pod's room is held from the first pod of its priority on, given back for
    its own turn, and held again if it still waits (``hold``).
    """

    def __init__(self, state: cluster_mod.ClusterState, nominated: Mapping[str, str]) -> None:
        self._state = state
        self._pending = [
            (queued.info, state.by_name[nominated[queued.info.key]])
            for queued in state.queue
            if nominated.get(queued.info.key) in state.by_name and not queued.info.problem
        ]
        self._next = 0
        self._dropped: set[str] = set()
        self._held: dict[str, tuple[framework.PodInfo, framework.NodeInfo]] = {}

    @property
    def active(self) -> bool:
        return self._next < len(self._pending) or bool(self._held)

    def before(self, pod: framework.PodInfo) -> None:
        """Called before ``pod``'s scheduling cycle."""
        pending = self._pending
        while self._next < len(pending) and pending[self._next][0].priority >= pod.priority:
            info, node = pending[self._next]
            self._next += 1
            if info.key not in self._dropped:
                self.hold(info, node)
        own = self._held.pop(pod.key, None)
        if own is not None:
            self._state.unassume(*own)

    def hold(self, pod: framework.PodInfo, node: framework.NodeInfo) -> None:
        self._state.assume(pod, node)
        self._held[pod.key] = (pod, node)

    def drop_below(self, node: framework.NodeInfo, priority: int) -> list[str]:
        """The pods of lower priority nominated to ``node`` lose their nomination (they
        may no longer fit there, as ``prepareCandidate`` says); their keys."""
        keys = [info.key for info, where in self._pending[self._next:]
                if where is node and info.priority < priority and info.key not in self._dropped]
        self._dropped.update(keys)
        return keys
