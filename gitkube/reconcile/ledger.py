"""What the status ledger (branch ``gitkube/status``) holds, computed from the store.

Pure: objects in, ``{path: yaml bytes}`` out, plus the commit message. One file per
object (``status/<plural>/<namespace>/<name>.yaml``), one per node
(``status/nodes/<name>.yaml``) and ``status/summary.yaml``. Nothing in these files
changes unless observed state changed — heartbeat times and ages are left out —
so the ledger gets a commit only when something happened. Secret values never
reach it: a Secret is recorded by its keys and a keyed hash (HMAC) of its data, keyed by a
secret in the state dir, so a change shows without the ledger confirming a guessed value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from gitkube.api.meta import KubeObject
from gitkube.planning.actions import Action, ActionKind
from gitkube.reconcile import ledgeryaml

#: Condition fields that move every pass without meaning a change.
_VOLATILE = {"lastHeartbeatTime", "lastProbeTime"}


SUMMARY = "status/summary.yaml"


def status_files(objects: Iterable[KubeObject], *, source_revision: str, digest_key: bytes,
                 cluster: str, attempted_revision: str = "",
                 attempted_errors: Iterable[str] = ()) -> dict[str, bytes]:
    """``attempted_*``: the newest commit when it was not applied, and why (atomic revisions:
    the ledger says both what runs and what was refused)."""
    files: dict[str, bytes] = {}
    counts: Counter[str] = Counter()
    for obj in objects:
        counts[obj.plural] += 1
        files[path_for(obj)] = render_object(obj, digest_key)
    files[SUMMARY] = summary_file(counts, source_revision=source_revision, cluster=cluster,
                                  attempted_revision=attempted_revision,
                                  attempted_errors=attempted_errors)
    return files


def path_for(obj: KubeObject) -> str:
    """``status/<plural>/<namespace>/<name>.yaml`` (no namespace for cluster-scoped kinds)."""
    where = f"{obj.namespace}/{obj.name}" if obj.namespaced else obj.name
    return f"status/{obj.plural}/{where}.yaml"


def render_object(obj: KubeObject, digest_key: bytes) -> bytes:
    """The ledger's file of one object."""
    return ledgeryaml.render(_record(obj, digest_key)).encode()


def summary_file(counts: Mapping[str, int], *, source_revision: str, cluster: str,
                 attempted_revision: str = "", attempted_errors: Iterable[str] = ()) -> bytes:
    """``status/summary.yaml``: the cluster, the revision applied (and the one refused, with
    why), and how many objects of each kind."""
    summary: dict[str, Any] = {
        "cluster": cluster,
        "sourceRevision": source_revision,
        "objects": dict(sorted(counts.items())),
    }
    if attempted_revision and attempted_revision != source_revision:
        summary["lastAppliedRevision"] = source_revision
        summary["lastAttemptedRevision"] = attempted_revision
        summary["lastAttemptedErrors"] = list(attempted_errors)
    return ledgeryaml.render(summary).encode()


def _record(obj: KubeObject, digest_key: bytes) -> dict[str, Any]:
    data = obj.to_dict()
    meta = data.get("metadata", {})
    record: dict[str, Any] = {
        "apiVersion": data.get("apiVersion"),
        "kind": data.get("kind"),
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "labels", "ownerReferences")
                     if meta.get(k)},
    }
    source = meta.get("annotations", {}).get("gitkube.io/source")
    if source:
        record["source"] = source
    if obj.kind == "Secret":
        values = {**data.get("data", {}), **data.get("stringData", {})}
        # Keyed, so that anyone who can read the ledger cannot test guesses of a weak value
        # against it; the key stays in the cluster's state dir, never in Git.
        payload = json.dumps(values, sort_keys=True).encode()
        digest = hmac.new(digest_key, payload, hashlib.sha256).hexdigest()
        record["keys"] = sorted(values)
        record["dataHmacSha256"] = digest[:16]
        return record
    if obj.kind == "ConfigMap":
        record["keys"] = sorted({*data.get("data", {}), *data.get("binaryData", {})})
        return record
    spec = data.get("spec", {})
    if obj.kind == "Pod":
        record["nodeName"] = spec.get("nodeName")
        record["images"] = [c.get("image") for c in spec.get("containers", [])]
    elif "replicas" in spec:
        record["replicas"] = spec["replicas"]
    elif obj.kind == "Service":
        record["clusterIP"] = spec.get("clusterIP")
        record["ports"] = [{k: p[k] for k in ("name", "protocol", "port", "nodePort") if k in p}
                           for p in spec.get("ports", [])]
    elif obj.kind == "EndpointSlice":
        # Which pod addresses serve a Service is what its history is about.
        record["endpoints"] = [
            {"addresses": e.get("addresses"), "pod": (e.get("targetRef") or {}).get("name"),
             "ready": (e.get("conditions") or {}).get("ready")}
            for e in data.get("endpoints", [])]
    if "status" in data:
        record["status"] = _strip(data["status"])
    return record


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def commit_message(applied: Iterable[Action], *, source_revision: str,
                   ready: Mapping[str, str], node_errors: Mapping[str, str],
                   rescheduled: Mapping[str, int] | None = None,
                   restarted: Mapping[str, str] | None = None) -> str:
    """``3 pods started on node-1, 1 stopped; web: 3/3 ready`` + the source revision."""
    said = summarize(applied, ready=ready, node_errors=node_errors, rescheduled=rescheduled,
                     restarted=restarted)
    return (
        f"{said}\n\n"
        f"Source-Revision: {source_revision}\n"
    )


def summarize(applied: Iterable[Action], *, ready: Mapping[str, str],
              node_errors: Mapping[str, str],
              rescheduled: Mapping[str, int] | None = None,
              restarted: Mapping[str, str] | None = None) -> str:
    """One line: pods started/stopped/rescheduled per node, objects changed, pods restarted
    (``web-7b9-x2x restarted (main: Error, exit 137)``), workloads' readiness."""
    started: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    objects: Counter[tuple[str, str]] = Counter()
    for action in applied:
        if action.kind is ActionKind.START:
            started[action.node or "?"] += 1
        elif action.kind is ActionKind.STOP:
            stopped[action.node or "?"] += 1
        elif action.kind in (ActionKind.CREATE, ActionKind.UPDATE, ActionKind.DELETE) and (
            not action.status_only and action.target.kind != "Pod"
        ):
            objects[(action.target.kind.lower(), f"{action.kind.value}d")] += 1
    parts: list[str] = []
    for verb, counter in (("started", started), ("stopped", stopped)):
        parts.extend(_per_node(counter, f"{verb} on"))
    parts.extend(_per_node(Counter(rescheduled or {}), "rescheduled from"))
    parts.extend(f"{_count(count, kind)} {verb}" for (kind, verb), count in sorted(objects.items()))
    parts.extend(_capped([f"{pod} restarted ({why})" for pod, why in sorted(
        (restarted or {}).items())], "pod", " restarted"))
    parts.extend(_capped([f"{name}: {value}" for name, value in sorted(ready.items())],
                         "workload"))
    parts.extend(_capped([f"{node} unreachable" for node in sorted(node_errors)],
                         "node", " unreachable"))
    return "; ".join(parts) if parts else "status changed"


#: Past this many nodes or workloads a commit subject says how many, not each one.
_LISTED = 3


def _per_node(counter: Counter[str], what: str) -> list[str]:
    if len(counter) > _LISTED:
        return [f"{_count(sum(counter.values()), 'pod')} {what} {len(counter)} nodes"]
    return [f"{_count(count, 'pod')} {what} {node}" for node, count in sorted(counter.items())]


def _capped(parts: list[str], noun: str, suffix: str = "") -> list[str]:
    if len(parts) > _LISTED:
        more = len(parts) - _LISTED
        return [*parts[:_LISTED], f"{more} more {_noun(more, noun)}{suffix}"]
    return parts


def _count(count: int, noun: str) -> str:
    return f"{count} {_noun(count, noun)}"


def _noun(count: int, noun: str) -> str:
    return noun if count == 1 else noun + ("es" if noun.endswith(("s", "sh", "ch")) else "s")
