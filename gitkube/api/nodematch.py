"""Whether a node suits a pod spec: node name, node selector, required node affinity, taints.

Kubernetes' component-helpers (``nodeaffinity.GetRequiredNodeAffinity(pod).Match``,
``FindMatchingUntoleratedTaint``) on the api models, for the controllers that decide
placement themselves: the DaemonSet controller asks it of every node, and a
PersistentVolume's node affinity is matched the same way. The scheduler has its own
compiled form of the same rules (``scheduler/terms.py``) for its hot loop.

A node's taints here include the ones Kubernetes' node lifecycle controller would put
on it from its conditions (gitkube keeps those virtual): ``not-ready``/``unreachable``
(NoSchedule and NoExecute) when Ready is False/Unknown, the pressure taints, and
``unschedulable`` for a cordoned node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gitkube.api import affinity, pods
from gitkube.api import node as node_api

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
#: TaintNodesByCondition: condition (when True) → the NoSchedule taint it brings.
CONDITION_TAINTS = {
    "MemoryPressure": "node.kubernetes.io/memory-pressure",
    "DiskPressure": "node.kubernetes.io/disk-pressure",
    "PIDPressure": "node.kubernetes.io/pid-pressure",
    "NetworkUnavailable": "node.kubernetes.io/network-unavailable",
}


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str


def node_taints(node: node_api.Node) -> list[Taint]:
    """The node's taints as Kubernetes would store them: declared plus lifecycle ones."""
    taints = [Taint(t.key, t.value or "", t.effect) for t in node.spec.taints]
    ready = node.status.condition("Ready")
    if ready is not None and ready.status != "True":
        key = NOT_READY if ready.status == "False" else UNREACHABLE
        taints += [Taint(key, "", "NoSchedule"), Taint(key, "", "NoExecute")]
    for condition, key in CONDITION_TAINTS.items():
        found = node.status.condition(condition)
        if found is not None and found.status == "True":
            taints.append(Taint(key, "", "NoSchedule"))
    if node.spec.unschedulable:
        taints.append(Taint(UNSCHEDULABLE, "", "NoSchedule"))
    return [t for i, t in enumerate(taints) if t not in taints[:i]]


def untolerated(taints: Sequence[Taint], tolerations: Sequence[pods.Toleration],
                effects: frozenset[str]) -> Taint | None:
    """``FindMatchingUntoleratedTaint``: the first taint of ``effects`` nothing tolerates."""
    for taint in taints:
        if taint.effect not in effects:
            continue
        if not any(t.tolerates(taint.key, taint.value, taint.effect) for t in tolerations):
            return taint
    return None


def matches_requirement(requirement: affinity.NodeSelectorRequirement,
                        values: Mapping[str, str]) -> bool:
    value = values.get(requirement.key)
    operator = requirement.operator
    if operator == "In":
        return value is not None and value in requirement.values
    if operator == "NotIn":
        return value is None or value not in requirement.values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    bound = requirement.values[0] if len(requirement.values) == 1 else ""
    if value is None or not (affinity.DECIMAL_INTEGER.fullmatch(value)
                             and affinity.DECIMAL_INTEGER.fullmatch(bound)):
        return False
    return int(value) > int(bound) if operator == "Gt" else int(value) < int(bound)


def matches_term(term: affinity.NodeSelectorTerm, node: node_api.Node) -> bool:
    """Expressions on labels and fields on the name, all of them; an empty term: nothing."""
    if not term.match_expressions and not term.match_fields:
        return False
    fields = {affinity.NODE_NAME_FIELD: node.name}
    return (all(matches_requirement(r, node.metadata.labels) for r in term.match_expressions)
            and all(matches_requirement(r, fields) for r in term.match_fields))


def matches_selector(selector: affinity.NodeSelector | None, node: node_api.Node) -> bool:
    """The terms ORed; no selector matches every node."""
    if selector is None:
        return True
    return any(matches_term(term, node) for term in selector.node_selector_terms)


def fits_affinity(spec: pods.PodSpec, node: node_api.Node) -> bool:
    """``GetRequiredNodeAffinity(pod).Match(node)``: nodeSelector and required affinity."""
    labels = node.metadata.labels
    if any(labels.get(key) != value for key, value in spec.node_selector.items()):
        return False
    node_affinity = spec.affinity.node_affinity if spec.affinity else None
    required = (node_affinity.required_during_scheduling_ignored_during_execution
                if node_affinity else None)
    return matches_selector(required, node)
