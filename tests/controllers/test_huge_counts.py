"""A huge but legal count costs what the nodes can run, not the count.

``replicas: 100000`` on a node of 110 pods: the controllers create pods in slow-start batches
(Kubernetes' ``burstReplicas``/``MaxPodCreateDeletePerSync`` of 500 a sync, doubling while
every pod finds room) and stop while pods of the set wait for room; the status says how many
wait and how many are still to come. The same holds for Jobs (parallelism, Indexed
completions) and Parallel StatefulSets. With room for all of them, one pass still creates
every pod.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from gitkube.api import apps, batch, core
from gitkube.controllers import replicasets
from gitkube.planning.actions import Action, ActionKind
from gitkube.planning.snapshot import Snapshot, Stored
from gitkube.reconcile import fixpoint
from tests.workloads import builders as b

from . import factories as f

SMALL = {"cpu": "4", "memory": "8Gi", "pods": "110"}


def _nodes(count: int) -> list[Any]:
    return [f.node(f"node-{i}", heartbeat=0, capacity=SMALL) for i in range(count)]


def _pods(actions: list[Action]) -> Counter[str]:
    """How many pods the pass creates, binds and finds unschedulable."""
    created = {a.target.name for a in actions if a.kind is ActionKind.CREATE
               and a.target.kind == "Pod"}
    counts: Counter[str] = Counter(created=len(created))
    for action in actions:
        if action.target.kind == "Pod" and action.kind in (ActionKind.BIND,
                                                            ActionKind.UNSCHEDULABLE):
            counts[action.kind.value] += 1
        elif action.target.kind == "Pod" and action.kind is ActionKind.CREATE and (
                action.obj is not None and isinstance(action.obj, core.Pod)):
            counts["bound" if action.obj.spec.node_name else "unbound"] += 1
    return counts


def _pass(snap: Snapshot) -> tuple[Snapshot, list[Action]]:
    actions = fixpoint.plan_pass(snap, f.clock())
    return snap.with_actions(actions), actions


@pytest.mark.parametrize(
    ("active", "waiting", "missing", "budget"),
    [
        pytest.param(0, 0, 100_000, 500, id="first-batch-is-a-burst"),
        pytest.param(0, 0, 3, 3, id="small-sets-at-once"),
        pytest.param(500, 0, 99_500, 500, id="then-as-many-as-there-are"),
        pytest.param(2000, 0, 98_000, 2000, id="doubling"),
        pytest.param(500, 1, 99_500, 0, id="none-while-one-waits-for-room"),
        pytest.param(10, 0, 0, 0, id="nothing-missing"),
    ],
)
def test_creation_budget(active: int, waiting: int, missing: int, budget: int) -> None:
    rs = f.replicaset("web-abc", 1, uid="rs-uid")
    pods = [f.pod(f"p{i}", owner=rs, node="n1", phase="Running") for i in range(active)]
    for i in range(waiting):
        pods[i] = pods[i].model_copy(update={
            "spec": pods[i].spec.model_copy(update={"node_name": None}),
            "status": core.PodStatus.model_validate({"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": "0/1 nodes are available: 1 Too many pods."}]})})
    assert replicasets.creation_budget(pods, missing) == budget


def test_a_hundred_thousand_replicas_on_one_node_make_a_burst_of_pods() -> None:
    deployment = f.git(f.deployment(replicas=100_000))
    snap, actions = _pass(f.snapshot(*_nodes(1), desired=[deployment, *_nodes(1)]))

    assert _pods(actions) == Counter(created=500, bound=110, unbound=390)
    held = ("390 pods wait for room on the nodes (0/1 nodes are available: 1 Too many pods.); "
            "the other 99500 are created as pods are placed")
    for kind in ("replicasets", "deployments"):
        [obj] = [o for o in snap.of_kind(apps.ReplicaSet if kind == "replicasets"
                                         else apps.Deployment)]
        [failure] = [c for c in obj.status.conditions if c.type == "ReplicaFailure"]
        assert (failure.status, failure.reason, failure.message) == (
            "True", "Unschedulable", held), kind

    _, again = _pass(snap)
    assert _pods(again)["created"] == 0  # the waiting pods hold the rest back
    assert [a for a in again if a.target.kind == "ReplicaSet" and a.is_change] == []


def test_the_failure_condition_goes_once_every_pod_is_placed() -> None:
    deployment = f.git(f.deployment(replicas=200))
    snap, _ = _pass(f.snapshot(*_nodes(1), desired=[deployment, *_nodes(1)]))
    scaled = f.git(f.deployment(replicas=100))
    snap, _ = _pass(Snapshot(revision=snap.revision, objects=snap.objects,
                             desired={o.key: o for o in [scaled, *_nodes(1)]},
                             observed={}, cluster="test"))
    snap, _ = _pass(snap)
    for obj in (*snap.of_kind(apps.ReplicaSet), *snap.of_kind(apps.Deployment)):
        assert "ReplicaFailure" not in [c.type for c in obj.status.conditions], obj.name


def test_with_room_for_all_one_pass_creates_and_binds_every_pod() -> None:
    nodes = _nodes(40)  # 4,400 pods of room
    deployment = f.git(f.deployment(replicas=3000))
    _, actions = _pass(f.snapshot(*nodes, desired=[deployment, *nodes]))
    assert _pods(actions) == Counter(created=3000, bound=3000)
    assert not [a for a in actions if "without settling" in a.reason]


def test_pods_placed_on_a_new_node_let_the_next_batch_come() -> None:
    deployment = f.git(f.deployment(replicas=1000))
    snap, _ = _pass(f.snapshot(*_nodes(1), desired=[deployment, *_nodes(1)]))
    bigger = f.node("node-big", heartbeat=0, capacity={**SMALL, "pods": "2000"})
    snap = Snapshot(revision=snap.revision, objects={**snap.objects, bigger.key: Stored(bigger, 1)},
                    observed={}, cluster="test")
    _, actions = _pass(snap)
    counts = _pods(actions)
    assert counts["bind"] == 390  # the waiting pods first,
    assert counts["created"] == counts["bound"] == 500  # then the next batch, placed too


def test_a_job_of_huge_parallelism_makes_a_burst() -> None:
    job = batch.Job.model_validate({
        "metadata": {"name": "pi", "uid": "job-uid", "annotations": {
            "gitkube.io/source": "pi.yaml:1"}},
        "spec": {"parallelism": 100_000, "completions": 2**31 - 1,
                 "completionMode": "Indexed", "template": {"spec": {
                     "restartPolicy": "Never",
                     "containers": [{"name": "c", "image": "busybox"}]}}}})
    _, actions = _pass(f.snapshot(job, *_nodes(1)))
    assert _pods(actions) == Counter(created=500, bound=110, unbound=390)


def test_a_parallel_statefulset_of_huge_replicas_makes_a_burst() -> None:
    sts = b.statefulset("db", replicas=100_000, claims=(), policy="Parallel")
    _, actions = _pass(b.snapshot(sts, *_nodes(1)))
    counts = _pods(actions)
    assert counts["created"] == 500 and counts["bound"] == 110, counts
