"""plan_desired: the store holds exactly Git's objects."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import apps, core
from gitkube.api import node as node_api
from gitkube.api.inventory import InventoryNode
from gitkube.api.meta import SOURCE_ANNOTATION, KubeObject
from gitkube.controllers import desired, podstatus
from gitkube.planning.actions import ActionKind

from . import factories as f


def _moved(obj: KubeObject, source: str) -> KubeObject:
    data = obj.to_dict()
    data["metadata"]["annotations"][SOURCE_ANNOTATION] = source
    return type(obj).model_validate(data)


def _replicas(dep: apps.Deployment, replicas: int) -> apps.Deployment:
    return dep.model_copy(update={"spec": dep.spec.model_copy(update={"replicas": replicas})})


def _labelled(dep: apps.Deployment) -> apps.Deployment:
    meta = dep.metadata.model_copy(update={"labels": {"team": "a"}})
    return dep.model_copy(update={"metadata": meta})


STORED = f.deployment(generation=4)
RUNNING = STORED.model_copy(update={"status": apps.DeploymentStatus(replicas=3, ready_replicas=3)})

CASES: list[Any] = [
    pytest.param([], [f.git(STORED)], [("create", "web", False)], id="create"),
    pytest.param([STORED], [f.git(STORED)], [], id="unchanged-no-op"),
    pytest.param([RUNNING], [f.git(_replicas(STORED, 5))], [("update", "web", False)],
                 id="spec-change"),
    pytest.param([STORED], [f.git(_moved(STORED, "apps/web.yaml:9"))],
                 [("update", "web", True)], id="source-moved-status-only"),
    pytest.param([STORED], [f.git(_labelled(STORED))], [("update", "web", False)],
                 id="label-change"),
    pytest.param([STORED], [], [("delete", "web", False)], id="removed-from-git"),
    pytest.param([f.deployment(source=None)], [], [], id="not-from-git-kept"),
    pytest.param([f.replicaset("web-1", 1, owner=STORED)], [], [], id="derived-kept"),
]


@pytest.mark.parametrize(("store", "git", "expected"), CASES)
def test_plan_desired(
    store: list[KubeObject], git: list[KubeObject], expected: list[tuple[str, str, bool]]
) -> None:
    actions = desired.plan_desired(f.snapshot(*store, desired=git), f.clock(30))
    assert [(a.kind.value, a.target.name, a.status_only) for a in actions] == expected


def test_desired_none_means_source_unchanged() -> None:
    assert desired.plan_desired(f.snapshot(STORED, desired=None), f.clock()) == []


def test_create_sets_identity_from_cluster_key_and_revision() -> None:
    snap = f.snapshot(desired=[f.git(STORED)], revision=7)
    first = desired.plan_desired(snap, f.clock(30))[0]
    again = desired.plan_desired(snap, f.clock(30))[0]
    later = desired.plan_desired(f.snapshot(desired=[f.git(STORED)], revision=8), f.clock(30))[0]
    assert first.obj is not None and again.obj is not None and later.obj is not None
    meta = first.obj.metadata
    assert (meta.generation, meta.creation_timestamp) == (1, f.at(30))
    assert meta.uid == again.obj.metadata.uid != later.obj.metadata.uid
    assert first.expected_revision == 0
    assert first.reason == "declared in Git at apps/web.yaml:1"


def test_update_keeps_identity_and_status_and_bumps_generation() -> None:
    action = desired.plan_desired(
        f.snapshot(RUNNING, desired=[f.git(_replicas(STORED, 5))]), f.clock())[0]
    obj = action.obj
    assert isinstance(obj, apps.Deployment)
    assert (obj.metadata.uid, obj.metadata.creation_timestamp) == ("uid-web", f.at(0))
    assert obj.metadata.generation == 5
    assert obj.spec.replicas == 5
    assert obj.status.ready_replicas == 3
    assert action.expected_revision == 1


def test_label_change_keeps_generation() -> None:
    action = desired.plan_desired(f.snapshot(STORED, desired=[f.git(_labelled(STORED))]),
                                  f.clock())[0]
    assert action.obj is not None and action.obj.metadata.generation == 4


def test_git_pod_keeps_the_node_it_is_bound_to() -> None:
    bound = f.pod("solo", node="node-1", phase="Running", source="pods/solo.yaml:1")
    unbound = f.git(f.pod("solo", source="pods/solo.yaml:1"))
    assert desired.plan_desired(f.snapshot(bound, desired=[unbound]), f.clock()) == []
    changed = f.git(f.pod("solo", image="busybox:2", source="pods/solo.yaml:1"))
    action = desired.plan_desired(f.snapshot(bound, desired=[changed]), f.clock())[0]
    assert isinstance(action.obj, core.Pod)
    assert action.obj.spec.node_name == "node-1"
    assert action.obj.spec.containers[0].image == "busybox:2"
    assert action.obj.status.phase == "Running"


def test_node_remembers_declared_capacity_and_is_stable() -> None:
    declared = node_api.node_from_inventory(InventoryNode(name="node-1", capacity={"cpu": "4"}))
    created = desired.plan_desired(f.snapshot(desired=[declared]), f.clock())[0]
    assert created.obj is not None
    assert created.obj.metadata.annotations[podstatus.DECLARED_CAPACITY] == '{"cpu":"4"}'
    # The agent's status replaced the declared one: Git has not changed, nothing to do.
    stored = created.obj.model_copy(update={"status": f.node("x", heartbeat=0).status})
    assert desired.plan_desired(f.snapshot(stored, desired=[declared]), f.clock()) == []


def test_deletes_name_the_file_the_object_came_from() -> None:
    [action] = desired.plan_desired(f.snapshot(STORED, desired=[]), f.clock())
    assert action.kind is ActionKind.DELETE
    assert action.reason == "removed from Git (was apps/web.yaml:1)"


def test_node_that_left_the_inventory_is_deleted() -> None:
    [action] = desired.plan_desired(f.snapshot(f.node("node-2"), desired=[]), f.clock())
    assert (action.kind, action.target.name) == (ActionKind.DELETE, "node-2")


def test_what_ipam_allocated_stays_when_git_leaves_it_out() -> None:
    stored = f.service("web", type="NodePort", clusterIP="10.96.5.5",
                       ports=[{"port": 80, "nodePort": 31000}])
    declared = f.git(f.service("web", type="NodePort", ports=[{"port": 80}]))
    assert desired.plan_desired(f.snapshot(stored, desired=[declared]), f.clock()) == []
    node = node_api.node_from_inventory(InventoryNode(name="node-1"))
    created = desired.plan_desired(f.snapshot(desired=[node]), f.clock())[0].obj
    assert isinstance(created, node_api.Node)
    allocated = created.model_copy(update={"spec": created.spec.model_copy(
        update={"pod_cidr": "10.244.3.0/24", "pod_cidrs": ["10.244.3.0/24"]})})
    assert desired.plan_desired(f.snapshot(allocated, desired=[node]), f.clock()) == []


def test_a_cluster_ip_never_changes_while_the_service_lives() -> None:
    stored = f.service("web", clusterIP="10.96.5.5")
    declared = f.git(f.service("web", clusterIP="10.96.9.9"))
    [action] = desired.plan_desired(f.snapshot(stored, desired=[declared]), f.clock())
    assert action.kind is ActionKind.NOOP
    assert action.reason == (
        "Service default/web keeps clusterIP 10.96.5.5: a Service's cluster IP cannot change "
        "(Git asks for 10.96.9.9); the change in Git is refused and the stored Service is "
        "kept. Delete it from Git and add it under a new name to change its address")


def test_a_service_asking_for_an_address_another_holds_is_not_applied() -> None:
    holder = f.service("api", type="NodePort", clusterIP="10.96.184.169",
                       ports=[{"port": 80, "nodePort": 31000}])
    asking = f.git(f.service("web", type="NodePort", ports=[{"port": 80, "nodePort": 31000}]))
    [action] = desired.plan_desired(f.snapshot(holder, desired=[f.git(holder), asking]),
                                    f.clock())
    assert (action.kind, action.target.name) == (ActionKind.NOOP, "web")
    assert action.reason == (
        "web.yaml:1: Service default/web asks for NodePort 31000, which Service default/api "
        "already holds; it is not applied until the address is free: choose another or leave "
        "the field out")
    # When the holder leaves Git in the same revision, the address is free in that pass.
    actions = desired.plan_desired(f.snapshot(holder, desired=[asking]), f.clock())
    assert [(a.kind, a.target.name) for a in actions] == [
        (ActionKind.CREATE, "web"), (ActionKind.DELETE, "api")]
