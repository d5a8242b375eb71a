"""One scheduling cycle per pod: filter, score, select, assume — kube-scheduler's
``schedulePod`` on the records of ``cluster``.

A ``Scheduler`` lives for one pass. It keeps kube-scheduler's habits that matter
for thousands of nodes: it stops filtering once it has found
``num_feasible_nodes_to_find`` nodes (``percentageOfNodesToScore``), and starts
each pod where the previous one stopped, so the load goes round the cluster. A
placed pod is added to its node at once ("assumed"), so the next pod of the pass
sees it.

Answers are cached by the plugins' ``scope`` (see ``framework.Scope``): pods of one
ReplicaSet share a signature and ask the same nodes the same questions, and a node
only changes when a pod lands on it. Ties between the best-scored nodes are broken
with ``random.Random(seed)``, created per pass: the same snapshot and seed always
give the same plan.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy

from gitkube.scheduler import framework, plugins
from gitkube.scheduler.cluster import ClusterState

#: kube-scheduler's minFeasibleNodesToFind and minFeasibleNodesPercentageToFind.
MIN_FEASIBLE_NODES = 100
MIN_FEASIBLE_PERCENTAGE = 5
#: Signatures whose answers are kept at once (one slot per node each).
MAX_MEMOS = 64

STATIC = framework.Scope.STATIC
NODE = framework.Scope.NODE
CLUSTER = framework.Scope.CLUSTER


def num_feasible_nodes_to_find(num_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes are enough: all below 100 nodes, else an adaptive share
    (50% - 1% per 125 nodes, at least 5%) but never fewer than 100."""
    if num_nodes < MIN_FEASIBLE_NODES:
        return num_nodes
    if percentage <= 0:
        percentage = max(50 - num_nodes // 125, MIN_FEASIBLE_PERCENTAGE)
    return max(num_nodes * min(percentage, 100) // 100, MIN_FEASIBLE_NODES)


@dataclass(frozen=True)
class Result:
    """Where a pod goes (``node`` set) or, when nowhere, why (``message``)."""

    pod: framework.PodInfo
    node: framework.NodeInfo | None
    #: Weighted mean of the scores, 0..100 (for the reason line).
    score: int = 0
    message: str = ""
    #: Rejected before any node was asked (PreFilter): preempting others would not help.
    prefiltered: bool = False


class _Signed(Protocol):
    def signature(self, pod: framework.PodInfo) -> Hashable: ...


class _Memo:
    """Answers for one signature: a slot per node, stamped with the node's version.

    ``statuses`` holds the filter answer (None: fits), ``totals`` the weighted sum of
    the node-local scores when it fits.
    """

    __slots__ = ("indices", "ring", "statuses", "totals", "versions")

    def __init__(self, size: int, fill: framework.Status | None) -> None:
        self.versions: list[int] = [-1] * size
        self.statuses: list[framework.Status | None] = [fill] * size
        self.totals: list[int] = [0] * size
        #: STATIC memos: the nodes that pass, twice over (a window is one slice), and
        #: their indices (where a window starts).
        self.ring: list[framework.NodeInfo] | None = None
        self.indices: list[int] = []


class _Memos:
    """The memos of the latest ``MAX_MEMOS`` signatures; older ones are dropped, so a
    pass of thousands of unlike pods keeps bounded memory."""

    def __init__(self, size: int, fill: framework.Status | None = None) -> None:
        self._size = size
        self._fill = fill
        self._tables: dict[Hashable, _Memo] = {}

    def get(self, plugins_: Sequence[_Signed], pod: framework.PodInfo) -> _Memo:
        key = tuple((type(plugin), plugin.signature(pod)) for plugin in plugins_)
        table = self._tables.pop(key, None)
        if table is None:
            if len(self._tables) >= MAX_MEMOS:
                del self._tables[next(iter(self._tables))]
            table = _Memo(self._size, self._fill)
        self._tables[key] = table  # the most recently used goes last
        return table


check_rules = framework.check_rules


def _rules_of(
    filters: Sequence[framework.FilterPlugin], pod: framework.PodInfo
) -> list[framework.DomainRule] | None:
    """The rules of every CLUSTER filter, in order; None when one of them has none."""
    rules: list[framework.DomainRule] = []
    for plugin in filters:
        rules_of = getattr(plugin, "rules", None)
        if rules_of is None:
            return None
        rules += rules_of(pod)
    return rules


def prefilter(filters: Sequence[framework.FilterPlugin], pod: framework.PodInfo) -> str:
    """The first PreFilter rejection of the plugins that have the extension point ("" if none)."""
    for plugin in filters:
        check = getattr(plugin, "prefilter", None)
        rejected = check(pod) if check is not None else ""
        if rejected:
            return str(rejected)
    return ""


def _run(
    filters: Sequence[framework.FilterPlugin], pod: framework.PodInfo, node: framework.NodeInfo
) -> framework.Status | None:
    for plugin in filters:
        status = plugin.filter(pod, node)
        if status is not None:
            return status
    return None


class Scheduler:
    def __init__(
        self,
        cluster: ClusterState,
        *,
        seed: int = 0,
        profile: plugins.Profile = plugins.DEFAULT,
        percentage_of_nodes_to_score: int = 0,
    ) -> None:
        self.cluster = cluster
        self.nodes = cluster.nodes
        self.filters = [make(cluster) for make in profile.filters]
        self.scores = [make(cluster) for make in profile.scores]
        self.want = num_feasible_nodes_to_find(len(self.nodes), percentage_of_nodes_to_score)
        self.next_start = 0
        self._rng = random.Random(seed)
        self._static = _Memos(len(self.nodes))
        self._local = _Memos(len(self.nodes))

    def schedule(self, pod: framework.PodInfo) -> Result:
        """Find the pod a node and assume it there, or say why there is none."""
        count = len(self.nodes)
        if pod.problem:
            return Result(pod, None, message=pod.problem)
        if count == 0:
            return Result(pod, None, message=framework.fit_error(0, []))
        active = [f for f in self.filters if f.relevant(pod)]
        rejected = prefilter(active, pod)
        if rejected:
            return Result(pod, None, message=f"0/{count} nodes are available: {rejected}.",
                          prefiltered=True)
        statics = [f for f in active if f.scope is STATIC]
        locals_ = [f for f in active if f.scope is NODE]
        globals_ = [f for f in active if f.scope is CLUSTER]
        rules = _rules_of(globals_, pod)
        if rules is not None:  # every CLUSTER filter answers by topology value
            globals_ = []
        scorers = [p for p in self.scores if p.relevant(pod)]
        local_scorers = [p for p in scorers if p.scope is not CLUSTER]
        static_memo = self._static_memo(statics, pod)
        memo = self._local.get([*locals_, *local_scorers], pod)
        feasible, stale = self._walk(pod, static_memo, memo, locals_, globals_, rules)
        if not feasible:
            failed = self._diagnose(pod, static_memo.statuses, memo, globals_, rules or [])
            return Result(pod, None, message=framework.fit_error(count, failed))
        totals, statuses, versions = memo.totals, memo.statuses, memo.versions
        if stale:
            for node, total in zip(stale, _weighted(pod, local_scorers, stale), strict=True):
                totals[node.index] = total
                statuses[node.index] = None
                versions[node.index] = node.version
        local_totals = [totals[node.index] for node in feasible]
        chosen, score = self._select(pod, feasible, local_totals, scorers)
        self.cluster.assume(pod, chosen)
        return Result(pod, chosen, score=score)

    def _walk(
        self, pod: framework.PodInfo, static_memo: _Memo, memo: _Memo,
        locals_: Sequence[framework.FilterPlugin], globals_: Sequence[framework.FilterPlugin],
        rules: list[framework.DomainRule] | None,
    ) -> tuple[list[framework.NodeInfo], list[framework.NodeInfo]]:
        """The feasible nodes (up to ``want``, from ``next_start`` round the ring), and
        those of them whose local scores are out of date."""
        count = len(self.nodes)
        versions, statuses = memo.versions, memo.statuses
        feasible: list[framework.NodeInfo] = []
        stale: list[framework.NodeInfo] = []  # feasible, but their local scores are out of date
        start = self.next_start
        next_start = start
        remaining = self.want
        # Only the nodes that pass the static filters are walked, from the first at or
        # after ``start``, so the load goes round the cluster as kube-scheduler's does.
        ring = static_memo.ring or []
        passing = len(static_memo.indices)
        first = bisect.bisect_left(static_memo.indices, start) % passing if passing else 0
        # The hot loop of a pass: list lookups and one version check per node. Why a
        # node failed is not kept here; ``_diagnose`` reads it back from the memos.
        for node in ring[first : first + passing]:
            index = node.index
            if versions[index] == node.version:
                if statuses[index] is not None:
                    continue
                if rules and check_rules(rules, node.labels) is not None:
                    continue
                if globals_ and _run(globals_, pod, node) is not None:
                    continue
            else:
                if locals_:
                    status = _run(locals_, pod, node)
                    if status is not None:
                        statuses[index] = status
                        versions[index] = node.version
                        continue
                if rules and check_rules(rules, node.labels) is not None:
                    continue
                if globals_ and _run(globals_, pod, node) is not None:
                    continue
                stale.append(node)
            feasible.append(node)
            remaining -= 1
            if not remaining:
                next_start = (index + 1) % count
                break
        self.next_start = next_start
        return feasible, stale

    def _static_memo(
        self, statics: Sequence[framework.FilterPlugin], pod: framework.PodInfo
    ) -> _Memo:
        """The static answers for every node (computed once per signature and pass)."""
        memo = self._static.get(statics, pod)
        if memo.ring is None:
            answers = memo.statuses
            passing = []
            for node in self.nodes:
                status = answers[node.index] = _run(statics, pod, node) if statics else None
                if status is None:
                    passing.append(node)
            memo.ring = passing + passing
            memo.indices = [node.index for node in passing]
        return memo

    def _diagnose(
        self,
        pod: framework.PodInfo,
        static_answers: list[framework.Status | None],
        memo: _Memo,
        globals_: Sequence[framework.FilterPlugin],
        rules: Sequence[framework.DomainRule],
    ) -> list[framework.Status]:
        """Why each node failed, once every node was examined and none fits."""
        failed: list[framework.Status] = []
        for node in self.nodes:
            status = static_answers[node.index]
            if status is None and memo.versions[node.index] == node.version:
                status = memo.statuses[node.index]
            if status is None:
                status = check_rules(rules, node.labels) or _run(globals_, pod, node)
            if status is not None:
                failed.append(status)
        return failed

    def filter_all(
        self, pod: framework.PodInfo
    ) -> list[tuple[framework.NodeInfo, framework.Status | None]]:
        """Every node with the first filter that rejects it (None: the pod fits)."""
        active = [f for f in self.filters if f.relevant(pod)]
        rejected = prefilter(active, pod)
        if rejected:
            status = framework.Status("PreFilter", (rejected,), resolvable=False)
            return [(node, status) for node in self.nodes]
        return [(node, _run(active, pod, node)) for node in self.nodes]

    def _select(
        self,
        pod: framework.PodInfo,
        feasible: list[framework.NodeInfo],
        local_totals: list[int],
        scorers: Sequence[framework.ScorePlugin],
    ) -> tuple[framework.NodeInfo, int]:
        """The best total score (kube-scheduler's ``selectHost``), ties drawn by lot."""
        spread = [p for p in scorers if p.scope is CLUSTER]
        weights = sum(p.weight for p in scorers)
        if not spread:
            best = max(local_totals)
            ties = local_totals.count(best)
            if ties == 1:
                return feasible[local_totals.index(best)], best // weights if weights else 0
            positions = list(itertools.compress(range(len(local_totals)),
                                                map(best.__eq__, local_totals)))
        else:
            # Scores of plugins that look across nodes, summed as arrays: hundreds of
            # feasible nodes per pod, several plugins each.
            totals = numpy.array(local_totals, dtype=numpy.int64)
            for plugin in spread:
                totals += plugin.weight * numpy.asarray(plugin.score(pod, feasible),
                                                        dtype=numpy.int64)
            best = int(totals.max())
            positions = numpy.flatnonzero(totals == best).tolist()
        # The lot picks the n-th best, in window order.
        pick = positions[0] if len(positions) == 1 else positions[
            self._rng.randrange(len(positions))]
        return feasible[pick], best // weights if weights else 0


def _weighted(
    pod: framework.PodInfo,
    scorers: Sequence[framework.ScorePlugin],
    nodes: list[framework.NodeInfo],
) -> list[int]:
    sums = [0] * len(nodes)
    for plugin in scorers:
        weight = plugin.weight
        scores = plugin.score(pod, nodes)
        sums = [t + weight * s for t, s in zip(sums, scores, strict=True)]
    return sums
