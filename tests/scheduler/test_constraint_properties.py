"""Invariants of affinity and spreading over random clusters (hypothesis).

Every pod bound in a pass is checked against the cluster as it stood when its
turn came (the bindings before it applied), with the rules written out here from
the Kubernetes documentation rather than taken from the plugins:

- required pod anti-affinity: no pod matching a term in the chosen node's domain,
  and no placed pod whose anti-affinity term matches this pod in that domain;
- required pod affinity: a pod matching the terms in the domain, or none in any
  domain and the pod matches its own terms;
- DoNotSchedule spreading: domain count + 1 - global minimum <= maxSkew, over the
  domains of the nodes carrying the key.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitkube.api import core
from gitkube.api import node as node_api
from gitkube.clock import FakeClock
from gitkube.planning.actions import ActionKind
from gitkube.planning.snapshot import Snapshot
from gitkube.scheduler import plan_scheduling

from . import builders as b

HOST = "kubernetes.io/hostname"
KEYS = [HOST, "zone"]
APPS = ["web", "db"]


@st.composite
def clusters(draw: st.DrawFn) -> Snapshot:
    count = draw(st.integers(1, 6))
    nodes = []
    for i in range(count):
        labels = {HOST: f"n{i}"}
        if draw(st.integers(0, 4)):  # now and then a node without a zone
            labels["zone"] = draw(st.sampled_from(["a", "b", "c"]))
        nodes.append(b.node(f"n{i}", labels=labels, pods=draw(st.sampled_from(["3", "110"]))))
    pods = []
    for i in range(draw(st.integers(1, 14))):
        app = draw(st.sampled_from(APPS))
        affinity: dict[str, Any] = {}
        rule = draw(st.sampled_from(["none", "anti", "affinity", "spread"]))
        key = draw(st.sampled_from(KEYS))
        term = {"labelSelector": {"matchLabels": {"app": draw(st.sampled_from(APPS))}},
                "topologyKey": key}
        spread = []
        if rule == "anti":
            affinity = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                                            [term]}}
        elif rule == "affinity":
            affinity = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
        elif rule == "spread":
            spread = [{"maxSkew": draw(st.integers(1, 2)), "topologyKey": key,
                       "whenUnsatisfiable": "DoNotSchedule",
                       "labelSelector": {"matchLabels": {"app": app}}}]
        pods.append(b.pod(f"p{i:02d}", labels={"app": app}, affinity=affinity or None,
                          spread=spread, created=i))
    return b.snapshot(*nodes, *pods)


def _terms(pod: core.Pod, kind: str) -> list[Any]:
    affinity = pod.spec.affinity
    group = getattr(affinity, kind, None) if affinity else None
    return list(group.required_during_scheduling_ignored_during_execution) if group else []


def _matches(term: Any, pod: core.Pod, owner: core.Pod) -> bool:
    if pod.namespace != owner.namespace or term.label_selector is None:
        return False
    return bool(term.label_selector.matches(pod.metadata.labels))


def _domain(node: node_api.Node, key: str) -> str | None:
    return node.metadata.labels.get(key)


def _check(pod: core.Pod, node: node_api.Node, nodes: dict[str, node_api.Node],
           placed: list[core.Pod]) -> None:
    where = {p.name: nodes[p.spec.node_name or ""] for p in placed}
    for term in _terms(pod, "pod_anti_affinity"):
        value = _domain(node, term.topology_key)
        for other in placed:
            if value is not None and _domain(where[other.name], term.topology_key) == value:
                assert not _matches(term, other, pod), f"{pod.name} next to {other.name}"
    for other in placed:
        for term in _terms(other, "pod_anti_affinity"):
            value = _domain(where[other.name], term.topology_key)
            if value is not None and _domain(node, term.topology_key) == value:
                assert not _matches(term, pod, other), f"{other.name} refuses {pod.name}"
    affinity = _terms(pod, "pod_affinity")
    if affinity:
        assert all(_domain(node, t.topology_key) is not None for t in affinity)
        # kube-scheduler counts the matching pods per topology pair: one on a node without
        # the key is in no domain, and does not stop the first-of-a-group exception.
        matching = [o for o in placed if all(
            _matches(t, o, pod) and _domain(where[o.name], t.topology_key) is not None
            for t in affinity)]
        near = [o for o in matching
                if all(_domain(where[o.name], t.topology_key) == _domain(node, t.topology_key)
                       for t in affinity)]
        first = not matching and all(_matches(t, pod, pod) for t in affinity)
        assert near or first, f"{pod.name} is far from what it needs"
    for constraint in pod.spec.topology_spread_constraints:
        key = constraint.topology_key
        selector = constraint.label_selector
        assert selector is not None
        counts = {v: 0 for n in nodes.values() if (v := _domain(n, key)) is not None}
        for other in placed:
            value = _domain(where[other.name], key)
            if value is not None and selector.matches(other.metadata.labels):
                counts[value] += 1
        value = _domain(node, key)
        assert value is not None
        skew = counts[value] + 1 - min(counts.values())
        assert skew <= constraint.max_skew, f"{pod.name} skews {key} by {skew}"


FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(clusters(), st.integers(0, 2))
def test_every_hard_constraint_holds_when_each_pod_lands(snapshot: Snapshot, seed: int) -> None:
    actions = plan_scheduling(snapshot, FakeClock(), seed=seed)
    nodes = {n.name: n for n in snapshot.of_kind(node_api.Node)}
    placed: list[core.Pod] = []
    for action in actions:
        if action.kind is not ActionKind.BIND:
            continue
        assert isinstance(action.obj, core.Pod)
        _check(action.obj, nodes[action.node or ""], nodes, placed)
        placed.append(action.obj)


@FAST
@given(clusters())
def test_spread_pods_alone_end_within_max_skew(snapshot: Snapshot) -> None:
    """When only spread pods of one app are placed, the whole pass stays within maxSkew."""
    spread_only = [p for p in snapshot.of_kind(core.Pod)
                   if p.spec.topology_spread_constraints and p.metadata.labels["app"] == "web"]
    nodes = snapshot.of_kind(node_api.Node)
    same = [p.model_copy(update={"spec": p.spec.model_copy(update={
        "topology_spread_constraints": [spread_only[0].spec.topology_spread_constraints[0]]})})
        for p in spread_only]
    if not same:
        return
    constraint = same[0].spec.topology_spread_constraints[0]
    actions = plan_scheduling(b.snapshot(*nodes, *same), FakeClock())
    zone_of = {n.name: n.metadata.labels.get(constraint.topology_key) for n in nodes}
    counts = {v: 0 for v in zone_of.values() if v is not None}
    if not counts:  # no node carries the key: nothing can be placed
        assert not any(a.kind is ActionKind.BIND for a in actions)
        return
    for action in actions:
        if action.kind is ActionKind.BIND:
            counts[zone_of[action.node or ""] or ""] += 1
    assert max(counts.values()) - min(counts.values()) <= constraint.max_skew
