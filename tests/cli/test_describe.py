"""``gitkube describe``: one object's facts, laid out as kubectl does."""

from __future__ import annotations

from gitkube.cli import describe
from tests.cli import objects as o


def test_describe_pod_shows_containers_and_the_schedulers_verdict() -> None:
    pod = o.pod("web-2", statuses=[o.waiting("CrashLoopBackOff", restarts=4)], cpu="250m")
    lines = describe.describe_pod(pod, o.NOW, [
        ("node-1", True, []), ("node-2", False, ["node(s) had untolerated taint {gpu: yes}"])])
    assert lines == [
        "Name:            web-2",
        "Namespace:       default",
        "Service Account: default",
        "Node:            node-1",
        "Created:         2026-01-01T11:55:00Z (5m ago)",
        "Labels:          <none>",
        "Status:          CrashLoopBackOff",
        "IP:              10.88.0.5",
        "Controlled By:   <none>",
        "Containers:",
        "  web:",
        "    Image:       busybox:1",
        "    State:       Waiting",
        "      Reason:    CrashLoopBackOff",
        "    Ready:       False",
        "    Restart Count: 4",
        "    Requests:    cpu: 250m",
        "Conditions:      <none>",
        "Scheduling:      bound to node-1",
    ]


def test_describe_pending_pod_shows_the_verdict_of_every_node() -> None:
    message = "0/2 nodes are available: 1 node(s) had untolerated taint {gpu: yes}."
    pod = o.pod("web-3", node=None, phase="Pending", ip=None, conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": message}])
    lines = describe.describe_pod(pod, o.NOW, [
        ("node-1", True, []), ("node-2", False, ["node(s) had untolerated taint {gpu: yes}"])])
    assert lines[lines.index("Conditions:"):] == [
        "Conditions:",
        "  Type           Status   Reason          Message",
        f"  PodScheduled   False    Unschedulable   {message}",
        "Scheduling:",
        "  Node     Fits   Why not",
        "  node-1   yes",
        "  node-2   no     node(s) had untolerated taint {gpu: yes}",
    ]


def test_describe_bound_pod_says_why_it_is_there_not_why_others_are_not() -> None:
    placed = ("Successfully assigned default/web-1 to node-1: fits node-1 (cpu 250m/2, "
              "memory 0/4Gi; score 87)")
    pod = o.pod("web-1", statuses=[o.running()], conditions=[
        {"type": "PodScheduled", "status": "True", "reason": "Scheduled", "message": placed}])
    lines = describe.describe_pod(pod, o.NOW, [
        ("node-1", True, []), ("node-2", False, ["node(s) didn't match the requested node name"])])
    assert lines[-1] == f"Scheduling:      {placed}"
    assert not any("requested node name" in line for line in lines)


def test_describe_node_lists_its_pods_and_what_they_request() -> None:
    pods = [o.pod("web-1", statuses=[o.running()], cpu="250m", memory="128Mi"),
            o.pod("web-2", statuses=[o.running()], cpu="250m", memory="128Mi")]
    lines = describe.describe_node(o.node("node-1"), pods, o.NOW)
    assert lines[lines.index("Pods (2):"):] == [
        "Pods (2):",
        "  Namespace   Name    Status    Age",
        "  default     web-1   Running   5m",
        "  default     web-2   Running   5m",
        "Allocated resources:",
        "  cpu: 500m requested of 2",
        "  memory: 256Mi requested of 4Gi",
    ]
    assert "Taints:          <none>" in lines
