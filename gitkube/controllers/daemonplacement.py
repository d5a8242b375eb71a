"""Where a DaemonSet's pods belong: Kubernetes' ``NodeShouldRunDaemonPod`` and the pod it makes.

Pure functions on the api models, the daemon controller's half of placement (the
scheduler binds the pods it creates, as in Kubernetes since 1.12):

- ``daemon_pod_spec``: the template's spec with the tolerations every daemon pod gets
  (``AddOrUpdateDaemonPodTolerations``: not-ready and unreachable NoExecute for ever,
  the pressure and unschedulable NoSchedule taints; network-unavailable would come with
  host network pods, which gitkube does not run) and, for one node, its required node
  affinity replaced by that node's name (``ReplaceDaemonSetPodNodeNameNodeAffinity``).
- ``should_run``: (shouldRun, shouldContinueRunning) for a node. A node the template's
  node name, selector or required affinity excludes runs nothing; a node with a
  NoSchedule or NoExecute taint the pod does not tolerate gets no new pod, and keeps a
  running one only when every NoExecute taint is tolerated.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitkube.api import affinity, nodematch, pods
from gitkube.api import node as node_api

#: The tolerations the DaemonSet controller adds: (key, effect).
DEFAULT_TOLERATIONS = (
    (nodematch.NOT_READY, "NoExecute"),
    (nodematch.UNREACHABLE, "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    (nodematch.UNSCHEDULABLE, "NoSchedule"),
)

_PLACING = frozenset({"NoSchedule", "NoExecute"})
_EVICTING = frozenset({"NoExecute"})


@dataclass(frozen=True)
class Placement:
    should_run: bool
    should_continue: bool
    #: Why not, when ``should_run`` is False (for plans and describe).
    reason: str = ""


def with_daemon_tolerations(spec: pods.PodSpec) -> pods.PodSpec:
    """``spec`` with the daemon tolerations (``AddOrUpdateTolerationInPodSpec``: one that
    matches a pod's own by key, operator, value and effect takes its place — its
    ``tolerationSeconds`` go, the pod tolerates for ever — else it is appended)."""
    tolerations = list(spec.tolerations)
    for key, effect in DEFAULT_TOLERATIONS:
        toleration = pods.Toleration(key=key, operator="Exists", effect=effect)
        same = [i for i, t in enumerate(tolerations) if _same_toleration(t, toleration)]
        if not same:
            tolerations.append(toleration)
        for i in same:
            tolerations[i] = toleration
    return spec.model_copy(update={"tolerations": tolerations})


def _same_toleration(a: pods.Toleration, b: pods.Toleration) -> bool:
    """``Toleration.MatchToleration``: key, operator, value and effect (not the seconds)."""
    return ((a.key or "") == (b.key or "") and a.operator == b.operator
            and (a.value or "") == (b.value or "") and (a.effect or "") == (b.effect or ""))


def for_node(spec: pods.PodSpec, node: str) -> pods.PodSpec:
    """The pod's spec pinned to ``node`` by required node affinity on ``metadata.name``."""
    term = affinity.NodeSelectorTerm(match_fields=[affinity.NodeSelectorRequirement(
        key=affinity.NODE_NAME_FIELD, operator="In", values=[node])])
    required = affinity.NodeSelector(node_selector_terms=[term])
    current = spec.affinity or affinity.Affinity()
    node_affinity = current.node_affinity or affinity.NodeAffinity()
    node_affinity = node_affinity.model_copy(
        update={"required_during_scheduling_ignored_during_execution": required})
    return spec.model_copy(update={
        "affinity": current.model_copy(update={"node_affinity": node_affinity})})


def target_node(pod_spec: pods.PodSpec) -> str:
    """``GetTargetNodeName``: the node a daemon pod is bound or pinned to ("" when neither)."""
    if pod_spec.node_name:
        return pod_spec.node_name
    node_affinity = pod_spec.affinity.node_affinity if pod_spec.affinity else None
    required = (node_affinity.required_during_scheduling_ignored_during_execution
                if node_affinity else None)
    for term in required.node_selector_terms if required else []:
        for field in term.match_fields:
            if (field.key == affinity.NODE_NAME_FIELD and field.operator == "In"
                    and len(field.values) == 1):
                return field.values[0]
    return ""


def should_run(node: node_api.Node, spec: pods.PodSpec) -> Placement:
    """``NodeShouldRunDaemonPod`` for the template ``spec`` (daemon tolerations added here)."""
    if spec.node_name and spec.node_name != node.name:
        return Placement(False, False, f"the template names node {spec.node_name}")
    if not nodematch.fits_affinity(spec, node):
        return Placement(False, False, "the template's node selector or affinity excludes it")
    tolerations = with_daemon_tolerations(spec).tolerations
    taints = nodematch.node_taints(node)
    blocking = nodematch.untolerated(taints, tolerations, _PLACING)
    if blocking is None:
        return Placement(True, True)
    evicting = nodematch.untolerated(taints, tolerations, _EVICTING)
    value = f"={blocking.value}" if blocking.value else ""
    return Placement(False, evicting is None,
                     f"untolerated taint {{{blocking.key}{value}:{blocking.effect}}}")
