"""Invariants of a scheduling pass over random clusters (hypothesis).

- no node is over-committed: cpu, memory and pod count of the pods on a node that
  received pods stay within its allocatable;
- every bound pod satisfies its nodeSelector, tolerates the node's NoSchedule and
  NoExecute taints (and the cordon, and not-ready), and has its host ports free;
- an Unschedulable message names every node: "0/N" is the node count, and its
  counts are exactly the reasons ``explain`` gives node by node at that moment;
- the same snapshot and seed give the same plan.

The checks are written out here, independently of the plugins they test.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitkube.api import core, quantities
from gitkube.api import node as node_api
from gitkube.clock import FakeClock
from gitkube.planning.actions import Action, ActionKind
from gitkube.planning.snapshot import Snapshot
from gitkube.scheduler import explain, plan_scheduling

from . import builders as b

TAINTS = [("dedicated", "gpu", "NoSchedule"), ("spot", "true", "PreferNoSchedule"),
          ("drain", None, "NoExecute")]
TOLERATIONS = [
    {"key": "dedicated", "operator": "Exists"},
    {"key": "spot", "operator": "Equal", "value": "true", "effect": "PreferNoSchedule"},
    {"key": "drain", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists"},
]
LABELS = {"zone": ["a", "b"], "disk": ["ssd"]}


@st.composite
def nodes(draw: st.DrawFn, index: int) -> node_api.Node:
    labels = {k: draw(st.sampled_from(v)) for k, v in LABELS.items() if draw(st.booleans())}
    return b.node(
        f"n{index}",
        cpu=draw(st.sampled_from(["0", "500m", "1", "2", "4"])),
        memory=draw(st.sampled_from(["512Mi", "1Gi", "4Gi"])),
        pods=draw(st.sampled_from(["1", "2", "3", "110"])),
        labels=labels,
        taints=draw(st.lists(st.sampled_from(TAINTS), unique=True, max_size=2)),
        unschedulable=draw(st.booleans()),
        ready=draw(st.sampled_from(["True", "True", "False", "Unknown", None])),
    )


@st.composite
def pods(draw: st.DrawFn, index: int, node_name: str | None = None) -> core.Pod:
    selector = {k: draw(st.sampled_from(v)) for k, v in LABELS.items()
                if draw(st.integers(0, 3)) == 0}
    return b.pod(
        f"p{index:02d}",
        cpu=draw(st.sampled_from([None, "0", "100m", "500m", "1", "3"])),
        memory=draw(st.sampled_from([None, "128Mi", "1Gi", "2Gi"])),
        node_selector=selector,
        tolerations=draw(st.lists(st.sampled_from(TOLERATIONS), unique_by=str, max_size=3)),
        host_ports=draw(st.lists(st.sampled_from([80, 443]), unique=True, max_size=1)),
        priority=draw(st.sampled_from([None, 0, 10])),
        created=draw(st.integers(0, 3)),
        node_name=node_name,
    )


@st.composite
def clusters(draw: st.DrawFn) -> Snapshot:
    node_list = [draw(nodes(i)) for i in range(draw(st.integers(1, 5)))]
    pending = [draw(pods(i)) for i in range(draw(st.integers(1, 12)))]
    # A few pods already running, each on a node it fits (the cluster starts sound).
    running = []
    for i in range(draw(st.integers(0, 3))):
        candidate = draw(pods(100 + i, node_name=draw(st.sampled_from(node_list)).name))
        candidate.spec.containers[0].ports = []
        nodes_by_name = {n.name: n for n in node_list}
        if _fits_totals(nodes_by_name[candidate.spec.node_name or ""], [*running, candidate]):
            running.append(candidate)
    return b.snapshot(*node_list, *pending, *running)


def _requests(pod: core.Pod) -> tuple[int, int]:
    cpu = memory = 0
    for container in pod.spec.containers:
        wanted = {**container.resources.limits, **container.resources.requests}
        cpu += quantities.cpu_millis(wanted.get("cpu", "0"))
        memory += quantities.memory_bytes(wanted.get("memory", "0"))
    return cpu, memory


def _fits_totals(node: node_api.Node, pods_: list[core.Pod]) -> bool:
    on_node = [p for p in pods_ if p.spec.node_name == node.name]
    alloc = node.status.allocatable
    cpu = sum(_requests(p)[0] for p in on_node)
    memory = sum(_requests(p)[1] for p in on_node)
    return (cpu <= quantities.cpu_millis(alloc["cpu"])
            and memory <= quantities.memory_bytes(alloc["memory"])
            and len(on_node) <= int(alloc["pods"]))


def _tolerates(pod: core.Pod, key: str, value: str | None, effect: str) -> bool:
    return any(t.tolerates(key, value, effect) for t in pod.spec.tolerations)


def _node_taints(node: node_api.Node) -> list[tuple[str, str | None, str]]:
    taints = [(t.key, t.value, t.effect) for t in node.spec.taints]
    ready = node.status.condition("Ready")
    if ready is not None and ready.status == "False":
        taints.append(("node.kubernetes.io/not-ready", None, "NoSchedule"))
    if ready is not None and ready.status == "Unknown":
        taints.append(("node.kubernetes.io/unreachable", None, "NoSchedule"))
    if node.spec.unschedulable:
        taints.append(("node.kubernetes.io/unschedulable", None, "NoSchedule"))
    return taints


def _after(snapshot: Snapshot, actions: list[Action]) -> tuple[list[node_api.Node],
                                                               list[core.Pod]]:
    final = snapshot.with_actions(actions)
    return final.of_kind(node_api.Node), [
        p for p in final.of_kind(core.Pod) if p.status.phase not in ("Succeeded", "Failed")
    ]


FAST = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(clusters())
def test_no_node_is_over_committed(snapshot: Snapshot) -> None:
    actions = plan_scheduling(snapshot, FakeClock())
    node_list, pod_list = _after(snapshot, actions)
    receiving = {a.node for a in actions if a.kind is ActionKind.BIND}
    for node in node_list:
        if node.name in receiving:
            assert _fits_totals(node, pod_list), f"{node.name} is over-committed"


@FAST
@given(clusters())
def test_bound_pods_satisfy_their_constraints(snapshot: Snapshot) -> None:
    actions = plan_scheduling(snapshot, FakeClock())
    node_list, pod_list = _after(snapshot, actions)
    by_name = {n.name: n for n in node_list}
    for action in actions:
        if action.kind is not ActionKind.BIND:
            continue
        assert isinstance(action.obj, core.Pod)
        pod, node = action.obj, by_name[action.node or ""]
        assert pod.spec.node_name == node.name
        for key, value in pod.spec.node_selector.items():
            assert node.metadata.labels.get(key) == value
        for key, value, effect in _node_taints(node):
            if effect != "PreferNoSchedule":
                assert _tolerates(pod, key, value, effect), f"{pod.name} on {key}:{effect}"
    for node in node_list:
        ports = Counter(
            port.host_port for p in pod_list if p.spec.node_name == node.name
            for c in p.spec.containers for port in c.ports if port.host_port
        )
        assert all(count == 1 for count in ports.values()), f"port clash on {node.name}"


MESSAGE = re.compile(r"0/(\d+) nodes are available:(?: (.*)\.)?")


@FAST
@given(clusters())
def test_unschedulable_message_accounts_for_every_node(snapshot: Snapshot) -> None:
    actions = plan_scheduling(snapshot, FakeClock())
    node_count = len(snapshot.of_kind(node_api.Node))
    for position, action in enumerate(actions):
        if action.kind is not ActionKind.UNSCHEDULABLE:
            continue
        # What follows " preemption: " is DefaultPreemption's own sentence.
        match = MESSAGE.fullmatch(action.reason.split(" preemption: ", 1)[0])
        assert match is not None, action.reason
        assert int(match.group(1)) == node_count
        counted: Counter[str] = Counter()
        for part in (match.group(2) or "").split(", "):
            count, reason = part.split(" ", 1)
            counted[reason] += int(count)
        # The pass as it stood when this pod's turn came: the earlier bindings,
        # nominations and preemptions applied.
        before = snapshot.with_actions(actions[:position])
        assert isinstance(action.obj, core.Pod)
        verdicts = explain(before, action.obj)
        assert all(not passed and reasons for _, passed, reasons in verdicts)
        assert len(verdicts) == node_count
        assert counted == Counter(r for _, _, reasons in verdicts for r in reasons)
        assert sum(counted.values()) >= node_count


@FAST
@given(clusters(), st.integers(0, 3))
def test_same_input_same_plan(snapshot: Snapshot, seed: int) -> None:
    def plan() -> list[dict[str, Any]]:
        return [a.to_dict() for a in plan_scheduling(snapshot, FakeClock(), seed=seed)]

    assert plan() == plan()
