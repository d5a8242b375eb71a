"""Small builders of stored objects for the CLI's render tests (real api models, by JSON)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from rich.console import Console

from gitkube.api import registry
from gitkube.api.meta import KubeObject

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def console() -> Console:
    return Console(file=io.StringIO(), width=100, color_system=None)


def text_of(out: Console) -> str:
    file = out.file
    assert isinstance(file, io.StringIO)
    return "\n".join(line.rstrip() for line in file.getvalue().splitlines())


def pod(name: str, *, node: str | None = "node-1", phase: str = "Running",
        created: str = "2026-01-01T11:55:00Z", statuses: list[dict[str, Any]] | None = None,
        cpu: str | None = None, memory: str | None = None, ip: str | None = "10.88.0.5",
        namespace: str = "default",
        conditions: list[dict[str, Any]] | None = None) -> KubeObject:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    spec: dict[str, Any] = {"containers": [
        {"name": "web", "image": "busybox:1", "resources": {"requests": requests}}]}
    if node:
        spec["nodeName"] = node
    status: dict[str, Any] = {"phase": phase}
    if ip:
        status["podIP"] = ip
    if statuses is not None:
        status["containerStatuses"] = statuses
    if conditions is not None:
        status["conditions"] = conditions
    return registry.from_stored({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created},
        "spec": spec, "status": status,
    })


def running(restarts: int = 0, ready: bool = True) -> dict[str, Any]:
    return {"name": "web", "ready": ready, "restartCount": restarts,
            "state": {"running": {"startedAt": "2026-01-01T11:55:00Z"}}}


def waiting(reason: str, restarts: int = 0) -> dict[str, Any]:
    return {"name": "web", "ready": False, "restartCount": restarts,
            "state": {"waiting": {"reason": reason}}}


def terminated(exit_code: int, reason: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": exit_code}
    if reason:
        state["reason"] = reason
    return {"name": "web", "ready": False, "restartCount": 0, "state": {"terminated": state}}


def node(name: str, *, ready: bool = True, cpu: str = "2", memory: str = "4Gi",
         unschedulable: bool = False, runtime: str = "podman://4.3.1") -> KubeObject:
    return registry.from_stored({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "creationTimestamp": "2025-12-28T12:00:00Z",
                     "labels": {"node-role.kubernetes.io/worker": ""}},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
            "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.2"}],
            "nodeInfo": {"agentVersion": "0.1.0", "containerRuntimeVersion": runtime},
        },
    })


def secret(name: str, data: dict[str, str]) -> KubeObject:
    return registry.from_stored({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": "default",
                     "creationTimestamp": "2026-01-01T10:00:00Z"},
        "data": data,
    })
