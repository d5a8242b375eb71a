"""``gitkube get``: kubectl's tables and its ``-o json|yaml`` documents, from stored objects.

Columns, STATUS words and ages follow kubectl, so people read them without learning
anything new and scripts written for kubectl's output keep working. Secret values are
never printed, in any format: a Secret shows its keys and their sizes only. Rows read the
typed models; what a pod's or node's status means (STATUS, READY, RESTARTS) comes from
``api/podstate`` and ``api/nodestate``, shared with ``describe``, ``status`` and root cause.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ruamel.yaml import YAML

from gitkube import errors
from gitkube.api import (
    accounts,
    apps,
    batch,
    core,
    daemonsets,
    discovery,
    node,
    nodestate,
    podstate,
    registry,
    revisions,
    services,
    statefulsets,
    storage,
)
from gitkube.api.meta import KubeObject
from gitkube.cli import batchviews, render, serviceviews
from gitkube.cli import workloadviews as wv
from gitkube.cli.render import NONE

T = TypeVar("T", bound=KubeObject)
Row = Callable[[KubeObject, dt.datetime], list[str]]


def _typed(cls: type[T], row: Callable[[T, dt.datetime], list[str]]) -> Row:
    """A row of one kind's table, refusing an object of another kind."""
    def checked(obj: KubeObject, now: dt.datetime) -> list[str]:
        if not isinstance(obj, cls):
            raise TypeError(f"a {cls.__name__} table got a {type(obj).__name__}")
        return row(obj, now)
    return checked


def _age(obj: KubeObject, now: dt.datetime) -> str:
    return render.age(obj.metadata.creation_timestamp, now)


def _pod(pod: core.Pod, now: dt.datetime) -> list[str]:
    return [pod.name, podstate.ready_column(pod), podstate.status_word(pod),
            str(podstate.restarts_column(pod)), _age(pod, now)]


def _deployment(deployment: apps.Deployment, now: dt.datetime) -> list[str]:
    status = deployment.status
    return [deployment.name, f"{status.ready_replicas}/{deployment.spec.replicas}",
            str(status.updated_replicas), str(status.available_replicas), _age(deployment, now)]


def _replicaset(rs: apps.ReplicaSet, now: dt.datetime) -> list[str]:
    return [rs.name, str(rs.spec.replicas), str(rs.status.replicas),
            str(rs.status.ready_replicas), _age(rs, now)]


def _node(found: node.Node, now: dt.datetime) -> list[str]:
    return [found.name, nodestate.status_word(found), ",".join(nodestate.roles(found)) or NONE,
            _age(found, now), found.status.node_info.agent_version or NONE]


def _configmap(cm: core.ConfigMap, now: dt.datetime) -> list[str]:
    return [cm.name, str(len(cm.data) + len(cm.binary_data)), _age(cm, now)]


def _secret(secret: core.Secret, now: dt.datetime) -> list[str]:
    return [secret.name, secret.type, str(len(secret.data) + len(secret.string_data)),
            _age(secret, now)]


def _account(account: accounts.ServiceAccount, now: dt.datetime) -> list[str]:
    return [account.name, "0", _age(account, now)]  # no token Secrets: gitkube has no API


def _namespace(namespace: core.Namespace, now: dt.datetime) -> list[str]:
    phase = namespace.status.phase if namespace.status is not None else None
    return [namespace.name, phase or "Active", _age(namespace, now)]


def _pod_wide(pod: core.Pod, now: dt.datetime) -> list[str]:
    return [render.text(pod.status.pod_ip), render.text(pod.spec.node_name)]


def _node_wide(found: node.Node, now: dt.datetime) -> list[str]:
    capacity = found.status.capacity
    return [render.text(nodestate.internal_ip(found)), render.text(capacity.get("cpu")),
            render.text(capacity.get("memory")),
            render.text(found.status.node_info.container_runtime_version)]


_COLUMNS: dict[str, tuple[list[str], Row]] = {
    "pods": (["NAME", "READY", "STATUS", "RESTARTS", "AGE"], _typed(core.Pod, _pod)),
    "deployments": (["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
                    _typed(apps.Deployment, _deployment)),
    "replicasets": (["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
                    _typed(apps.ReplicaSet, _replicaset)),
    "nodes": (["NAME", "STATUS", "ROLES", "AGE", "VERSION"], _typed(node.Node, _node)),
    "configmaps": (["NAME", "DATA", "AGE"], _typed(core.ConfigMap, _configmap)),
    "secrets": (["NAME", "TYPE", "DATA", "AGE"], _typed(core.Secret, _secret)),
    "namespaces": (["NAME", "STATUS", "AGE"], _typed(core.Namespace, _namespace)),
    "jobs": (batchviews.JOB_COLUMNS, _typed(batch.Job, batchviews.job_row)),
    "cronjobs": (batchviews.CRONJOB_COLUMNS, _typed(batch.CronJob, batchviews.cronjob_row)),
    "services": (serviceviews.SERVICE_COLUMNS,
                 _typed(services.Service, serviceviews.service_row)),
    "endpointslices": (serviceviews.SLICE_COLUMNS,
                       _typed(discovery.EndpointSlice, serviceviews.slice_row)),
    "daemonsets": (wv.DAEMONSET_COLUMNS, _typed(daemonsets.DaemonSet, wv.daemonset_row)),
    "statefulsets": (wv.STATEFULSET_COLUMNS,
                     _typed(statefulsets.StatefulSet, wv.statefulset_row)),
    "controllerrevisions": (wv.REVISION_COLUMNS,
                            _typed(revisions.ControllerRevision, wv.revision_row)),
    "persistentvolumeclaims": (wv.CLAIM_COLUMNS,
                               _typed(storage.PersistentVolumeClaim, wv.claim_row)),
    "persistentvolumes": (wv.VOLUME_COLUMNS, _typed(storage.PersistentVolume, wv.volume_row)),
    "storageclasses": (wv.CLASS_COLUMNS, _typed(storage.StorageClass, wv.class_row)),
    "serviceaccounts": (["NAME", "SECRETS", "AGE"], _typed(accounts.ServiceAccount, _account)),
}

_WIDE: dict[str, tuple[list[str], Row]] = {
    "pods": (["IP", "NODE"], _typed(core.Pod, _pod_wide)),
    "nodes": (["INTERNAL-IP", "CPU", "MEMORY", "CONTAINER-RUNTIME"],
              _typed(node.Node, _node_wide)),
    "jobs": (batchviews.WIDE_COLUMNS, _typed(batch.Job, batchviews.job_wide)),
    "cronjobs": (batchviews.WIDE_COLUMNS, _typed(batch.CronJob, batchviews.cronjob_wide)),
    "services": (serviceviews.SERVICE_WIDE, _typed(services.Service, serviceviews.service_wide)),
    "daemonsets": ([*wv.WORKLOAD_WIDE, "SELECTOR"],
                   _typed(daemonsets.DaemonSet, wv.daemonset_wide)),
    "statefulsets": (wv.WORKLOAD_WIDE, _typed(statefulsets.StatefulSet, wv.statefulset_wide)),
    "persistentvolumeclaims": (wv.STORAGE_WIDE,
                               _typed(storage.PersistentVolumeClaim, wv.claim_wide)),
    "persistentvolumes": (wv.STORAGE_WIDE, _typed(storage.PersistentVolume, wv.volume_wide)),
}

#: The kinds ``get`` lists without a namespace.
CLUSTER_SCOPED = frozenset(p for p in _COLUMNS if not registry.model_for_plural(p).namespaced)


def resolve_kind(word: str) -> str:
    """The plural ``get`` lists for a word (``po``, ``pod``, ``pods``), or a ConfigError."""
    plural = registry.plural_for(word)
    if plural is None or plural not in _COLUMNS:
        known = ", ".join(sorted(_COLUMNS))
        raise errors.ConfigError(f'gitkube does not know the kind "{word}". Known kinds: {known}.')
    return plural


def _no_extra(obj: KubeObject, now: dt.datetime) -> list[str]:
    return []


def render_table(plural: str, objects: Sequence[KubeObject], now: dt.datetime, *,
                 wide: bool = False, all_namespaces: bool = False) -> str:
    """The table ``gitkube get`` prints; the caller says "No resources found" when empty."""
    headers, row = _COLUMNS[plural]
    headers = list(headers)
    extra_headers, extra = _WIDE.get(plural, ([], _no_extra))
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
        condition = podstate.unscheduled(pod) if isinstance(pod, core.Pod) else None
        if condition is not None:
            notes.append(f"{pod.name} is not scheduled: {condition.message}")
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
