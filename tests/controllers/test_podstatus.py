"""plan_observed: agent reports → Node and Pod status; stale nodes; no churn."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gitkube.api import core
from gitkube.api import node as node_api
from gitkube.controllers import podstatus
from gitkube.planning.actions import ActionKind

from . import factories as f

NODE = f.node("node-1", heartbeat=0)
RS = f.replicaset("web-abc", 1, uid="rs-uid")


def _updated(actions: list, kind: str) -> list:  # type: ignore[type-arg]
    return [a.obj for a in actions if a.target.kind == kind]


def test_report_sets_node_capacity_info_and_ready() -> None:
    declared = NODE.model_copy(update={"metadata": NODE.metadata.model_copy(update={
        "annotations": {podstatus.DECLARED_CAPACITY: '{"cpu":"1"}'}})})
    snap = f.snapshot(declared, observed={"node-1": f.running_report(f.snapshot(), "node-1", [])})
    actions = podstatus.plan_observed(snap, f.clock(20))
    assert all(a.status_only and a.kind is ActionKind.UPDATE for a in actions)
    [node] = _updated(actions, "Node")
    assert isinstance(node, node_api.Node)
    assert node.status.capacity == {"cpu": "1", "memory": "4Gi", "pods": "110"}
    assert node.status.allocatable == node.status.capacity
    assert node.status.node_info.container_runtime_version == "podman://4.3.1"
    ready = node.status.condition("Ready")
    assert ready is not None and (ready.status, ready.last_heartbeat_time) == ("True", f.at(20))


def test_running_pod_gets_status_and_a_second_pass_writes_nothing() -> None:
    pod = f.pod("web-abc-x", owner=RS, node="node-1")
    snap = f.snapshot(NODE, pod)
    snap = replace(snap, observed={"node-1": f.running_report(snap, "node-1", [pod])})
    actions = podstatus.plan_observed(snap, f.clock(5))
    [updated] = _updated(actions, "Pod")
    assert isinstance(updated, core.Pod)
    status = updated.status
    assert (status.phase, status.pod_ip, status.host_ip, status.start_time) == (
        "Running", "10.88.0.2", "127.0.0.2", f.at(5))
    [container] = status.container_statuses
    assert container.ready and container.state.running is not None
    assert {c.type: c.status for c in status.conditions} == {
        "PodScheduled": "True", "Initialized": "True", "ContainersReady": "True",
        "Ready": "True"}
    applied = snap.with_actions(actions)
    assert podstatus.plan_observed(applied, f.clock(8)) == []


def test_restart_moves_state_to_last_state() -> None:
    pod = f.pod("p", owner=RS, node="node-1")
    snap = f.snapshot(NODE, pod)
    report = f.running_report(snap, "node-1", [pod])
    snap = snap.with_actions(podstatus.plan_observed(replace(snap, observed={"node-1": report}),
                                                     f.clock(1)))
    crashed = report | {"pods": [report["pods"][0] | {"containers": [{
        "name": "web", "state": "terminated", "exitCode": 2, "reason": "Error",
        "restartCount": 0, "finishedAt": f.at(2)}]}]}
    snap = snap.with_actions(podstatus.plan_observed(replace(snap, observed={"node-1": crashed}),
                                                     f.clock(2)))
    restarted = report | {"pods": [report["pods"][0] | {"containers": [{
        "name": "web", "state": "running", "ready": True, "restartCount": 1}]}]}
    actions = podstatus.plan_observed(replace(snap, observed={"node-1": restarted}), f.clock(3))
    [updated] = _updated(actions, "Pod")
    [container] = updated.status.container_statuses
    assert container.restart_count == 1
    assert container.last_state.terminated is not None
    assert container.last_state.terminated.exit_code == 2


@pytest.mark.parametrize(
    ("heartbeat", "now", "expected_node", "expected_pod_ready"),
    [
        pytest.param(0, 30, None, None, id="within-grace-nothing"),
        pytest.param(0, 41, "Unknown", "False", id="beyond-grace-unknown"),
    ],
)
def test_unreached_node(heartbeat: float, now: float, expected_node: str | None,
                        expected_pod_ready: str | None) -> None:
    node = f.node("node-1", heartbeat=heartbeat)
    pod = f.pod("p", owner=RS, node="node-1", phase="Running")
    actions = podstatus.plan_observed(f.snapshot(node, pod), f.clock(now))
    nodes, pods = _updated(actions, "Node"), _updated(actions, "Pod")
    if expected_node is None:
        assert actions == []
        return
    ready = nodes[0].status.condition("Ready")
    assert (ready.status, ready.reason) == (expected_node, "NodeStatusUnknown")
    assert pods[0].status.condition("Ready").status == expected_pod_ready
    again = podstatus.plan_observed(f.snapshot(*nodes, *pods), f.clock(now + 60))
    assert again == []


def test_heartbeat_is_refreshed_only_every_quarter_grace_period() -> None:
    snap = f.snapshot(NODE, observed={"node-1": f.running_report(f.snapshot(), "node-1", [])})
    snap = snap.with_actions(podstatus.plan_observed(snap, f.clock(0)))
    assert podstatus.plan_observed(snap, f.clock(9)) == []
    [refresh] = podstatus.plan_observed(snap, f.clock(10))
    assert refresh.obj.status.condition("Ready").last_heartbeat_time == f.at(10)  # type: ignore
