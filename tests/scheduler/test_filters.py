"""Filter plugins, one table each: a node, a pod, and what ``explain`` says about them.

Cases follow Kubernetes' documented behaviour and the wording kube-scheduler uses,
so a reason here is exactly what ``gitkube describe pod`` shows.
"""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.scheduler import explain

from . import builders as b

UNSCHEDULABLE = "node(s) were unschedulable"
NODE_NAME = "node(s) didn't match the requested node name"
SELECTOR = "node(s) didn't match Pod's node affinity/selector"
PORTS = "node(s) didn't have free ports for the requested pod ports"


def reasons_on(node_kwargs: dict[str, Any], pod_kwargs: dict[str, Any], *others: Any) -> list[str]:
    """The reasons ``explain`` gives for node "n1" ([] when the pod fits there)."""
    candidate = b.pod("candidate", **pod_kwargs)
    snap = b.snapshot(b.node("n1", **node_kwargs), *others)
    [(name, passed, reasons)] = explain(snap, candidate)
    assert name == "n1"
    assert passed == (reasons == [])
    return reasons


EXISTS_UNSCHEDULABLE = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                        "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("node_kwargs", "pod_kwargs", "expected"),
    [
        pytest.param({}, {}, [], id="schedulable-node"),
        pytest.param({"unschedulable": True}, {}, [UNSCHEDULABLE], id="cordoned"),
        pytest.param({"unschedulable": True}, {"tolerations": [EXISTS_UNSCHEDULABLE]}, [],
                     id="cordoned-but-tolerated"),
        pytest.param({"unschedulable": True},
                     {"tolerations": [{"key": "node.kubernetes.io/unschedulable",
                                       "operator": "Exists"}]},
                     [], id="cordoned-tolerated-any-effect"),
        pytest.param({"unschedulable": True}, {"tolerations": [{"operator": "Exists"}]}, [],
                     id="cordoned-tolerate-everything"),
        pytest.param({"unschedulable": True},
                     {"tolerations": [{"key": "node.kubernetes.io/unschedulable",
                                       "operator": "Exists", "effect": "NoExecute"}]},
                     [UNSCHEDULABLE], id="cordoned-wrong-effect"),
    ],
)
def test_node_unschedulable(
    node_kwargs: dict[str, Any], pod_kwargs: dict[str, Any], expected: list[str]
) -> None:
    assert reasons_on(node_kwargs, pod_kwargs) == expected


@pytest.mark.parametrize(
    ("node_name", "expected"),
    [
        pytest.param("n1", [], id="named-this-node"),
        pytest.param("n2", [NODE_NAME], id="named-another-node"),
    ],
)
def test_node_name(node_name: str, expected: list[str]) -> None:
    assert reasons_on({}, {"node_name": node_name}) == expected


@pytest.mark.parametrize(
    ("labels", "selector", "expected"),
    [
        pytest.param({}, {}, [], id="no-selector"),
        pytest.param({"disktype": "ssd"}, {"disktype": "ssd"}, [], id="label-matches"),
        pytest.param({"disktype": "ssd", "zone": "a"}, {"disktype": "ssd"}, [],
                     id="extra-node-labels-ignored"),
        pytest.param({"disktype": "hdd"}, {"disktype": "ssd"}, [SELECTOR], id="value-differs"),
        pytest.param({}, {"disktype": "ssd"}, [SELECTOR], id="label-missing"),
        pytest.param({"disktype": "ssd"}, {"disktype": "ssd", "zone": "a"}, [SELECTOR],
                     id="all-labels-required"),
    ],
)
def test_node_selector(labels: dict[str, str], selector: dict[str, str],
                       expected: list[str]) -> None:
    assert reasons_on({"labels": labels}, {"node_selector": selector}) == expected


GPU = ("dedicated", "gpu", "NoSchedule")


def untolerated(key: str, value: str = "") -> str:
    return f"node(s) had untolerated taint {{{key}: {value}}}"


@pytest.mark.parametrize(
    ("node_kwargs", "tolerations", "expected"),
    [
        pytest.param({"taints": [GPU]}, [], [untolerated("dedicated", "gpu")],
                     id="noschedule-untolerated"),
        pytest.param({"taints": [GPU]},
                     [{"key": "dedicated", "operator": "Equal", "value": "gpu",
                       "effect": "NoSchedule"}], [], id="equal-toleration"),
        pytest.param({"taints": [GPU]}, [{"key": "dedicated", "value": "gpu"}], [],
                     id="toleration-without-effect-matches-all-effects"),
        pytest.param({"taints": [GPU]},
                     [{"key": "dedicated", "operator": "Equal", "value": "cpu"}],
                     [untolerated("dedicated", "gpu")], id="equal-wrong-value"),
        pytest.param({"taints": [GPU]}, [{"key": "dedicated", "operator": "Exists"}], [],
                     id="exists-any-value"),
        pytest.param({"taints": [GPU]}, [{"operator": "Exists"}], [],
                     id="empty-key-exists-tolerates-all"),
        pytest.param({"taints": [GPU]},
                     [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}],
                     [untolerated("dedicated", "gpu")], id="wrong-effect"),
        pytest.param({"taints": [("dedicated", "gpu", "NoExecute")]}, [],
                     [untolerated("dedicated", "gpu")], id="noexecute-untolerated"),
        pytest.param({"taints": [("spot", None, "PreferNoSchedule")]}, [], [],
                     id="prefer-noschedule-does-not-filter"),
        pytest.param({"taints": [("maintenance", None, "NoSchedule")]}, [],
                     [untolerated("maintenance")], id="taint-without-value"),
        pytest.param({"taints": [("a", "1", "NoSchedule"), ("b", "2", "NoSchedule")]},
                     [{"key": "a", "operator": "Exists"}], [untolerated("b", "2")],
                     id="first-untolerated-taint-reported"),
        pytest.param({"ready": "False"}, [], [untolerated("node.kubernetes.io/not-ready")],
                     id="not-ready-node"),
        pytest.param({"ready": "Unknown"}, [],
                     [untolerated("node.kubernetes.io/unreachable")], id="unreachable-node"),
        pytest.param({"ready": "False"},
                     [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                       "effect": "NoSchedule"}], [], id="not-ready-tolerated"),
        pytest.param({"ready": "False"},
                     [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                       "effect": "NoExecute", "toleration_seconds": 300}],
                     [untolerated("node.kubernetes.io/not-ready")],
                     id="default-noexecute-toleration-does-not-admit"),
        pytest.param({"ready": None}, [], [], id="no-ready-condition-yet"),
    ],
)
def test_taint_toleration(
    node_kwargs: dict[str, Any], tolerations: list[dict[str, Any]], expected: list[str]
) -> None:
    assert reasons_on(node_kwargs, {"tolerations": tolerations}) == expected


@pytest.mark.parametrize(
    ("node_kwargs", "pod_kwargs", "bound", "expected"),
    [
        pytest.param({"cpu": "2"}, {"cpu": "2"}, [], [], id="exactly-fits"),
        pytest.param({"cpu": "2"}, {"cpu": "2001m"}, [], ["Insufficient cpu"],
                     id="cpu-short-by-a-millicore"),
        pytest.param({"memory": "1Gi"}, {"memory": "1025Mi"}, [], ["Insufficient memory"],
                     id="memory"),
        pytest.param({"cpu": "1", "memory": "1Gi"}, {"cpu": "2", "memory": "2Gi"}, [],
                     ["Insufficient cpu", "Insufficient memory"], id="every-short-resource"),
        pytest.param({"cpu": "2"}, {"cpu": "1500m"}, [{"cpu": "1"}], ["Insufficient cpu"],
                     id="bound-pods-count"),
        pytest.param({"cpu": "2"}, {"cpu": "1500m"}, [{"cpu": "1", "phase": "Succeeded"}], [],
                     id="finished-pods-free-their-requests"),
        pytest.param({"cpu": "2"}, {"limits": {"cpu": "3"}}, [], ["Insufficient cpu"],
                     id="limit-without-request-requests-the-limit"),
        pytest.param({"cpu": "2"}, {"cpu": "800m", "containers": 3}, [], ["Insufficient cpu"],
                     id="containers-add-up"),
        pytest.param({"pods": "1"}, {}, [{}], ["Too many pods"], id="pod-count"),
        pytest.param({"pods": "1", "cpu": "1"}, {"cpu": "2"}, [{}],
                     ["Too many pods", "Insufficient cpu"], id="pods-and-cpu"),
        pytest.param({"cpu": "1"}, {}, [{"cpu": "1"}], [],
                     id="pod-requesting-nothing-fits-a-full-node"),
        pytest.param({"extended": {"nvidia.com/gpu": "1"}}, {"extended": {"nvidia.com/gpu": "2"}},
                     [], ["Insufficient nvidia.com/gpu"], id="extended-resource"),
        pytest.param({}, {"extended": {"example.com/foo": "1"}}, [],
                     ["Insufficient example.com/foo"], id="extended-resource-node-lacks"),
        pytest.param({"extended": {"nvidia.com/gpu": "2"}}, {"extended": {"nvidia.com/gpu": "1"}},
                     [{"extended": {"nvidia.com/gpu": "1"}}], [], id="extended-resource-left"),
        pytest.param({"pods": None}, {}, [], [], id="no-pod-count-means-110"),
    ],
)
def test_node_resources_fit(
    node_kwargs: dict[str, Any], pod_kwargs: dict[str, Any], bound: list[dict[str, Any]],
    expected: list[str],
) -> None:
    others = [b.pod(f"bound-{i}", node_name="n1", **kw) for i, kw in enumerate(bound)]
    assert reasons_on(node_kwargs, pod_kwargs, *others) == expected


@pytest.mark.parametrize(
    ("wanted", "used", "expected"),
    [
        pytest.param([], [8080], [], id="no-host-ports"),
        pytest.param([8080], [], [], id="free-node"),
        pytest.param([8080], [8080], [PORTS], id="same-port"),
        pytest.param([8080], [8081], [], id="other-port"),
        pytest.param([(53, "UDP", None)], [(53, "TCP", None)], [], id="other-protocol"),
        pytest.param([(80, "TCP", "127.0.0.1")], [(80, "TCP", "127.0.0.2")], [],
                     id="different-host-ips"),
        pytest.param([(80, "TCP", "127.0.0.1")], [(80, "TCP", "127.0.0.1")], [PORTS],
                     id="same-host-ip"),
        pytest.param([(80, "TCP", "127.0.0.1")], [80], [PORTS], id="wildcard-taken"),
        pytest.param([80], [(80, "TCP", "127.0.0.1")], [PORTS], id="wildcard-wanted"),
    ],
)
def test_node_ports(wanted: list[Any], used: list[Any], expected: list[str]) -> None:
    others = [b.pod("bound", node_name="n1", host_ports=used)] if used else []
    assert reasons_on({}, {"host_ports": wanted}, *others) == expected


def test_explain_takes_a_bound_pod_off_its_own_node() -> None:
    """A bound pod is explained against its node without itself (no 'Insufficient cpu')."""
    running = b.pod("web", cpu="2", node_name="n1")
    snap = b.snapshot(b.node("n1", cpu="2"), b.node("n2", cpu="1"), running)
    assert explain(snap, running) == [("n1", True, []), ("n2", False, [NODE_NAME])]


def test_filters_stop_at_the_first_rejection_in_kubernetes_order() -> None:
    """A cordoned, tainted, too-small node reports only NodeUnschedulable, as
    kube-scheduler's filter order does."""
    reasons = reasons_on({"unschedulable": True, "taints": [GPU], "cpu": "1"}, {"cpu": "2"})
    assert reasons == [UNSCHEDULABLE]
