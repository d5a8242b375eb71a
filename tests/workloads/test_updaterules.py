"""Changes in Git that Kubernetes forbids are refused by name; the stored object stays."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.controllers import desired
from gitkube.planning.actions import ActionKind
from gitkube.planning.snapshot import Snapshot
from tests.controllers import factories as f

from . import builders as b


def _plan(stored: Any, declared: Any) -> list[tuple[ActionKind, str]]:
    snap = Snapshot(revision=100, objects=b.snapshot(stored).objects,
                    desired={declared.key: f.git(declared)}, cluster="test")
    return [(a.kind, a.reason) for a in desired.plan_desired(snap, f.clock())]


def _edit(obj: Any, path: list[str], value: Any) -> Any:
    data = obj.to_dict()
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return type(obj).model_validate(data)


STS = b.statefulset()
BIGGER = [{**STS.spec.volume_claim_templates[0].to_dict(),
           "spec": {"accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "5Gi"}}}}]


@pytest.mark.parametrize(("stored", "path", "value", "refusal"), [
    pytest.param(STS, ["spec", "volumeClaimTemplates"], BIGGER,
                 "StatefulSet default/web keeps its volumeClaimTemplates: updates to statefulset "
                 "spec for fields other than 'replicas', 'ordinals', 'template', "
                 "'updateStrategy', 'revisionHistoryLimit', "
                 "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden; "
                 "delete it from Git and add it back in a later commit (its claims stay and "
                 "the new set finds them)", id="statefulset-claim-templates"),
    pytest.param(STS, ["spec", "serviceName"], "other",
                 None, id="statefulset-service-name"),
    pytest.param(b.daemonset(), ["spec", "selector"], {"matchLabels": {"app": "agent",
                                                                        "tier": "x"}},
                 "DaemonSet default/agent keeps its selector: spec.selector is immutable; "
                 "delete it from Git and add it back under a new name", id="daemonset-selector"),
    pytest.param(b.pvc("data"), ["spec", "accessModes"], ["ReadWriteOncePod"],
                 "PersistentVolumeClaim default/data keeps its accessModes: spec is immutable "
                 "after creation except resources.requests; delete the claim from Git (its "
                 "data goes with it unless its class retains volumes) and add a new one",
                 id="claim-access-modes"),
    pytest.param(b.storage_class("fast"), ["reclaimPolicy"], "Retain",
                 "StorageClass fast keeps its reclaimPolicy: updates to reclaimPolicy are "
                 "forbidden; add a class under a new name", id="class-reclaim-policy"),
])
def test_forbidden_changes_are_refused(stored: Any, path: list[str], value: Any,
                                       refusal: str | None) -> None:
    [(kind, reason)] = _plan(stored, _edit(stored, path, value))
    assert kind is ActionKind.NOOP
    if refusal is not None:
        assert reason == refusal
    else:
        assert reason.startswith(f"StatefulSet default/web keeps its {path[-1]}:")


@pytest.mark.parametrize(("stored", "path", "value"), [
    pytest.param(STS, ["spec", "replicas"], 5, id="statefulset-replicas"),
    pytest.param(STS, ["spec", "updateStrategy"], {"type": "OnDelete"}, id="statefulset-strategy"),
    pytest.param(b.daemonset(), ["spec", "minReadySeconds"], 5, id="daemonset-min-ready"),
    pytest.param(b.pvc("data"), ["spec", "resources"], {"requests": {"storage": "2Gi"}},
                 id="claim-grows"),
])
def test_allowed_changes_go_through(stored: Any, path: list[str], value: Any) -> None:
    [(kind, reason)] = _plan(stored, _edit(stored, path, value))
    assert kind is ActionKind.UPDATE and reason.startswith("spec changed in Git")
