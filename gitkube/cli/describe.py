"""``gitkube describe pod|deployment|node NAME``: one object's facts, as kubectl lays them out.

Each ``describe_*`` takes the object and the related objects the command looked up
(a node's pods, a deployment's ReplicaSets) and returns the lines to print, so the
views are pure and testable. A pod's scheduling story comes from the scheduler's
``explain`` when that exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from gitkube.api import quantities
from gitkube.cli import render, tables
from gitkube.cli.render import NONE, dig, items

_WIDTH = 17

#: The scheduler's verdict for one node: (node name, fits, reasons it does not).
Fit = tuple[str, bool, list[str]]


def _field(label: str, value: Any, indent: int = 0) -> str:
    pad = " " * indent
    shown = value if value not in (None, "") else NONE
    return f"{pad}{label + ':':<{_WIDTH - indent - 1}} {shown}"


def _time(timestamp: str | None, now: dt.datetime) -> str:
    return f"{timestamp} ({render.age(timestamp, now)} ago)" if timestamp else NONE


def _conditions(obj: Any) -> list[str]:
    rows = [[str(dig(c, "type", default="")), str(dig(c, "status", default="")),
             str(dig(c, "reason", default="")), str(dig(c, "message", default=""))]
            for c in items(obj, "status", "conditions")]
    if not rows:
        return [_field("Conditions", NONE)]
    table = render.format_table(["Type", "Status", "Reason", "Message"], rows)
    return ["Conditions:", *("  " + line for line in table.splitlines())]


def _state(status: Any, label: str = "State") -> list[str]:
    for name in ("running", "waiting", "terminated"):
        state = dig(status, "state", name)
        if state is None:
            continue
        lines = [_field(label, name.capitalize(), 4)]
        for label, attr in (("Reason", "reason"), ("Exit Code", "exit_code"),
                            ("Started", "started_at"), ("Finished", "finished_at"),
                            ("Message", "message")):
            value = dig(state, attr)
            if value is not None:
                lines.append(_field(label, value, 6))
        return lines
    return [_field("State", "Unknown", 4)]


def _resources(container: Any) -> list[str]:
    lines = []
    for label, attr in (("Requests", "requests"), ("Limits", "limits")):
        values = dig(container, "resources", attr, default={})
        if values:
            shown = ", ".join(f"{k}: {v}" for k, v in sorted(values.items()))
            lines.append(_field(label, shown, 4))
    return lines


#: A container's own security fields, in the order shown; the first six fall back to the pod's.
_SECURITY = (("run_as_user", "runAsUser"), ("run_as_group", "runAsGroup"),
             ("run_as_non_root", "runAsNonRoot"), ("seccomp_profile", "seccomp"),
             ("app_armor_profile", "appArmor"), ("se_linux_options", "seLinux"),
             ("read_only_root_filesystem", "readOnlyRootFilesystem"),
             ("privileged", "privileged"), ("allow_privilege_escalation",
                                            "allowPrivilegeEscalation"),
             ("capabilities", "capabilities"))


def _shown(value: Any) -> str:
    if hasattr(value, "type") and not hasattr(value, "level"):
        return str(value.type)  # a seccomp/AppArmor profile
    if hasattr(value, "add"):
        parts = [f"add {' '.join(value.add)}" if value.add else "",
                 f"drop {' '.join(value.drop)}" if value.drop else ""]
        return "; ".join(p for p in parts if p)
    if hasattr(value, "model_dump"):
        return ",".join(f"{k}:{v}" for k, v in value.model_dump(exclude_none=True).items())
    return str(value).lower() if isinstance(value, bool) else str(value)


def _security(container: Any, pod_context: Any) -> list[str]:
    """The container's effective security context (kubelet's merge of pod and container)."""
    own = dig(container, "security_context")
    parts = []
    for index, (attr, label) in enumerate(_SECURITY):
        value = dig(own, attr)
        if value is None and index < 6:
            value = dig(pod_context, attr)
        if value is not None and _shown(value):
            parts.append(f"{label}={_shown(value)}")
    return [_field("Security", ", ".join(parts), 4)] if parts else []


def _hooks(container: Any) -> list[str]:
    lines = []
    for label, attr in (("PostStart", "post_start"), ("PreStop", "pre_stop")):
        hook = dig(container, "lifecycle", attr)
        if hook is None:
            continue
        if dig(hook, "exec") is not None:
            shown = "exec " + " ".join(dig(hook, "exec", "command", default=[]))
        elif dig(hook, "http_get") is not None:
            shown = f"http-get :{dig(hook, 'http_get', 'port')}{dig(hook, 'http_get', 'path')}"
        else:
            shown = f"sleep {dig(hook, 'sleep', 'seconds')}s"
        lines.append(_field(label, shown, 4))
    return lines


def _containers(specs: Sequence[Any], found: Sequence[Any], pod_context: Any = None
                ) -> list[str]:
    lines: list[str] = []
    statuses = {dig(s, "name"): s for s in found}
    for container in specs:
        status = statuses.get(dig(container, "name"))
        lines.append(f"  {dig(container, 'name', default='?')}:")
        lines.append(_field("Image", dig(container, "image"), 4))
        if dig(container, "restart_policy"):
            lines.append(_field("Restart Policy", dig(container, "restart_policy"), 4))
        lines += _state(status) if status is not None else [_field("State", "Waiting", 4)]
        last = dig(status, "last_state", "terminated")
        if last is not None:
            lines += _state({"state": {"terminated": last}}, label="Last State")
        lines.append(_field("Ready", "True" if dig(status, "ready") else "False", 4))
        lines.append(_field("Restart Count", dig(status, "restart_count", default=0), 4))
        lines += _resources(container)
        lines += _security(container, pod_context)
        lines += _hooks(container)
    return lines


def _pod_security(pod: Any) -> list[str]:
    """What only a pod sets: fsGroup, supplementalGroups, sysctls; and its DNS."""
    context = dig(pod, "spec", "security_context")
    parts = []
    if dig(context, "fs_group") is not None:
        parts.append(f"fsGroup={dig(context, 'fs_group')}")
    if dig(context, "supplemental_groups"):
        parts.append("supplementalGroups=" + ",".join(map(str, context.supplemental_groups)))
    parts += [f"{s.name}={s.value}" for s in dig(context, "sysctls", default=[])]
    lines = [_field("Security Context", ", ".join(parts))] if parts else []
    policy, config = dig(pod, "spec", "dns_policy"), dig(pod, "spec", "dns_config")
    if policy or config:
        extra = []
        if config is not None:
            extra += [f"nameservers {' '.join(config.nameservers)}"] if config.nameservers else []
            extra += [f"searches {' '.join(config.searches)}"] if config.searches else []
            extra += ["options " + " ".join(o.name if o.value is None else f"{o.name}:{o.value}"
                                            for o in config.options)] if config.options else []
        lines.append(_field("DNS", "; ".join([policy or "ClusterFirst", *extra])))
    return lines


def describe_pod(pod: Any, now: dt.datetime, scheduling: Sequence[Fit] = ()) -> list[str]:
    owner = next((r for r in dig(pod, "metadata", "owner_references", default=[])
                  if dig(r, "controller")), None)
    lines = [
        _field("Name", pod.name),
        _field("Namespace", pod.namespace),
        _field("Node", dig(pod, "spec", "node_name")),
        _field("Created", _time(dig(pod, "metadata", "creation_timestamp"), now)),
        _field("Labels", render.labels(dig(pod, "metadata", "labels"))),
        _field("Status", tables.pod_status(pod)),
        _field("IP", dig(pod, "status", "pod_ip")),
        _field("Controlled By", f"{owner.kind}/{owner.name}" if owner else None),
    ]
    lines += _pod_security(pod)
    pod_context = dig(pod, "spec", "security_context")
    if items(pod, "spec", "init_containers"):
        lines.append("Init Containers:")
        lines += _containers(items(pod, "spec", "init_containers"),
                             items(pod, "status", "init_container_statuses"), pod_context)
    lines.append("Containers:")
    lines += _containers(items(pod, "spec", "containers"),
                         items(pod, "status", "container_statuses"), pod_context)
    lines += _conditions(pod)
    node_name = dig(pod, "spec", "node_name")
    if node_name:
        # Bound: the other nodes' verdicts would only say "not the requested node".
        placed = next((c for c in items(pod, "status", "conditions")
                       if dig(c, "type") == "PodScheduled" and dig(c, "status") == "True"), None)
        lines.append(_field("Scheduling", dig(placed, "message") or f"bound to {node_name}"))
    elif scheduling:
        table = render.format_table(["Node", "Fits", "Why not"], [
            [node, "yes" if fits else "no", "; ".join(reasons)]
            for node, fits, reasons in scheduling])
        lines += ["Scheduling:", *("  " + line for line in table.splitlines())]
    return lines


def describe_deployment(deployment: Any, replicasets: Iterable[Any],
                        now: dt.datetime) -> list[str]:
    status = dig(deployment, "status")
    desired = dig(deployment, "spec", "replicas", default=0)
    available = dig(status, "available_replicas", default=0)
    replicas = (f"{desired} desired | {dig(status, 'updated_replicas', default=0)} updated | "
                f"{dig(status, 'replicas', default=0)} total | {available} available | "
                f"{max(int(desired) - int(available), 0)} unavailable")
    selector = dig(deployment, "spec", "selector", "match_labels")
    lines = [
        _field("Name", deployment.name),
        _field("Namespace", deployment.namespace),
        _field("Created", _time(dig(deployment, "metadata", "creation_timestamp"), now)),
        _field("Labels", render.labels(dig(deployment, "metadata", "labels"))),
        _field("Selector", render.labels(selector)),
        _field("Replicas", replicas),
        _field("Strategy", dig(deployment, "spec", "strategy", "type", default="RollingUpdate")),
        "Pod Template:",
    ]
    for container in items(deployment, "spec", "template", "spec", "containers"):
        lines.append(f"  {dig(container, 'name', default='?')}:")
        lines.append(_field("Image", dig(container, "image"), 4))
        lines += _resources(container)
    lines += _conditions(deployment)
    owned = sorted(replicasets, key=lambda rs: rs.name)
    if owned:
        table = render.format_table(["Name", "Desired", "Current", "Ready", "Age"], [
            [rs.name, str(dig(rs, "spec", "replicas", default=0)),
             str(dig(rs, "status", "replicas", default=0)),
             str(dig(rs, "status", "ready_replicas", default=0)),
             render.age(dig(rs, "metadata", "creation_timestamp"), now)]
            for rs in owned])
        lines += ["ReplicaSets:", *("  " + line for line in table.splitlines())]
    else:
        lines.append(_field("ReplicaSets", NONE))
    return lines


def _total(pods: Iterable[Any], resource: str) -> int:
    parse = quantities.cpu_millis if resource == "cpu" else quantities.memory_bytes
    total = 0
    for pod in pods:
        for container in items(pod, "spec", "containers"):
            value = dig(container, "resources", "requests", resource)
            if value is not None:
                total += parse(value)
    return total


def describe_node(node: Any, pods: Iterable[Any], now: dt.datetime) -> list[str]:
    taints = [f"{dig(t, 'key')}={dig(t, 'value', default='')}:{dig(t, 'effect')}"
              for t in items(node, "spec", "taints")]
    addresses = [f"{dig(a, 'type')}: {dig(a, 'address')}"
                 for a in items(node, "status", "addresses")]
    lines = [
        _field("Name", node.name),
        _field("Roles", tables.node_roles(node)),
        _field("Labels", render.labels(dig(node, "metadata", "labels"))),
        _field("Taints", ", ".join(taints) or NONE),
        _field("Unschedulable", "true" if dig(node, "spec", "unschedulable") else "false"),
        _field("Created", _time(dig(node, "metadata", "creation_timestamp"), now)),
        _field("Addresses", ", ".join(addresses) or NONE),
    ]
    lines += _conditions(node)
    for label in ("capacity", "allocatable"):
        values = dig(node, "status", label, default={})
        lines.append(f"{label.capitalize()}:" if values else _field(label.capitalize(), NONE))
        lines += [f"  {k}: {v}" for k, v in sorted(values.items())]
    here = sorted(pods, key=lambda p: (p.namespace, p.name))
    table = render.format_table(["Namespace", "Name", "Status", "Age"], [
        [p.namespace, p.name, tables.pod_status(p),
         render.age(dig(p, "metadata", "creation_timestamp"), now)] for p in here])
    if here:
        lines += [f"Pods ({len(here)}):", *("  " + line for line in table.splitlines())]
    else:
        lines.append(_field("Pods", NONE))
    cpu_cap = dig(node, "status", "allocatable", "cpu") or dig(node, "status", "capacity", "cpu")
    mem_cap = (dig(node, "status", "allocatable", "memory")
               or dig(node, "status", "capacity", "memory"))
    cpu, memory = _total(here, "cpu"), _total(here, "memory")
    lines += [
        "Allocated resources:",
        f"  cpu: {quantities.format_millis(cpu)} requested of {cpu_cap or '?'}",
        f"  memory: {quantities.format_bytes(memory)} requested of {mem_cap or '?'}",
    ]
    return lines
