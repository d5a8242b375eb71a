"""plan_gc: dependents of a gone owner, and pods on nodes that left the inventory."""

from __future__ import annotations

import pytest

from gitkube.api.meta import KubeObject
from gitkube.controllers import gc
from gitkube.planning.actions import ActionKind

from . import factories as f

DEP = f.deployment()
RS = f.replicaset("web-abc", 1, owner=DEP, uid="rs-uid")
POD = f.pod("web-abc-x", owner=RS, node="node-1", phase="Running")
NODE = f.node("node-1")


@pytest.mark.parametrize(
    ("store", "expected"),
    [
        pytest.param([DEP, RS, POD, NODE], [], id="all-owners-present"),
        pytest.param([RS, POD, NODE], [("ReplicaSet", "web-abc", "owner deployment/web is gone")],
                     id="deployment-gone-rs-deleted"),
        pytest.param([POD, NODE], [("Pod", "web-abc-x", "owner replicaset/web-abc is gone")],
                     id="rs-gone-pod-deleted"),
        pytest.param([DEP, RS, POD], [("Pod", "web-abc-x", "node node-1 left the inventory; "
                                       "its controller replaces the pod")],
                     id="node-gone-pod-deleted"),
        pytest.param([f.pod("solo", node="node-1", phase="Running", source="p.yaml:1"), NODE], [],
                     id="pod-without-owner-kept"),
    ],
)
def test_plan_gc(store: list[KubeObject], expected: list[tuple[str, str, str]]) -> None:
    actions = gc.plan_gc(f.snapshot(*store), f.clock())
    assert all(a.kind is ActionKind.DELETE for a in actions)
    assert [(a.target.kind, a.target.name, a.reason) for a in actions] == expected


def test_cascade_when_the_deployment_leaves_git() -> None:
    """Deployment → ReplicaSet → Pods, one round at a time, as the runner will loop it."""
    snap = f.snapshot(RS, POD, NODE)
    removed: list[str] = []
    for _ in range(3):
        actions = gc.plan_gc(snap, f.clock())
        removed += [a.target.name for a in actions]
        snap = snap.with_actions(actions)
    assert removed == ["web-abc", "web-abc-x"]
    assert [s.obj.kind for s in snap.objects.values()] == ["Node"]
