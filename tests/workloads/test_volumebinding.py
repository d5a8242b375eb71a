"""The scheduler's VolumeBinding: pods go where their volumes are, or choose where they will be."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube import scheduler
from gitkube.api import core
from gitkube.planning import claims
from gitkube.planning.actions import Action, ActionKind
from gitkube.planning.snapshot import Snapshot
from tests.controllers import factories as f

from . import builders as b
from .test_volumes import _after, _class

N1, N2 = b.node("n1"), b.node("n2")


def _pod(name: str, *claim_names: str, cpu: str | None = None, priority: int = 0) -> core.Pod:
    containers: list[dict[str, Any]] = [{"name": "c", "image": "busybox:1"}]
    if cpu:
        containers[0]["resources"] = {"requests": {"cpu": cpu}}
    pod = f.pod(name, containers=containers, volumes=[
        {"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}}
        for i, c in enumerate(claim_names)])
    return pod.model_copy(update={"spec": pod.spec.model_copy(update={"priority": priority})})


def _sized(node: Any, cpu: str) -> Any:
    status = node.status.model_copy(update={"allocatable": {"cpu": cpu, "memory": "8Gi"},
                                            "capacity": {"cpu": cpu, "memory": "8Gi"}})
    return node.model_copy(update={"status": status})


def _bound_on(node: str, name: str = "data") -> list[Any]:
    """A claim and its local-path volume on ``node``."""
    pvc = _class(b.pvc(name, annotations={claims.SELECTED_NODE_ANNOTATION: node}), "local-path")
    snap = _after(b.snapshot(pvc, b.node(node)))
    return [s.obj for s in snap.objects.values() if s.obj.kind != "Node"]


def _plan(*objs: Any) -> list[Action]:
    return scheduler.plan_scheduling(b.snapshot(*objs), f.clock())


def _placed(actions: list[Action]) -> dict[str, str]:
    return {a.target.name: a.node or "" for a in actions if a.kind is ActionKind.BIND}


def _message(actions: list[Action], pod: str) -> str:
    return next(a.reason for a in actions
                if a.kind is ActionKind.UNSCHEDULABLE and a.target.name == pod)


@pytest.mark.parametrize(("objs", "message"), [
    pytest.param([], '0/2 nodes are available: persistentvolumeclaim "data" not found.',
                 id="claim-missing"),
    pytest.param([b.terminating(b.pvc("data"))],
                 '0/2 nodes are available: persistentvolumeclaim "data" is being deleted.',
                 id="claim-being-deleted"),
    pytest.param([_class(b.pvc("data"), "my-storage-class")],
                 "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
                 id="class-not-found-is-immediate"),
    pytest.param([_class(b.pvc("data"), "ebs"), b.storage_class("ebs", "ebs.csi.aws.com")],
                 "0/2 nodes are available: 2 node(s) didn't find available persistent "
                 "volumes to bind.", id="nothing-provisions-it"),
    pytest.param([_class(b.pvc("data"), "local-path").model_copy(update={"spec": _class(
        b.pvc("data"), "local-path").spec.model_copy(update={"volume_name": "pv-gone"})})],
                 '0/2 nodes are available: persistentvolumeclaim "data" bound to '
                 'non-existent persistentvolume "pv-gone".', id="volume-gone"),
])
def test_pods_that_no_node_can_take(objs: list[Any], message: str) -> None:
    actions = _plan(_pod("db", "data"), N1, N2, *objs)
    assert _message(actions, "db") == message


def test_a_bound_claim_takes_its_pod_to_its_node() -> None:
    actions = _plan(_pod("db", "data"), N1, N2, *_bound_on("n2"))
    assert _placed(actions) == {"db": "n2"}


def test_when_its_node_is_full_kube_scheduler_says_both_reasons() -> None:
    actions = _plan(_pod("db", "data", cpu="2"), _sized(N1, "4"), _sized(N2, "1"),
                    *_bound_on("n2"))
    assert _message(actions, "db") == ("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) "
                                       "had volume node affinity conflict.")


def test_the_first_pod_chooses_where_an_unbound_claim_is_made() -> None:
    pvc = _class(b.pvc("data"), "local-path")
    actions = _plan(_pod("a", "data"), _pod("b", "data"), _pod("c", "data"),
                    _sized(N1, "4"), _sized(N2, "4"), pvc)
    placed = _placed(actions)
    assert len(set(placed.values())) == 1  # the claim's pods share its node
    [chosen] = [a for a in actions if a.target.kind == "PersistentVolumeClaim"]
    assert chosen.obj is not None
    assert chosen.obj.metadata.annotations[claims.SELECTED_NODE_ANNOTATION] == placed["a"]


def test_a_chosen_node_holds_across_passes_until_the_volume_exists() -> None:
    pvc = _class(b.pvc("data", annotations={claims.SELECTED_NODE_ANNOTATION: "n2"}),
                 "local-path")
    actions = _plan(_pod("db", "data"), N1, N2, pvc)
    assert _placed(actions) == {"db": "n2"}
    assert not [a for a in actions if a.target.kind == "PersistentVolumeClaim"]


def test_allowed_topologies_of_the_class_limit_the_nodes() -> None:
    sc = b.storage_class("zoned", allowedTopologies=[{"matchLabelExpressions": [
        {"key": "zone", "values": ["b"]}]}])
    pvc = _class(b.pvc("data"), "zoned")
    actions = _plan(_pod("db", "data"), b.node("n1", labels={"zone": "a"}),
                    b.node("n2", labels={"zone": "b"}), pvc, sc)
    assert _placed(actions) == {"db": "n2"}


def test_a_read_write_once_pod_claim_serves_one_pod() -> None:
    pvc = _class(b.pvc("data", modes=["ReadWriteOncePod"]), "local-path")
    first = b.ready(_pod("a", "data"), "n1")
    actions = _plan(first, _pod("b", "data"), N1, N2, pvc)
    assert _message(actions, "b") == (
        "0/2 nodes are available: node has pod using PersistentVolumeClaim with the same name "
        "and ReadWriteOncePod access mode.")


def test_no_one_is_preempted_for_a_pod_that_cannot_go_anywhere() -> None:
    victim = b.ready(_pod("low", cpu="1"), "n1")
    actions = _plan(victim, _pod("high", "missing", cpu="1", priority=1000), _sized(N1, "1"))
    assert [a for a in actions if a.kind is ActionKind.UPDATE] == []
    assert _message(actions, "high") == (
        '0/1 nodes are available: persistentvolumeclaim "missing" not found.')


def test_explain_names_the_claim_for_every_node() -> None:
    snap: Snapshot = b.snapshot(N1, N2)
    verdicts = scheduler.explain(snap, _pod("db", "data"))
    assert verdicts == [("n1", False, ['persistentvolumeclaim "data" not found']),
                        ("n2", False, ['persistentvolumeclaim "data" not found'])]
