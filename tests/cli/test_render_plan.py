"""How a plan and an apply result read: sections, one line per pod, Terraform's summary."""

from __future__ import annotations

import datetime as dt

from gitkube.api.meta import OwnerReference
from gitkube.cli import render_plan
from gitkube.errors import Problem
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.reconcile import face
from tests.cli import objects as o

GOOD, BAD = "a" * 40, "b" * 40


def ref(kind: str, name: str, namespace: str = "default") -> ObjectRef:
    return ObjectRef(kind, namespace, name)


def show(renderable: object) -> str:
    out = o.console()
    out.print(renderable, soft_wrap=True)
    return o.text_of(out)


ROLLOUT = [
    Action(ActionKind.CREATE, ref("Deployment", "web"), "new in Git"),
    Action(ActionKind.CREATE, ref("ReplicaSet", "web-6f9c"), "template 6f9c of web"),
    Action(ActionKind.UPDATE, ref("ConfigMap", "site"), "data changed"),
    Action(ActionKind.CREATE, ref("Pod", "web-6f9c-x2bkd"), "replica 1 of 2", node="node-1"),
    Action(ActionKind.UNSCHEDULABLE, ref("Pod", "web-6f9c-q7k2m"),
           "0/1 nodes are available: 1 Insufficient cpu."),
    Action(ActionKind.DELETE, ref("Pod", "old-1"), "deleted from Git"),
    Action(ActionKind.UPDATE, ref("Node", "node-1", ""), "heartbeat", status_only=True),
    Action(ActionKind.START, ref("Pod", "web-6f9c-x2bkd"), "new pod", node="node-1"),
    Action(ActionKind.STOP, ref("Pod", "old-1"), "deleted", node="node-2"),
    Action(ActionKind.NOOP, ref("Deployment", "db"), "db: 1/1 replicas ready"),
]


def test_a_plan_groups_objects_pods_unschedulable_and_noops() -> None:
    plan = face.Plan(GOOD, GOOD, 7, ROLLOUT)
    assert show(render_plan.render_plan(plan)).splitlines() == [
        "Objects",
        "  + create Deployment default/web (new in Git)",
        "  + create ReplicaSet default/web-6f9c (template 6f9c of web)",
        "  ~ update ConfigMap default/site (data changed)",
        "",
        "Pods",
        "  + start default/web-6f9c-x2bkd on node-1 (new pod)",
        "  - stop default/old-1 on node-2 (deleted)",
        "",
        "Unschedulable",
        "  ! default/web-6f9c-q7k2m: 0/1 nodes are available: 1 Insufficient cpu.",
        "",
        "Up to date",
        "  = Deployment default/db: db: 1/1 replicas ready",
        "",
        "Plan: 2 to create, 1 to change, 0 to delete; 1 pod to start on 1 node, 1 to stop."
        " 1 pod cannot be scheduled.",
    ]


def test_a_new_pod_that_fits_nowhere_is_unschedulable_even_when_folded_into_its_create() -> None:
    pod = o.pod("web-1", node=None, phase="Pending", ip=None, conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/2 nodes are available: 2 node(s) had untolerated taint."}])
    create = Action(ActionKind.CREATE, ref("Pod", "web-1"), "replica 1 of 1", obj=pod)
    plan = face.Plan(GOOD, GOOD, 7, [create])
    assert show(render_plan.render_plan(plan)).splitlines() == [
        "Unschedulable",
        "  ! default/web-1: 0/2 nodes are available: 2 node(s) had untolerated taint.",
        "",
        "Plan: 0 to create, 0 to change, 0 to delete; 0 pods to start, 0 to stop."
        " 1 pod cannot be scheduled.",
    ]


def test_no_changes_names_the_revision_and_still_lists_what_is_fine() -> None:
    plan = face.Plan(GOOD, GOOD, 7, [
        Action(ActionKind.UPDATE, ref("Pod", "web-1"), "observed", status_only=True),
        Action(ActionKind.NOOP, ref("Deployment", "web"), "web: 3/3 replicas ready"),
    ])
    assert show(render_plan.render_plan(plan)).splitlines() == [
        "Up to date",
        "  = Deployment default/web: web: 3/3 replicas ready",
        "",
        "No changes. The cluster matches aaaaaaaaaaaa.",
    ]


def test_a_bad_newest_commit_and_an_unreachable_node_are_warned_about() -> None:
    problem = Problem("apps/web.yaml", 12, "must be 0 or more", "spec.replicas")
    plan = face.Plan(GOOD, BAD, 7, [], problems=[problem],
                       unreachable={"node-3": "SSH to 127.0.0.4:22 was refused."})
    assert show(render_plan.render_plan(plan)).splitlines() == [
        "Warning: the newest commit bbbbbbbbbbbb has 1 problem, so this plan uses the last good"
        " revision aaaaaaaaaaaa:",
        "  apps/web.yaml:12: spec.replicas: must be 0 or more",
        "Warning: node node-3 could not be reached: SSH to 127.0.0.4:22 was refused.",
        "",
        "No changes. The cluster matches aaaaaaaaaaaa.",
    ]
    # Before an apply nobody confirms, the result tells the node (once) instead.
    assert "node-3" not in show(render_plan.render_plan(plan, nodes=False))


def test_pods_bound_without_a_node_report_are_shown_as_binds() -> None:
    plan = face.Plan(GOOD, GOOD, 7, [
        Action(ActionKind.CREATE, ref("Pod", "web-1"), "replica 1 of 1", node="node-1"),
    ])
    assert show(render_plan.render_plan(plan)).splitlines() == [
        "Pods",
        "  → bind default/web-1 to node-1 (replica 1 of 1)",
        "",
        "Plan: 0 to create, 0 to change, 0 to delete; 0 pods to start, 0 to stop."
        " 1 pod to bind to a node.",
    ]


def test_an_apply_result_lists_what_was_done_and_what_failed() -> None:
    plan = face.Plan(GOOD, GOOD, 7, ROLLOUT)
    start = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    result = face.PassResult(
        plan=plan, applied=[ROLLOUT[0], ROLLOUT[4], ROLLOUT[6], ROLLOUT[7]],
        errors=["node-2: podman stop failed: no such container; the next pass retries."],
        status_commit="c" * 40, started_at=start, finished_at=start + dt.timedelta(seconds=2.5),
        summary="1 pod started on node-1; 1 deployment created")
    assert show(render_plan.render_result(result)).splitlines() == [
        "Applied",
        "  + created Deployment default/web",
        "  ! default/web-6f9c-q7k2m is unschedulable"
        " (0/1 nodes are available: 1 Insufficient cpu.)",
        "  + started default/web-6f9c-x2bkd on node-1",
        "",
        "Errors",
        "  node-2: podman stop failed: no such container; the next pass retries.",
        "",
        "Status committed to gitkube/status at cccccccccccc.",
        "Apply failed in 2.5s: 1 pod started on node-1; 1 deployment created",
    ]


def test_plan_json_is_the_plans_dict() -> None:
    plan = face.Plan(GOOD, GOOD, 7, ROLLOUT, cluster="demo")
    doc = plan.to_dict()
    assert doc["changes"] == len(plan.changes)
    assert render_plan.summary_line(plan).startswith("Plan: 2 to create")


def test_a_cluster_with_no_valid_revision_yet_says_so() -> None:
    problem = Problem("web.yaml", 3, "unknown field 'bogus'", "spec.bogus")
    plan = face.Plan("", BAD, 0, [], problems=[problem])
    assert show(render_plan.render_plan(plan)).splitlines() == [
        "Warning: the newest commit bbbbbbbbbbbb has 1 problem, so nothing of it is planned until"
        " they are fixed:",
        "  web.yaml:3: spec.bogus: unknown field 'bogus'",
        "",
        "No changes: there is no valid revision of the manifests to plan from.",
    ]


def test_many_stuck_pods_of_one_owner_are_one_line() -> None:
    stuck = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": "0/1 nodes are available: 1 Too many pods."}
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6f9c", "uid": "u",
             "controller": True}
    pods = []
    for i in range(420):
        pod = o.pod(f"web-6f9c-{i:05d}", node=None, phase="Pending", ip=None,
                    conditions=[stuck])
        pod.metadata.owner_references = [OwnerReference.model_validate(owner)]
        pods.append(Action(ActionKind.CREATE, ref("Pod", pod.name), "replica", obj=pod))
    lonely = Action(ActionKind.UNSCHEDULABLE, ref("Pod", "db-0"), "0/1 nodes are available.")
    plan = face.Plan(GOOD, GOOD, 7, [*pods, lonely])
    assert show(render_plan.render_plan(plan)).splitlines()[:3] == [
        "Unschedulable",
        "  ! 420 pods of replicaset default/web-6f9c (default/web-6f9c-00000 and 419 more): "
        "0/1 nodes are available: 1 Too many pods.",
        "  ! default/db-0: 0/1 nodes are available.",
    ]
