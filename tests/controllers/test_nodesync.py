"""plan_nodes: bound pods vs what each reached node reports."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import core
from gitkube.controllers import nodesync
from gitkube.planning.actions import ActionKind

from . import factories as f

RS = f.replicaset("web-abc", 2, uid="rs-uid")
NEW = f.pod("web-abc-new", owner=RS, node="node-1", uid="uid-new")
RUNNING = f.pod("web-abc-run", owner=RS, node="node-1", phase="Running", uid="uid-run")
ELSEWHERE = f.pod("web-abc-far", owner=RS, node="node-2", uid="uid-far")


def _report(*entries: tuple[core.Pod, str | None]) -> dict[str, Any]:
    """A node-1 report of ``pods`` with the given hash (None: the pod's real hash)."""
    snap = f.snapshot()
    pods = [p for p, _ in entries]
    hashes = {p.name: h for p, h in entries if h is not None}
    return f.running_report(snap, "node-1", pods, hash_of=hashes)


def _with_image(report: dict[str, Any], image: str) -> dict[str, Any]:
    for pod in report["pods"]:
        for container in pod["containers"]:
            container.update(image=image, containerID=f"podman://{pod['uid']}")
    return report


REPLACED = f.pod("web-abc-run", owner=RS, node="node-1", phase="Running", uid="uid-old")
GONE = f.pod("web-abc-gone", owner=RS, node="node-1", phase="Running", uid="uid-gone")


@pytest.mark.parametrize(
    ("store", "report", "expected"),
    [
        pytest.param([NEW], _report(), [("start", "web-abc-new", "new pod")], id="new-pod"),
        pytest.param([RUNNING], _report(), [("start", "web-abc-run", "drift: pod missing on node")],
                     id="drift-running-pod-missing"),
        pytest.param([RUNNING], _report((RUNNING, None)), [], id="in-sync"),
        pytest.param([RUNNING], _report((RUNNING, "old-hash")),
                     [("start", "web-abc-run", "spec changed")], id="spec-changed"),
        pytest.param([], _report((GONE, None)), [("stop", "web-abc-gone", "deleted")],
                     id="deleted-pod-stopped"),
        pytest.param([RUNNING], _report((REPLACED, None)),
                     [("start", "web-abc-run", "drift: pod missing on node"),
                      ("stop", "web-abc-run", "replaced")], id="same-name-new-uid-replaced"),
        pytest.param([RUNNING], _with_image(_report((RUNNING, None)), "localhost/hand:made"),
                     [("start", "web-abc-run", "drift: container web runs localhost/hand:made, "
                       "not busybox:1 (changed by hand on the node)")],
                     id="drift-image-changed-by-hand"),
        pytest.param([ELSEWHERE], _report(), [], id="pod-on-another-node-ignored"),
        pytest.param([f.pod("done", owner=RS, node="node-1", phase="Succeeded")], _report(), [],
                     id="finished-pod-not-started"),
    ],
)
def test_plan_nodes(store: list[core.Pod], report: dict[str, Any],
                    expected: list[tuple[str, str, str]]) -> None:
    actions = nodesync.plan_nodes(f.snapshot(*store, observed={"node-1": report}), f.clock())
    assert [(a.kind.value, a.target.name, a.reason) for a in actions] == expected
    assert all(a.node == "node-1" for a in actions)


def test_unreached_nodes_get_no_node_actions() -> None:
    assert nodesync.plan_nodes(f.snapshot(NEW, RUNNING), f.clock()) == []


def test_lowering_failure_is_written_to_the_container_status_not_started() -> None:
    broken = f.pod("web-abc-cfg", owner=RS, node="node-1", containers=[{
        "name": "web", "image": "busybox:1",
        "envFrom": [{"configMapRef": {"name": "settings"}}]}])
    snap = f.snapshot(broken, observed={"node-1": _report()})
    [update] = nodesync.plan_nodes(snap, f.clock())
    assert (update.kind, update.status_only) == (ActionKind.UPDATE, True)
    assert update.reason == 'CreateContainerConfigError: configmap "settings" not found'
    assert isinstance(update.obj, core.Pod)
    waiting = update.obj.status.container_statuses[0].state.waiting
    assert waiting is not None
    assert (waiting.reason, waiting.message) == ("CreateContainerConfigError",
                                                 'configmap "settings" not found')
    assert nodesync.plan_nodes(snap.with_actions([update]), f.clock()) == []
