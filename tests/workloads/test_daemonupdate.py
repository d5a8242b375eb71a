"""The DaemonSet controller's per-node decisions: podsShouldBeOnNode and rollingUpdate."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from gitkube.api import core, revisions
from gitkube.controllers import daemonupdate
from gitkube.controllers.daemonplacement import Placement
from tests.controllers import factories as f

from . import builders as b

RUN = Placement(True, True)
KEEP = Placement(False, True, "untolerated taint {x:NoSchedule}")
GONE = Placement(False, False, "the template's node selector or affinity excludes it")
NEW, OLD = "new1", "old1"


def dpod(name: str, node: str, rev: str = NEW, *, state: str = "available",
         created: float = 0) -> core.Pod:
    """A daemon pod on ``node`` at revision ``rev``: available, ready (not yet available),
    pending, failed or terminating."""
    pod = f.pod(name, node=node, created=created)
    pod.metadata.labels[revisions.REVISION_HASH_LABEL] = rev
    if state in ("available", "ready"):
        pod = b.ready(pod, node, since=0 if state == "available" else 100)
    elif state == "failed":
        pod = b.ready(pod, node, phase="Failed", is_ready=False)
    elif state == "terminating":
        pod = b.terminating(b.ready(pod, node))
    return pod


def available(pod: core.Pod) -> bool:
    return pod.status.phase == "Running" and pod.status.conditions[0].last_transition_time \
        == f.at(0)


def _names(changes: daemonupdate.Changes) -> tuple[list[str], list[str]]:
    return sorted(changes.create), sorted(p.name for p, _ in changes.delete)


@pytest.mark.parametrize(("placement", "pods", "surge", "create", "delete"), [
    pytest.param(RUN, [], False, ["n1"], [], id="missing-pod-created"),
    pytest.param(RUN, [dpod("a", "n1")], False, [], [], id="one-running-pod-stays"),
    pytest.param(GONE, [dpod("a", "n1")], False, [], ["a"], id="excluded-node-loses-pod"),
    pytest.param(KEEP, [dpod("a", "n1")], False, [], [], id="noschedule-taint-keeps-pod"),
    pytest.param(KEEP, [], False, [], [], id="noschedule-taint-no-new-pod"),
    pytest.param(RUN, [dpod("a", "n1", state="failed")], False, ["n1"], ["a"],
                 id="failed-pod-replaced"),
    pytest.param(RUN, [dpod("a", "n1", created=1), dpod("b", "n1", created=2)], False, [],
                 ["b"], id="duplicates-oldest-stays"),
    pytest.param(RUN, [dpod("a", "n1", state="terminating")], False, [], [],
                 id="terminating-pod-waited-for"),
    pytest.param(RUN, [dpod("o", "n1", OLD, created=1), dpod("n", "n1", NEW, created=2)],
                 True, [], ["o"], id="surge-new-available-old-goes"),
    pytest.param(RUN, [dpod("o", "n1", OLD, created=1),
                       dpod("n", "n1", NEW, state="ready", created=2)],
                 True, [], [], id="surge-waits-for-new-to-be-available"),
    pytest.param(RUN, [dpod("o", "n1", OLD, state="pending", created=1),
                       dpod("n", "n1", NEW, state="pending", created=2)],
                 True, [], ["o"], id="surge-old-not-ready-goes-at-once"),
])
def test_pods_should_be_on_node(placement: Placement, pods: list[core.Pod], surge: bool,
                                create: list[str], delete: list[str]) -> None:
    changes = daemonupdate.pods_should_be_on_node("n1", placement, pods, NEW, surge=surge,
                                                  available=available)
    assert _names(changes) == (create, delete)


def _nodes(*pods: core.Pod, empty: Sequence[str] = ()) -> dict[str, list[core.Pod]]:
    out: dict[str, list[core.Pod]] = {n: [] for n in empty}
    for pod in pods:
        out.setdefault(pod.spec.node_name or "", []).append(pod)
    return out


THREE_OLD = [dpod("a", "n1", OLD), dpod("b", "n2", OLD), dpod("c", "n3", OLD)]


@pytest.mark.parametrize(("by_node", "max_unavailable", "delete"), [
    pytest.param(_nodes(*THREE_OLD), 1, ["a"], id="one-at-a-time-in-node-order"),
    pytest.param(_nodes(*THREE_OLD), 2, ["a", "b"], id="max-unavailable-2"),
    pytest.param(_nodes(dpod("a", "n1", NEW, state="ready"), *THREE_OLD[1:]), 1, [],
                 id="waits-while-new-pod-not-available"),
    pytest.param(_nodes(*THREE_OLD[1:], empty=["n1"]), 1, [],
                 id="node-without-pod-counts-unavailable"),
    pytest.param(_nodes(dpod("a", "n1", OLD, state="pending"), *THREE_OLD[1:]), 1, ["a"],
                 id="unavailable-old-pod-replaced-for-free"),
    pytest.param(_nodes(dpod("a", "n1", OLD, state="pending"), *THREE_OLD[1:]), 2, ["a", "b"],
                 id="unavailable-old-counts-against-the-budget"),
    pytest.param(_nodes(dpod("a", "n1"), dpod("b", "n2"), dpod("c", "n3")), 1, [],
                 id="all-updated-nothing-to-do"),
])
def test_rolling_update_in_place(by_node: dict[str, list[core.Pod]], max_unavailable: int,
                                 delete: list[str]) -> None:
    placements = {n: RUN for n in by_node}
    changes = daemonupdate.rolling_update(by_node, placements, NEW, max_surge=0,
                                          max_unavailable=max_unavailable, available=available)
    assert _names(changes) == ([], delete)


@pytest.mark.parametrize(("by_node", "placements", "max_surge", "create", "delete"), [
    pytest.param(_nodes(*THREE_OLD), {}, 1, ["n1"], [], id="surge-one-node-first"),
    pytest.param(_nodes(*THREE_OLD), {}, 3, ["n1", "n2", "n3"], [], id="surge-everywhere"),
    pytest.param(_nodes(*THREE_OLD, dpod("x", "n1", NEW, state="ready")), {}, 1, [], [],
                 id="surge-budget-used-while-new-not-available"),
    pytest.param(_nodes(*THREE_OLD, dpod("x", "n1", NEW)), {}, 1, ["n2"], ["a"],
                 id="available-new-replaces-old-and-next-node-surges"),
    pytest.param(_nodes(dpod("a", "n1", OLD, state="pending"), *THREE_OLD[1:]), {}, 1,
                 ["n1", "n2"], [], id="unavailable-old-gets-a-new-pod-at-once"),
    pytest.param(_nodes(*THREE_OLD, empty=["n4"]), {"n1": GONE, "n4": RUN}, 1, ["n2"], [],
                 id="moving-node-keeps-old-until-capacity-is-available"),
])
def test_rolling_update_with_surge(by_node: dict[str, list[core.Pod]],
                                   placements: dict[str, Placement], max_surge: int,
                                   create: list[str], delete: list[str]) -> None:
    wanted = {n: placements.get(n, RUN) for n in by_node}
    changes = daemonupdate.rolling_update(by_node, wanted, NEW, max_surge=max_surge,
                                          max_unavailable=0, available=available)
    assert _names(changes) == (create, delete)
