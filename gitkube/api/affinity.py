"""Where a pod may go: node affinity, pod (anti-)affinity and topology spread constraints.

These are the parts of a pod spec the scheduler reads besides ``nodeSelector`` and
tolerations (``gitkube.scheduler`` compiles them once per pass). The models follow
``core/v1`` field for field; ``check_affinity`` and ``check_spread`` are the rules
the Kubernetes API server applies (``ValidateAffinity``,
``validateTopologySpreadConstraints``), with its wording, so a manifest Kubernetes
refuses is refused here too — naming the field — and one it accepts is accepted.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from gitkube.api import errors, fields, names, selectors
from gitkube.api.meta import KubeModel

NodeSelectorOperator = Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
#: The one field a ``matchFields`` requirement may name.
NODE_NAME_FIELD = "metadata.name"
#: Kubernetes' ``IsDecimalInteger``: no leading zeros, no plus sign, no "-0".
DECIMAL_INTEGER = re.compile(r"0|-?[1-9][0-9]*")


class NodeSelectorRequirement(KubeModel):
    key: str
    operator: NodeSelectorOperator
    values: list[str] = Field(default_factory=list)


class NodeSelectorTerm(KubeModel):
    """Expressions and fields are ANDed; an empty term matches no node."""

    match_expressions: list[NodeSelectorRequirement] = Field(default_factory=list)
    match_fields: list[NodeSelectorRequirement] = Field(default_factory=list)


class NodeSelector(KubeModel):
    """The terms are ORed."""

    node_selector_terms: list[NodeSelectorTerm]


class PreferredSchedulingTerm(KubeModel):
    weight: fields.Int32
    preference: NodeSelectorTerm


class NodeAffinity(KubeModel):
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] = Field(
        default_factory=list
    )


class PodAffinityTerm(KubeModel):
    """Pods matching ``label_selector`` in ``namespaces`` (default: the pod's own), counted
    by the value of ``topology_key`` on their nodes. No selector matches no pod."""

    label_selector: selectors.LabelSelector | None = None
    namespaces: list[str] = Field(default_factory=list)
    topology_key: str = ""
    #: ``{}`` selects every namespace.
    namespace_selector: selectors.LabelSelector | None = None


class WeightedPodAffinityTerm(KubeModel):
    weight: fields.Int32
    pod_affinity_term: PodAffinityTerm


class PodAffinity(KubeModel):
    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] = Field(
        default_factory=list
    )
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] = Field(
        default_factory=list
    )


class PodAntiAffinity(PodAffinity):
    pass


class Affinity(KubeModel):
    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAntiAffinity | None = None


InclusionPolicy = Literal["Honor", "Ignore"]


class TopologySpreadConstraint(KubeModel):
    max_skew: fields.Int32
    topology_key: str
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"]
    label_selector: selectors.LabelSelector | None = None
    #: Fewer eligible domains than this count the global minimum as 0 (DoNotSchedule only).
    min_domains: fields.Int32 | None = None
    #: Defaults: Honor (only nodes matching the pod's node affinity count), Ignore (taints).
    node_affinity_policy: InclusionPolicy | None = None
    node_taints_policy: InclusionPolicy | None = None
    #: Pod label keys whose values are added to the selector (``key in (pod's value)``).
    match_label_keys: list[str] = Field(default_factory=list)


Issues = list[errors.FieldIssue]


def check_affinity(affinity: Affinity | None, path: str) -> Issues:
    if affinity is None:
        return []
    issues: Issues = []
    node = affinity.node_affinity
    if node is not None:
        where = f"{path}.nodeAffinity"
        required = node.required_during_scheduling_ignored_during_execution
        if required is not None:
            issues += check_node_selector(
                required, f"{where}.requiredDuringSchedulingIgnoredDuringExecution"
            )
        for i, preferred in enumerate(
            node.preferred_during_scheduling_ignored_during_execution
        ):
            at = f"{where}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            issues += _check_weight(preferred.weight, f"{at}.weight")
            issues += check_node_selector_term(preferred.preference, f"{at}.preference")
    for name, pod_terms in (("podAffinity", affinity.pod_affinity),
                            ("podAntiAffinity", affinity.pod_anti_affinity)):
        if pod_terms is None:
            continue
        where = f"{path}.{name}"
        for i, term in enumerate(pod_terms.required_during_scheduling_ignored_during_execution):
            issues += _check_pod_term(
                term, f"{where}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"
            )
        for i, weighted in enumerate(
            pod_terms.preferred_during_scheduling_ignored_during_execution
        ):
            at = f"{where}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            issues += _check_weight(weighted.weight, f"{at}.weight")
            issues += _check_pod_term(weighted.pod_affinity_term, f"{at}.podAffinityTerm")
    return issues


def check_node_selector(selector: NodeSelector, path: str) -> Issues:
    if not selector.node_selector_terms:
        return [errors.FieldIssue(f"{path}.nodeSelectorTerms",
                                  "must have at least one node selector term")]
    issues: Issues = []
    for i, term in enumerate(selector.node_selector_terms):
        issues += check_node_selector_term(term, f"{path}.nodeSelectorTerms[{i}]")
    return issues


def check_node_selector_term(term: NodeSelectorTerm, path: str) -> Issues:
    issues: Issues = []
    for i, requirement in enumerate(term.match_expressions):
        issues += _check_expression(requirement, f"{path}.matchExpressions[{i}]")
    for i, requirement in enumerate(term.match_fields):
        issues += _check_field(requirement, f"{path}.matchFields[{i}]")
    return issues


def _check_expression(requirement: NodeSelectorRequirement, path: str) -> Issues:
    issues = [errors.FieldIssue(f"{path}.key", p)
              for p in names.qualified_name_errors(requirement.key)]
    values = requirement.values
    if requirement.operator in ("In", "NotIn") and not values:
        issues.append(errors.FieldIssue(
            f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
    elif requirement.operator in ("Exists", "DoesNotExist") and values:
        issues.append(errors.FieldIssue(
            f"{path}.values", "may not be specified when `operator` is 'Exists' or "
                              "'DoesNotExist'"))
    elif requirement.operator in ("Gt", "Lt"):
        if len(values) != 1:
            issues.append(errors.FieldIssue(
                f"{path}.values", "must be specified single value when `operator` is 'Lt' or "
                                  "'Gt'"))
        elif not _is_int(values[0]):
            issues.append(errors.FieldIssue(
                f"{path}.values[0]", f"{values[0]!r} must be an integer for operator "
                                     f"{requirement.operator}"))
    for j, value in enumerate(values):
        issues += [errors.FieldIssue(f"{path}.values[{j}]", p)
                   for p in names.label_value_errors(value)]
    return issues


def _check_field(requirement: NodeSelectorRequirement, path: str) -> Issues:
    issues: Issues = []
    if requirement.key != NODE_NAME_FIELD:
        issues.append(errors.FieldIssue(
            f"{path}.key", f"Unsupported value: {requirement.key!r}: supported values: "
                           f"{NODE_NAME_FIELD!r}"))
    if requirement.operator not in ("In", "NotIn"):
        issues.append(errors.FieldIssue(
            f"{path}.operator", f"Unsupported value: {requirement.operator!r}: supported "
                                "values: 'In', 'NotIn'"))
    elif len(requirement.values) != 1:
        issues.append(errors.FieldIssue(
            f"{path}.values", "must be only one value when `operator` is 'In' or 'NotIn' for "
                              "node field selector"))
    return issues


def _check_pod_term(term: PodAffinityTerm, path: str) -> Issues:
    issues: Issues = []
    if not term.topology_key:
        issues.append(errors.FieldIssue(f"{path}.topologyKey", "can not be empty"))
    else:
        issues += [errors.FieldIssue(f"{path}.topologyKey", p)
                   for p in names.qualified_name_errors(term.topology_key)]
    if term.label_selector is not None:
        issues += selectors.check_selector(term.label_selector, f"{path}.labelSelector")
    if term.namespace_selector is not None:
        issues += selectors.check_selector(term.namespace_selector, f"{path}.namespaceSelector")
    for i, namespace in enumerate(term.namespaces):
        issues += [errors.FieldIssue(f"{path}.namespaces[{i}]", p)
                   for p in names.dns1123_label_errors(namespace)]
    return issues


def _check_weight(weight: int, path: str) -> Issues:
    if 1 <= weight <= 100:
        return []
    return [errors.FieldIssue(path, f"must be in the range 1-100, not {weight}")]


def check_spread(constraints: list[TopologySpreadConstraint], path: str) -> Issues:
    issues: Issues = []
    seen: set[tuple[str, str]] = set()
    for i, constraint in enumerate(constraints):
        where = f"{path}[{i}]"
        if constraint.max_skew <= 0:
            issues.append(errors.FieldIssue(
                f"{where}.maxSkew", f"must be greater than zero, not {constraint.max_skew}"))
        if not constraint.topology_key:
            issues.append(errors.FieldIssue(f"{where}.topologyKey", "can not be empty"))
        else:
            issues += [errors.FieldIssue(f"{where}.topologyKey", p)
                       for p in names.qualified_name_errors(constraint.topology_key)]
        pair = (constraint.topology_key, constraint.when_unsatisfiable)
        if pair in seen:
            issues.append(errors.FieldIssue(
                f"{where}", f"Duplicate value: {{{pair[0]}, {pair[1]}}}: a topologyKey may "
                            "appear once per whenUnsatisfiable"))
        seen.add(pair)
        if constraint.min_domains is not None:
            if constraint.min_domains <= 0:
                issues.append(errors.FieldIssue(
                    f"{where}.minDomains", f"must be greater than zero, not "
                                           f"{constraint.min_domains}"))
            elif constraint.when_unsatisfiable != "DoNotSchedule":
                issues.append(errors.FieldIssue(
                    f"{where}.minDomains", "can only use minDomains if "
                                           "whenUnsatisfiable=DoNotSchedule"))
        if constraint.label_selector is not None:
            issues += selectors.check_selector(constraint.label_selector,
                                               f"{where}.labelSelector")
        selector_keys = set()
        if constraint.label_selector is not None:
            selector_keys = set(constraint.label_selector.match_labels) | {
                e.key for e in constraint.label_selector.match_expressions}
        for j, key in enumerate(constraint.match_label_keys):
            issues += [errors.FieldIssue(f"{where}.matchLabelKeys[{j}]", p)
                       for p in names.qualified_name_errors(key)]
            if key in selector_keys:
                issues.append(errors.FieldIssue(
                    f"{where}.matchLabelKeys[{j}]",
                    f"exists in both matchLabelKeys and labelSelector: {key!r}"))
    return issues


def _is_int(text: str) -> bool:
    return DECIMAL_INTEGER.fullmatch(text) is not None


def check_priority_class_name(name: str | None, path: str) -> Issues:
    if name is None:
        return []
    return [errors.FieldIssue(path, p) for p in names.dns1123_subdomain_errors(name)]

