"""Pods counted by topology, kept current as a pass places pods.

Inter-pod affinity and topology spreading ask "how many pods matching S are in the
domain of this node" for thousands of nodes and pods. Counting from scratch each
time (kube-scheduler's PreFilter does, in parallel Go) would cost a scan of every
pod per pod in Python; instead each question is registered once as a counter, the
counter scans the pods present then, and every later placement updates it
(``TopologyIndex.place``). Pods of one ReplicaSet ask the same questions, so a
pass holds a few dozen counters however many pods it places.

Two more indexes serve the symmetric rules, keyed by term: the required
anti-affinity terms of the pods already placed (``anti``), and the terms by which
placed pods attract or repel others when scoring (``attract``: required affinity
with kube-scheduler's hardPodAffinityWeight 1, preferred terms with their signed
weights), each counting, per topology value, the pods holding the term.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import numpy

from gitkube.scheduler import framework, terms

#: kube-scheduler's default hardPodAffinityWeight.
HARD_POD_AFFINITY_WEIGHT = 1

Match = Callable[[framework.PodInfo], bool]


class TermCount:
    """Pods matching ``match``, per value of each of ``keys`` on their nodes; ``present``
    holds the values with at least one such pod."""

    def __init__(self, match: Match, keys: Sequence[str]) -> None:
        self.match = match
        self.keys = tuple(dict.fromkeys(keys))
        self.by_key: dict[str, dict[str, int]] = {key: {} for key in self.keys}
        self.present: dict[str, set[str]] = {key: set() for key in self.keys}
        self.total = 0

    def add(self, pod: framework.PodInfo, node: framework.NodeInfo, delta: int) -> None:
        if not self.match(pod):
            return
        labels = node.labels
        for key in self.keys:
            value = labels.get(key)
            if value is not None:
                counts = self.by_key[key]
                after = counts[value] = counts.get(value, 0) + delta
                if after > 0:
                    self.present[key].add(value)
                else:
                    self.present[key].discard(value)
                self.total += delta


class SpreadCount:
    """Pods matching ``match`` per node, and per domain (value of ``key``) over the
    eligible nodes, with the domains grouped by count so that the global minimum and
    the domains above a skew are found without looking at every domain."""

    def __init__(self, match: Match, key: str, nodes: Sequence[framework.NodeInfo],
                 eligible: Sequence[bool], codes: Codes) -> None:
        self.match = match
        self.key = key
        self.eligible = eligible
        self.codes = codes
        #: Matching pods per node index, and per domain code (eligible nodes only), as
        #: arrays: the spreading score reads them for hundreds of nodes at once.
        self.per_node = numpy.zeros(len(nodes), dtype=numpy.int64)
        self.per_code = numpy.zeros(len(codes.values) + 1, dtype=numpy.int64)
        self.domains: dict[str, int] = {}
        for node in nodes:
            value = node.labels.get(key)
            if value is not None and eligible[node.index]:
                self.domains[value] = 0
        #: count → the domains that have it (no empty sets are kept).
        self.levels: dict[int, set[str]] = {0: set(self.domains)} if self.domains else {}
        self.min = 0

    def add(self, pod: framework.PodInfo, node: framework.NodeInfo, delta: int) -> None:
        if pod.terminating or not self.match(pod):
            return
        self.per_node[node.index] += delta
        value = node.labels.get(self.key)
        if value is None or not self.eligible[node.index]:
            return
        self.per_code[self.codes.by_node[node.index]] += delta
        before = self.domains[value]
        after = self.domains[value] = before + delta
        levels = self.levels
        levels[before].discard(value)
        if not levels[before]:
            del levels[before]
        levels.setdefault(after, set()).add(value)
        self.min = min(levels)

    def global_min(self, min_domains: int) -> int:
        """The global minimum of the filter; 0 with fewer domains than ``min_domains``."""
        return self.min if len(self.domains) >= min_domains else 0

    def above(self, threshold: int) -> set[str]:
        """The domains holding more than ``threshold`` matching pods."""
        out: set[str] = set()
        for count, values in self.levels.items():
            if count > threshold:
                out |= values
        return out


class Codes:
    """The values of one label key as small integers: ``by_node[i]`` is node i's value's
    code, and ``len(values)`` (one past the last code) stands for "no such label"."""

    def __init__(self, column: Sequence[str | None]) -> None:
        self.values: list[str] = sorted({v for v in column if v is not None})
        code = {value: i for i, value in enumerate(self.values)}
        missing = len(self.values)
        self.by_node = numpy.array([missing if v is None else code[v] for v in column],
                                   dtype=numpy.intp)
        #: The code of "" (a missing label counts there for kube-scheduler's domain count).
        self.empty = code.get("", missing)


Counter = TypeVar("Counter", TermCount, SpreadCount)


class TopologyIndex:
    def __init__(self, nodes: Sequence[framework.NodeInfo],
                 namespace_labels: Mapping[str, Mapping[str, str]]) -> None:
        self.nodes = nodes
        self.namespace_labels = namespace_labels
        #: Required anti-affinity terms of placed pods → topology value → pods.
        self.anti: dict[terms.AffinityTerm, dict[str, int]] = {}
        #: (term, weight) of placed pods that score others → topology value → pods.
        self.attract: dict[tuple[terms.AffinityTerm, int], dict[str, int]] = {}
        #: Bumped when ``anti`` or ``attract`` change (callers cache by it).
        self.terms_version = 0
        self._counters: dict[Hashable, TermCount | SpreadCount] = {}
        self._eligible: dict[Hashable, list[bool]] = {}
        self._columns: dict[str, list[str | None]] = {}
        self._codes: dict[str, Codes] = {}

    def place(self, pod: framework.PodInfo, node: framework.NodeInfo, delta: int = 1) -> None:
        """``pod`` joined (or, with -1, left) ``node``: every count follows."""
        for counter in self._counters.values():
            counter.add(pod, node, delta)
        rules = pod.pod_affinity
        if rules is None:
            return
        labels = node.labels
        for term in rules.required_anti:
            _bump(self.anti, term, labels.get(term.topology_key), delta)
        for term in rules.required:
            _bump(self.attract, (term, HARD_POD_AFFINITY_WEIGHT),
                  labels.get(term.topology_key), delta)
        for weight, term in rules.preferred:
            _bump(self.attract, (term, weight), labels.get(term.topology_key), delta)
        self.terms_version += 1

    def counter(self, key: Hashable, make: Callable[[], Counter]) -> Counter:
        """The counter registered under ``key``, made and filled from the placed pods the
        first time it is asked for."""
        found = self._counters.get(key)
        if found is None:
            found = make()
            for node in self.nodes:
                for pod in node.pods:
                    found.add(pod, node, 1)
            self._counters[key] = found
        return found  # type: ignore[return-value]  # one key is always one kind

    def codes(self, key: str) -> Codes:
        found = self._codes.get(key)
        if found is None:
            found = self._codes[key] = Codes(self.column(key))
        return found

    def column(self, key: str) -> list[str | None]:
        """Every node's value of label ``key`` (None: no such label), by node index."""
        found = self._columns.get(key)
        if found is None:
            found = self._columns[key] = [node.labels.get(key) for node in self.nodes]
        return found

    def eligible(self, key: Hashable, test: Callable[[framework.NodeInfo], bool]) -> list[bool]:
        """Which nodes pass ``test`` (cached under ``key`` for the pass)."""
        found = self._eligible.get(key)
        if found is None:
            found = self._eligible[key] = [test(node) for node in self.nodes]
        return found

    def term_count(self, match_terms: tuple[terms.AffinityTerm, ...]) -> TermCount:
        """Pods matching ALL of ``match_terms``, counted by each term's topology key."""
        labels_of = self.namespace_labels

        def match(pod: framework.PodInfo) -> bool:
            return all(t.matches(pod.namespace, pod.labels, labels_of) for t in match_terms)

        return self.counter(("terms", match_terms),
                            lambda: TermCount(match, [t.topology_key for t in match_terms]))


def _bump(index: dict[Any, dict[str, int]], key: Hashable, value: str | None,
          delta: int) -> None:
    if value is None:
        return
    counts = index.setdefault(key, {})
    counts[value] = counts.get(value, 0) + delta
