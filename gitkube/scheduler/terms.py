"""Compiled placement rules: selectors, node affinity terms, pod affinity terms, spreading.

``cluster`` compiles a pod's affinity and spread constraints once per pass into
these frozen records; the plugins then only match them. Being frozen and hashable,
a compiled rule is also the plugins' cache key (``signature``): pods of one
ReplicaSet compile to equal rules and share every cached answer.

The semantics are Kubernetes' own:

- ``LabelMatch``: ``metav1.LabelSelectorAsSelector`` (no selector matches nothing,
  ``{}`` matches everything).
- ``NodeTerm``/``NodeSelectorMatch``: ``nodeaffinity.NodeSelector`` (expressions and
  fields ANDed, terms ORed, an empty term matches no node; ``Gt``/``Lt`` compare
  integers; ``matchFields`` knows ``metadata.name``).
- ``AffinityTerm``: ``framework.AffinityTerm.Matches`` (namespaces, defaulting to the
  pod's own, or a namespace selector; then the label selector).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gitkube.api import affinity as affinity_api
from gitkube.api import selectors

NS_LABELS = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: frozenset[str] = frozenset()
    #: The integer of Gt/Lt.
    bound: int = 0

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        operator = self.operator
        if operator == "In":
            return value is not None and value in self.values
        if operator == "NotIn":
            return value is None or value not in self.values
        if operator == "Exists":
            return value is not None
        if operator == "DoesNotExist":
            return value is None
        if value is None or not affinity_api.DECIMAL_INTEGER.fullmatch(value):
            return False
        return int(value) > self.bound if operator == "Gt" else int(value) < self.bound


@dataclass(frozen=True, slots=True)
class LabelMatch:
    """A compiled label selector; ``nothing`` for an absent one (matches no pod)."""

    labels: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.nothing:
            return False
        for key, value in self.labels:
            if labels.get(key) != value:
                return False
        return all(requirement.matches(labels) for requirement in self.expressions)


NOTHING = LabelMatch(nothing=True)
EVERYTHING = LabelMatch()


def label_match(
    selector: selectors.LabelSelector | None, extra: tuple[Requirement, ...] = ()
) -> LabelMatch:
    if selector is None:
        return NOTHING
    return LabelMatch(
        tuple(sorted(selector.match_labels.items())),
        tuple(_requirement(e.key, e.operator, e.values) for e in selector.match_expressions)
        + extra,
    )


def _requirement(key: str, operator: str, values: list[str]) -> Requirement:
    bound = 0
    if operator in ("Gt", "Lt"):
        text = values[0] if len(values) == 1 else ""
        if not affinity_api.DECIMAL_INTEGER.fullmatch(text):  # unparsable: matches nothing
            return Requirement(key, "In", frozenset())
        bound = int(text)
    return Requirement(key, operator, frozenset(values), bound)


@dataclass(frozen=True, slots=True)
class NodeTerm:
    expressions: tuple[Requirement, ...] = ()
    #: ``metadata.name`` requirements, as In/NotIn on the node name.
    names: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        if not self.expressions and not self.names:
            return False
        for requirement in self.expressions:
            if not requirement.matches(labels):
                return False
        if self.names:
            fields = {affinity_api.NODE_NAME_FIELD: name}
            return all(r.matches(fields) for r in self.names)
        return True


def node_term(term: affinity_api.NodeSelectorTerm) -> NodeTerm:
    return NodeTerm(
        tuple(_requirement(r.key, r.operator, r.values) for r in term.match_expressions),
        tuple(_requirement(r.key, r.operator, r.values) for r in term.match_fields),
    )


@dataclass(frozen=True, slots=True)
class NodeSelectorMatch:
    """``nodeSelector`` AND (any of the required node affinity terms, when given)."""

    selector: tuple[tuple[str, str], ...] = ()
    terms: tuple[NodeTerm, ...] | None = None

    def matches(self, labels: Mapping[str, str], name: str) -> bool:
        for key, value in self.selector:
            if labels.get(key) != value:
                return False
        if self.terms is None:
            return True
        return any(term.matches(labels, name) for term in self.terms)

    @property
    def empty(self) -> bool:
        return not self.selector and self.terms is None


MATCH_ANY = NodeSelectorMatch()


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    selector: LabelMatch
    topology_key: str
    #: Namespaces the term looks in (resolved: the owning pod's when none are named).
    namespaces: frozenset[str] = frozenset()
    #: Also every namespace whose labels this matches.
    namespace_selector: LabelMatch | None = None

    def matches(self, namespace: str, labels: Mapping[str, str], ns_labels: NS_LABELS) -> bool:
        """Whether a pod in ``namespace`` with ``labels`` is one this term is about."""
        if namespace not in self.namespaces and not (
            self.namespace_selector is not None
            and self.namespace_selector.matches(ns_labels.get(namespace, {}))
        ):
            return False
        return self.selector.matches(labels)


def affinity_term(term: affinity_api.PodAffinityTerm, own_namespace: str) -> AffinityTerm:
    namespaces = frozenset(term.namespaces)
    ns_selector = None
    if term.namespace_selector is not None:
        ns_selector = label_match(term.namespace_selector)
    elif not namespaces:
        namespaces = frozenset({own_namespace})
    return AffinityTerm(label_match(term.label_selector), term.topology_key, namespaces,
                        ns_selector)


@dataclass(frozen=True, slots=True)
class PodAffinityRules:
    """A pod's inter-pod affinity, compiled; weights are signed (anti-affinity negative)."""

    required: tuple[AffinityTerm, ...] = ()
    required_anti: tuple[AffinityTerm, ...] = ()
    preferred: tuple[tuple[int, AffinityTerm], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.required or self.required_anti or self.preferred)


def pod_affinity_rules(
    rules: affinity_api.Affinity | None, namespace: str
) -> PodAffinityRules | None:
    if rules is None:
        return None
    required: list[AffinityTerm] = []
    anti: list[AffinityTerm] = []
    preferred: list[tuple[int, AffinityTerm]] = []
    for group, sign, hard in ((rules.pod_affinity, 1, required),
                              (rules.pod_anti_affinity, -1, anti)):
        if group is None:
            continue
        hard.extend(affinity_term(t, namespace)
                    for t in group.required_during_scheduling_ignored_during_execution)
        preferred.extend(
            (sign * w.weight, affinity_term(w.pod_affinity_term, namespace))
            for w in group.preferred_during_scheduling_ignored_during_execution
            if w.weight
        )
    compiled = PodAffinityRules(tuple(required), tuple(anti), tuple(preferred))
    return None if compiled.empty else compiled


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    max_skew: int
    topology_key: str
    hard: bool  # DoNotSchedule
    selector: LabelMatch
    min_domains: int = 1
    honor_affinity: bool = True
    honor_taints: bool = False


def spread_constraint(
    constraint: affinity_api.TopologySpreadConstraint, pod_labels: Mapping[str, str]
) -> SpreadConstraint:
    # matchLabelKeys: the pod's own values of those keys narrow the selector.
    extra = tuple(
        Requirement(key, "In", frozenset({pod_labels[key]}))
        for key in constraint.match_label_keys
        if key in pod_labels
    )
    return SpreadConstraint(
        max_skew=constraint.max_skew,
        topology_key=constraint.topology_key,
        hard=constraint.when_unsatisfiable == "DoNotSchedule",
        selector=label_match(constraint.label_selector, extra),
        min_domains=constraint.min_domains or 1,
        honor_affinity=(constraint.node_affinity_policy or "Honor") == "Honor",
        honor_taints=(constraint.node_taints_policy or "Ignore") == "Honor",
    )


#: kube-scheduler's system default spreading, for pods of a ReplicaSet with no constraints.
HOSTNAME_KEY = "kubernetes.io/hostname"
ZONE_KEY = "topology.kubernetes.io/zone"


def default_constraints(selector: LabelMatch) -> tuple[SpreadConstraint, ...]:
    return (
        SpreadConstraint(3, HOSTNAME_KEY, False, selector),
        SpreadConstraint(5, ZONE_KEY, False, selector),
    )
