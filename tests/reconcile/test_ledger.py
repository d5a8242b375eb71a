"""What the status ledger records: one file per object, nothing volatile, no Secret values."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from ruamel.yaml import YAML

from gitkube.api import core, registry
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot, Stored
from gitkube.reconcile import summaries
from gitkube.reconcile.ledger import status_files, summarize

SECRET = registry.parse_object({
    "apiVersion": "v1", "kind": "Secret",
    "metadata": {"name": "db", "namespace": "default"},
    "data": {"password": base64.b64encode(b"hunter2").decode()},
})


def test_a_secret_is_recorded_by_keys_and_a_keyed_digest_only() -> None:
    files = status_files([SECRET], source_revision="abc", cluster="c", digest_key=b"k" * 32)
    text = files["status/secrets/default/db.yaml"].decode()
    assert "keys:\n- password\n" in text
    assert "hunter2" not in text and base64.b64encode(b"hunter2").decode() not in text
    plain = hashlib.sha256(json.dumps({"password": base64.b64encode(b"hunter2").decode()},
                                      sort_keys=True).encode()).hexdigest()[:16]
    assert plain not in text, "an unkeyed hash would let a ledger reader test guesses"


def test_a_service_is_recorded_by_address_and_ports_its_slices_by_endpoints() -> None:
    svc = registry.from_stored({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "NodePort", "clusterIP": "10.96.0.40", "selector": {"app": "web"},
                 "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080}]}})
    slice_ = registry.from_stored({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abcde", "namespace": "default"}, "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True},
                       "targetRef": {"kind": "Pod", "name": "web-1"}}]})
    files = status_files([svc, slice_], source_revision="abc", cluster="c",
                         digest_key=b"k" * 32)
    service = YAML(typ="safe").load(files["status/services/default/web.yaml"])
    assert (service["clusterIP"], service["ports"]) == (
        "10.96.0.40", [{"port": 80, "protocol": "TCP", "nodePort": 30080}])
    endpoints = YAML(typ="safe").load(files["status/endpointslices/default/web-abcde.yaml"])
    assert endpoints["endpoints"] == [{"addresses": ["10.244.0.5"], "pod": "web-1",
                                       "ready": True}]


def test_the_digest_changes_with_the_value_and_with_the_cluster_key() -> None:
    def digest(secret: object, key: bytes) -> str:
        text = status_files([secret], source_revision="abc", cluster="c",  # type: ignore[list-item]
                            digest_key=key)["status/secrets/default/db.yaml"].decode()
        return next(line for line in text.splitlines() if line.startswith("dataHmacSha256"))

    changed = SECRET.model_copy(deep=True)
    changed.data = {"password": base64.b64encode(b"hunter3").decode()}  # type: ignore[attr-defined]
    assert digest(SECRET, b"a" * 32) == digest(SECRET, b"a" * 32)
    assert digest(SECRET, b"a" * 32) != digest(changed, b"a" * 32)
    assert digest(SECRET, b"a" * 32) != digest(SECRET, b"b" * 32)


def _actions(kind: str, count: int, nodes: int, target: str = "Pod") -> list[Action]:
    return [Action(ActionKind(kind), ObjectRef(target, "default", f"p{i}"), "r",
                   node=f"node-{i % nodes}") for i in range(count)]


@pytest.mark.parametrize(
    ("applied", "ready", "expected"),
    [
        ([], {}, "status changed"),
        (_actions("start", 3, 2), {"web": "3/3 ready"},
         "2 pods started on node-0; 1 pod started on node-1; web: 3/3 ready"),
        (_actions("start", 1000, 500), {},
         "1000 pods started on 500 nodes"),
        (_actions("create", 2, 1, "Node"), {}, "2 nodes created"),
        (_actions("create", 1, 1, "ConfigMap"), {"a": "1/1 ready", "b": "1/1 ready",
                                                 "c": "0/1 ready", "d": "2/2 ready"},
         "1 configmap created; a: 1/1 ready; b: 1/1 ready; c: 0/1 ready; 1 more workload"),
    ],
    ids=["nothing", "pods-per-node", "many-nodes-summed", "plural-objects", "workloads-capped"],
)
def test_summary_line(applied: list[Action], ready: dict[str, str], expected: str) -> None:
    assert summarize(applied, ready=ready, node_errors={}) == expected


def _pod(restarts: int, last: dict[str, object] | None = None) -> core.Pod:
    status: dict[str, object] = {"name": "main", "restartCount": restarts}
    if last is not None:
        status["lastState"] = {"terminated": last}
    return core.Pod.model_validate({
        "metadata": {"name": "web-x", "namespace": "default", "uid": "u"},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
        "status": {"phase": "Running", "containerStatuses": [status]},
    })


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (_pod(0), _pod(1, {"exitCode": 137, "reason": "Error"}),
         {"web-x": "main: Error, exit 137"}),
        (_pod(1), _pod(2, {"exitCode": 137, "reason": "Error",
                           "message": "liveness probe failed: cat: can't open '/tmp/alive'"}),
         {"web-x": "main: liveness probe failed"}),
        (_pod(0), _pod(1, {"exitCode": 137, "reason": "OOMKilled"}),
         {"web-x": "main: OOMKilled, exit 137"}),
        (_pod(2), _pod(2, {"exitCode": 1, "reason": "Error"}), {}),
    ],
    ids=["killed", "liveness", "oom", "no-new-restart"],
)
def test_restarts_are_named_in_the_commit(before: core.Pod, after: core.Pod,
                                          expected: dict[str, str]) -> None:
    snapshot = Snapshot(revision=1, objects={before.key: Stored(before, 1)}, cluster="c")
    applied = [Action(ActionKind.UPDATE, ObjectRef.of(after), "status", obj=after,
                      status_only=True)]
    found = summaries.restarted(snapshot, applied)
    assert found == expected
    line = summarize(applied, ready={"web": "3/3 ready"}, node_errors={}, restarted=found)
    if expected:
        assert line == f"web-x restarted ({expected['web-x']}); web: 3/3 ready"
    else:
        assert line == "web: 3/3 ready"
