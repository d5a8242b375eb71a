"""NodeShouldRunDaemonPod as Kubernetes' DaemonSet controller decides it, and the pod it makes."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import pods
from gitkube.controllers import daemonplacement

from . import builders as b

AFFINITY_SSD = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [
        {"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}


def _spec(**spec: Any) -> pods.PodSpec:
    return pods.PodSpec.model_validate({"containers": [{"name": "a", "image": "busybox:1"}],
                                        **spec})


@pytest.mark.parametrize(("node", "spec", "run", "keep"), [
    pytest.param(b.node("n1"), {}, True, True, id="plain-node-runs-it"),
    pytest.param(b.node("n1", labels={"disk": "ssd"}), {"nodeSelector": {"disk": "ssd"}},
                 True, True, id="node-selector-matches"),
    pytest.param(b.node("n1"), {"nodeSelector": {"disk": "ssd"}}, False, False,
                 id="node-selector-label-missing"),
    pytest.param(b.node("n1", labels={"disk": "hdd"}), {"affinity": AFFINITY_SSD}, False,
                 False, id="required-affinity-excludes"),
    pytest.param(b.node("n1", labels={"disk": "ssd"}), {"affinity": AFFINITY_SSD}, True, True,
                 id="required-affinity-matches"),
    pytest.param(b.node("n1"), {"nodeName": "n2"}, False, False, id="template-names-other-node"),
    pytest.param(b.node("n1", taints=[("gpu", "a", "NoSchedule")]), {}, False, True,
                 id="untolerated-noschedule-keeps-running-pod"),
    pytest.param(b.node("n1", taints=[("gpu", "a", "NoExecute")]), {}, False, False,
                 id="untolerated-noexecute-evicts"),
    pytest.param(b.node("n1", taints=[("gpu", "a", "PreferNoSchedule")]), {}, True, True,
                 id="prefer-no-schedule-does-not-matter"),
    pytest.param(b.node("n1", taints=[("gpu", "a", "NoExecute")]),
                 {"tolerations": [{"key": "gpu", "operator": "Exists"}]}, True, True,
                 id="tolerated-taint"),
    pytest.param(b.node("n1", taints=[("node-role.kubernetes.io/master", "", "NoSchedule")]),
                 {"tolerations": [{"key": "node-role.kubernetes.io/master",
                                   "effect": "NoSchedule"}]}, True, True,
                 id="fluentd-tolerates-master-taint"),
    pytest.param(b.node("n1", unschedulable=True), {}, True, True,
                 id="cordoned-node-still-runs-daemons"),
    pytest.param(b.node("n1", conditions={"DiskPressure": "True",
                                          "MemoryPressure": "True", "PIDPressure": "True"}),
                 {}, True, True, id="pressure-taints-tolerated-by-default"),
    pytest.param(b.node("n1", conditions={"NetworkUnavailable": "True"}), {}, False, True,
                 id="network-unavailable-not-tolerated"),
    pytest.param(b.node("n1", ready="False"), {}, False, True,
                 id="not-ready-node-keeps-but-gets-no-new-pod"),
    pytest.param(b.node("n1", ready="Unknown"), {}, False, True,
                 id="unreachable-node-keeps-but-gets-no-new-pod"),
    pytest.param(b.node("n1", ready=None), {}, True, True, id="node-not-heard-from-yet"),
])
def test_should_run(node: Any, spec: dict[str, Any], run: bool, keep: bool) -> None:
    placement = daemonplacement.should_run(node, _spec(**spec))
    assert (placement.should_run, placement.should_continue) == (run, keep)
    assert bool(placement.reason) == (not run)


def test_reason_names_the_taint() -> None:
    placement = daemonplacement.should_run(b.node("n1", taints=[("gpu", "a", "NoSchedule")]),
                                           _spec())
    assert placement.reason == "untolerated taint {gpu=a:NoSchedule}"


def test_daemon_tolerations_are_added_once() -> None:
    spec = daemonplacement.with_daemon_tolerations(_spec(tolerations=[
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 30}]))
    keys = [(t.key, t.effect, t.toleration_seconds) for t in spec.tolerations]
    assert keys == [
        ("node.kubernetes.io/not-ready", "NoExecute", None),
        ("node.kubernetes.io/unreachable", "NoExecute", None),  # tolerated for ever now
        ("node.kubernetes.io/disk-pressure", "NoSchedule", None),
        ("node.kubernetes.io/memory-pressure", "NoSchedule", None),
        ("node.kubernetes.io/pid-pressure", "NoSchedule", None),
        ("node.kubernetes.io/unschedulable", "NoSchedule", None),
    ]


def test_pod_is_pinned_to_its_node_replacing_required_affinity() -> None:
    spec = daemonplacement.for_node(_spec(affinity=AFFINITY_SSD), "n2")
    assert spec.affinity is not None and spec.affinity.node_affinity is not None
    required = spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
    assert required is not None
    [term] = required.node_selector_terms
    assert not term.match_expressions
    assert [f.to_dict() for f in term.match_fields] == [
        {"key": "metadata.name", "operator": "In", "values": ["n2"]}]
    assert daemonplacement.target_node(spec) == "n2"
