"""``gitkube get``: kubectl's tables and its ``-o json|yaml`` documents, from stored objects.

Columns, STATUS words and ages follow kubectl, so people read them without learning
anything new and scripts written for kubectl's output keep working. Secret values are
never printed, in any format: a Secret shows its keys and their sizes only.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from ruamel.yaml import YAML

from gitkube import errors
from gitkube.api.meta import KubeObject
from gitkube.cli import batchviews, render
from gitkube.cli.render import NONE, dig, items

#: Every name ``get`` accepts for a kind → the plural the library uses.
KINDS: dict[str, str] = {
    **dict.fromkeys(("pods", "pod", "po"), "pods"),
    **dict.fromkeys(("deployments", "deployment", "deploy"), "deployments"),
    **dict.fromkeys(("replicasets", "replicaset", "rs"), "replicasets"),
    **dict.fromkeys(("nodes", "node", "no"), "nodes"),
    **dict.fromkeys(("configmaps", "configmap", "cm"), "configmaps"),
    **dict.fromkeys(("secrets", "secret"), "secrets"),
    **dict.fromkeys(("namespaces", "namespace", "ns"), "namespaces"),
    **dict.fromkeys(("jobs", "job"), "jobs"),
    **dict.fromkeys(("cronjobs", "cronjob", "cj"), "cronjobs"),
}
CLUSTER_SCOPED = frozenset({"nodes", "namespaces"})


def resolve_kind(word: str) -> str:
    plural = KINDS.get(word.lower())
    if plural is None:
        known = ", ".join(sorted(set(KINDS.values())))
        raise errors.ConfigError(f'gitkube does not know the kind "{word}". Known kinds: {known}.')
    return plural


# -- pods --------------------------------------------------------------------------------------


def pod_status(pod: Any) -> str:
    """The STATUS column as kubectl's printPod computes it: init containers first
    (``Init:1/2``, ``Init:Error``, ``Init:CrashLoopBackOff``), then the app containers,
    the last one's trouble winning."""
    if dig(pod, "metadata", "deletion_timestamp"):
        return "Terminating"
    reason: str = dig(pod, "status", "reason") or dig(pod, "status", "phase") or "Unknown"
    sidecars = _sidecars(pod)
    initializing = False
    total_inits = len(items(pod, "spec", "init_containers"))
    for index, status in enumerate(items(pod, "status", "init_container_statuses")):
        waiting = dig(status, "state", "waiting")
        terminated = dig(status, "state", "terminated")
        if terminated is not None and dig(terminated, "exit_code", default=0) == 0:
            continue
        if dig(status, "name") in sidecars and dig(status, "started"):
            continue
        if terminated is not None:
            code = dig(terminated, "exit_code", default=0)
            signal = dig(terminated, "signal")
            reason = ("Init:" + dig(terminated, "reason") if dig(terminated, "reason")
                      else f"Init:Signal:{signal}" if signal else f"Init:ExitCode:{code}")
        elif dig(waiting, "reason") and dig(waiting, "reason") != "PodInitializing":
            reason = "Init:" + dig(waiting, "reason")
        else:
            reason = f"Init:{index}/{total_inits}"
        initializing = True
        break
    if initializing and not _initialized(pod):
        return reason
    running = False
    for status in reversed(items(pod, "status", "container_statuses")):
        waiting = dig(status, "state", "waiting")
        terminated = dig(status, "state", "terminated")
        if dig(waiting, "reason"):
            reason = dig(waiting, "reason")
        elif terminated is not None:
            exit_code = dig(terminated, "exit_code", default=0)
            reason = dig(terminated, "reason") or ("Completed" if exit_code == 0 else "Error")
        elif dig(status, "ready") and dig(status, "state", "running") is not None:
            running = True
    if reason == "Completed" and running:
        reason = "Running"
    return reason


def _sidecars(pod: Any) -> set[str]:
    """Names of the init containers with restartPolicy Always."""
    return {str(dig(c, "name")) for c in items(pod, "spec", "init_containers")
            if dig(c, "restart_policy") == "Always"}


def _initialized(pod: Any) -> bool:
    return any(dig(c, "type") == "Initialized" and dig(c, "status") == "True"
               for c in items(pod, "status", "conditions"))


def pod_ready(pod: Any) -> str:
    """READY: app containers and sidecars (kubectl counts sidecars that started)."""
    statuses = items(pod, "status", "container_statuses")
    sidecars = _sidecars(pod)
    total = (len(items(pod, "spec", "containers")) or len(statuses)) + len(sidecars)
    ready = sum(1 for s in statuses if dig(s, "ready"))
    ready += sum(1 for s in items(pod, "status", "init_container_statuses")
                 if dig(s, "name") in sidecars and dig(s, "started") and dig(s, "ready"))
    return f"{ready}/{total}"


def pod_restarts(pod: Any) -> int:
    """RESTARTS: while initialising, the init containers'; then sidecars' and app containers'."""
    inits = items(pod, "status", "init_container_statuses")
    sidecars = _sidecars(pod)
    if inits and not _initialized(pod) and pod_status(pod).startswith("Init:"):
        return sum(int(dig(s, "restart_count", default=0)) for s in inits)
    return sum(int(dig(s, "restart_count", default=0)) for s in
               [*items(pod, "status", "container_statuses"),
                *(s for s in inits if dig(s, "name") in sidecars)])


# -- nodes -------------------------------------------------------------------------------------


def node_ready(node: Any) -> str:
    """Ready, NotReady or Unknown, from the node's Ready condition."""
    for condition in items(node, "status", "conditions"):
        if dig(condition, "type") == "Ready":
            return "Ready" if dig(condition, "status") == "True" else "NotReady"
    return "Unknown"


def node_status(node: Any) -> str:
    status = node_ready(node)
    return status + ",SchedulingDisabled" if dig(node, "spec", "unschedulable") else status


def node_roles(node: Any) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k.removeprefix(prefix) for k in dig(node, "metadata", "labels", default={})
                   if k.startswith(prefix))
    return ",".join(roles) or NONE


def node_address(node: Any) -> str:
    for address in items(node, "status", "addresses"):
        if dig(address, "type") == "InternalIP":
            return str(dig(address, "address", default=NONE))
    return NONE


def node_version(node: Any) -> str:
    info = dig(node, "status", "node_info")
    version = dig(info, "agent_version") or dig(info, "kubelet_version")
    return str(version) if version else NONE


# -- tables ------------------------------------------------------------------------------------

Row = Callable[[Any, dt.datetime], list[str]]


def _age(obj: Any, now: dt.datetime) -> str:
    return render.age(dig(obj, "metadata", "creation_timestamp"), now)


def _num(obj: Any, *path: str) -> str:
    return str(dig(obj, *path, default=0))


_COLUMNS: dict[str, tuple[list[str], Row]] = {
    "pods": (["NAME", "READY", "STATUS", "RESTARTS", "AGE"], lambda o, now: [
        o.name, pod_ready(o), pod_status(o), str(pod_restarts(o)), _age(o, now)]),
    "deployments": (["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], lambda o, now: [
        o.name, f"{_num(o, 'status', 'ready_replicas')}/{_num(o, 'spec', 'replicas')}",
        _num(o, "status", "updated_replicas"), _num(o, "status", "available_replicas"),
        _age(o, now)]),
    "replicasets": (["NAME", "DESIRED", "CURRENT", "READY", "AGE"], lambda o, now: [
        o.name, _num(o, "spec", "replicas"), _num(o, "status", "replicas"),
        _num(o, "status", "ready_replicas"), _age(o, now)]),
    "nodes": (["NAME", "STATUS", "ROLES", "AGE", "VERSION"], lambda o, now: [
        o.name, node_status(o), node_roles(o), _age(o, now),
        node_version(o)]),
    "configmaps": (["NAME", "DATA", "AGE"], lambda o, now: [
        o.name, str(len(dig(o, "data", default={})) + len(dig(o, "binary_data", default={}))),
        _age(o, now)]),
    "secrets": (["NAME", "TYPE", "DATA", "AGE"], lambda o, now: [
        o.name, str(dig(o, "type", default="Opaque")),
        str(len(dig(o, "data", default={})) + len(dig(o, "string_data", default={}))),
        _age(o, now)]),
    "namespaces": (["NAME", "STATUS", "AGE"], lambda o, now: [
        o.name, str(dig(o, "status", "phase", default="Active")), _age(o, now)]),
    "jobs": (batchviews.JOB_COLUMNS, batchviews.job_row),
    "cronjobs": (batchviews.CRONJOB_COLUMNS, batchviews.cronjob_row),
}

_WIDE: dict[str, tuple[list[str], Row]] = {
    "pods": (["IP", "NODE"], lambda o, now: [
        str(dig(o, "status", "pod_ip", default=NONE)),
        str(dig(o, "spec", "node_name", default=NONE))]),
    "nodes": (["INTERNAL-IP", "CPU", "MEMORY"], lambda o, now: [
        node_address(o),
        str(dig(o, "status", "capacity", "cpu", default=NONE)),
        str(dig(o, "status", "capacity", "memory", default=NONE))]),
    "jobs": (batchviews.WIDE_COLUMNS, batchviews.job_wide),
    "cronjobs": (batchviews.WIDE_COLUMNS, batchviews.cronjob_wide),
}


def render_table(plural: str, objects: Sequence[KubeObject], now: dt.datetime, *,
                 wide: bool = False, all_namespaces: bool = False) -> str:
    """The table ``gitkube get`` prints; the caller says "No resources found" when empty."""
    headers, row = _COLUMNS[plural]
    headers = list(headers)
    extra_headers, extra = _WIDE.get(plural, ([], lambda o, now: []))
    show_namespace = all_namespaces and plural not in CLUSTER_SCOPED
    if wide:
        headers += extra_headers
    if show_namespace:
        headers.insert(0, "NAMESPACE")
    rows = []
    for obj in sorted(objects, key=lambda o: (o.namespace, o.name)):
        cells = row(obj, now) + (extra(obj, now) if wide else [])
        rows.append([obj.namespace, *cells] if show_namespace else cells)
    table = render.format_table(headers, rows)
    if plural == "pods":
        table += "".join(f"\n{line}" for line in unscheduled_notes(objects))
    return table


def unscheduled_notes(pods: Sequence[KubeObject]) -> list[str]:
    """One line per pod the scheduler could not place, saying why (kubectl shows only
    "Pending"; the reason is the first thing a person asks)."""
    notes = []
    for pod in sorted(pods, key=lambda o: (o.namespace, o.name)):
        if dig(pod, "spec", "node_name"):
            continue
        for condition in items(pod, "status", "conditions"):
            if dig(condition, "type") == "PodScheduled" and dig(condition, "status") == "False":
                notes.append(f"{pod.name} is not scheduled: {dig(condition, 'message')}")
    return notes


# -- documents ---------------------------------------------------------------------------------


def _size(value: Any, *, encoded: bool) -> int:
    """Bytes a secret value holds: ``data`` is base64, ``stringData`` is plain text."""
    if isinstance(value, bytes):
        return len(value)
    text = str(value)
    if encoded:
        try:
            return len(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            pass
    return len(text.encode())


def masked(document: dict[str, Any]) -> dict[str, Any]:
    """A Secret's document with every value replaced by its size; other kinds unchanged."""
    if document.get("kind") != "Secret":
        return document
    out = dict(document)
    for field, encoded in (("data", True), ("stringData", False)):
        values = out.get(field)
        if isinstance(values, dict):
            out[field] = {k: f"<hidden: {_size(v, encoded=encoded)} bytes>"
                          for k, v in values.items()}
    return out


def document(objects: Sequence[KubeObject], *, single: bool) -> dict[str, Any]:
    """kubectl's shape: the object itself for ``get KIND NAME``, else a v1 List."""
    docs = [masked(obj.to_dict()) for obj in objects]
    if single and len(docs) == 1:
        return docs[0]
    return {"apiVersion": "v1", "kind": "List", "items": docs, "metadata": {}}


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=4, ensure_ascii=False)


def render_yaml(doc: dict[str, Any]) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    return buffer.getvalue().rstrip("\n")
