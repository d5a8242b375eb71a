"""``gitkube describe pod|deployment|node NAME``: one object's facts, as kubectl lays them out.

Each ``describe_*`` takes the object and the related objects the command looked up
(a node's pods, a deployment's ReplicaSets) and returns the lines to print, so the
views are pure and testable. A pod's scheduling story comes from the scheduler's
``explain`` when that exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol

from gitkube.api import (
    accounts,
    apps,
    core,
    daemonsets,
    nodestate,
    podstate,
    quantities,
    statefulsets,
)
from gitkube.api import node as nodes
from gitkube.api import security as api_security
from gitkube.api.meta import KubeModel
from gitkube.cli import render
from gitkube.cli.render import NONE

_WIDTH = 17

#: The scheduler's verdict for one node: (node name, fits, reasons it does not).
Fit = tuple[str, bool, list[str]]


class _Condition(Protocol):
    """A condition of any kind (pods, deployments, nodes share these fields)."""

    @property
    def type(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...


def _field(label: str, value: object, indent: int = 0) -> str:
    pad = " " * indent
    shown = value if value not in (None, "") else NONE
    return f"{pad}{label + ':':<{_WIDTH - indent - 1}} {shown}"


def _time(timestamp: str | None, now: dt.datetime) -> str:
    return f"{timestamp} ({render.age(timestamp, now)} ago)" if timestamp else NONE


def _table(title: str, headers: list[str], rows: list[list[str]]) -> list[str]:
    table = render.format_table(headers, rows)
    return [f"{title}:", *("  " + line for line in table.splitlines())]


def _conditions(conditions: Sequence[_Condition]) -> list[str]:
    rows = [[c.type, c.status, c.reason or "", c.message or ""] for c in conditions]
    if not rows:
        return [_field("Conditions", NONE)]
    return _table("Conditions", ["Type", "Status", "Reason", "Message"], rows)


def _state(state: core.ContainerState, label: str = "State") -> list[str]:
    facts: list[tuple[str, object]]
    if state.running is not None:
        word, facts = "Running", [("Started", state.running.started_at)]
    elif state.waiting is not None:
        word, facts = "Waiting", [("Reason", state.waiting.reason),
                                  ("Message", state.waiting.message)]
    elif state.terminated is not None:
        done = state.terminated
        word, facts = "Terminated", [
            ("Reason", done.reason), ("Exit Code", done.exit_code),
            ("Started", done.started_at), ("Finished", done.finished_at),
            ("Message", done.message)]
    else:
        return [_field("State", "Unknown", 4)]
    return [_field(label, word, 4),
            *(_field(name, value, 6) for name, value in facts if value is not None)]


def _resources(container: core.Container) -> list[str]:
    lines = []
    for label, values in (("Requests", container.resources.requests),
                          ("Limits", container.resources.limits)):
        if values:
            shown = ", ".join(f"{k}: {v}" for k, v in sorted(values.items()))
            lines.append(_field(label, shown, 4))
    return lines


def _shown(value: object) -> str:
    if isinstance(value, (api_security.SeccompProfile, api_security.AppArmorProfile)):
        return str(value.type)
    if isinstance(value, api_security.Capabilities):
        parts = [f"add {' '.join(value.add)}" if value.add else "",
                 f"drop {' '.join(value.drop)}" if value.drop else ""]
        return "; ".join(p for p in parts if p)
    if isinstance(value, KubeModel):
        return ",".join(f"{k}:{v}" for k, v in value.model_dump(exclude_none=True).items())
    return str(value).lower() if isinstance(value, bool) else str(value)


def _either(own: object, pod: object) -> object:
    return pod if own is None else own


def _security(container: core.Container,
              pod_context: api_security.PodSecurityContext | None) -> list[str]:
    """The container's effective security context (kubelet's merge of pod and container)."""
    own = container.security_context or api_security.SecurityContext()
    pod = pod_context or api_security.PodSecurityContext()
    fields = (
        ("runAsUser", _either(own.run_as_user, pod.run_as_user)),
        ("runAsGroup", _either(own.run_as_group, pod.run_as_group)),
        ("runAsNonRoot", _either(own.run_as_non_root, pod.run_as_non_root)),
        ("seccomp", _either(own.seccomp_profile, pod.seccomp_profile)),
        ("appArmor", _either(own.app_armor_profile, pod.app_armor_profile)),
        ("seLinux", _either(own.se_linux_options, pod.se_linux_options)),
        ("readOnlyRootFilesystem", own.read_only_root_filesystem),
        ("privileged", own.privileged),
        ("allowPrivilegeEscalation", own.allow_privilege_escalation),
        ("capabilities", own.capabilities),
    )
    parts = [f"{label}={_shown(value)}" for label, value in fields
             if value is not None and _shown(value)]
    return [_field("Security", ", ".join(parts), 4)] if parts else []


def _hooks(container: core.Container) -> list[str]:
    lifecycle = container.lifecycle
    if lifecycle is None:
        return []
    lines = []
    for label, hook in (("PostStart", lifecycle.post_start), ("PreStop", lifecycle.pre_stop)):
        if hook is None:
            continue
        if hook.exec is not None:
            shown = "exec " + " ".join(hook.exec.command)
        elif hook.http_get is not None:
            shown = f"http-get :{hook.http_get.port}{hook.http_get.path}"
        else:
            shown = f"sleep {hook.sleep.seconds if hook.sleep is not None else None}s"
        lines.append(_field(label, shown, 4))
    return lines


def _containers(specs: Sequence[core.Container], found: Sequence[core.ContainerStatus],
                pod_context: api_security.PodSecurityContext | None = None) -> list[str]:
    lines: list[str] = []
    statuses = {s.name: s for s in found}
    for container in specs:
        status = statuses.get(container.name)
        lines.append(f"  {container.name}:")
        lines.append(_field("Image", container.image, 4))
        if container.restart_policy:
            lines.append(_field("Restart Policy", container.restart_policy, 4))
        if status is None:
            lines += [_field("State", "Waiting", 4), _field("Ready", "False", 4),
                      _field("Restart Count", 0, 4)]
        else:
            lines += _state(status.state)
            if status.last_state.terminated is not None:
                last = core.ContainerState(terminated=status.last_state.terminated)
                lines += _state(last, label="Last State")
            lines.append(_field("Ready", "True" if status.ready else "False", 4))
            lines.append(_field("Restart Count", status.restart_count, 4))
        lines += _resources(container)
        lines += _security(container, pod_context)
        lines += _hooks(container)
    return lines


def _dns(spec: core.PodSpec) -> list[str]:
    policy, config = spec.dns_policy, spec.dns_config
    if not policy and config is None:
        return []
    extra = []
    if config is not None:
        extra += [f"nameservers {' '.join(config.nameservers)}"] if config.nameservers else []
        extra += [f"searches {' '.join(config.searches)}"] if config.searches else []
        extra += ["options " + " ".join(o.name if o.value is None else f"{o.name}:{o.value}"
                                        for o in config.options)] if config.options else []
    return [_field("DNS", "; ".join([policy or "ClusterFirst", *extra]))]


def _pod_security(pod: core.Pod) -> list[str]:
    """What only a pod sets: fsGroup, supplementalGroups, sysctls; and its DNS."""
    context = pod.spec.security_context
    parts = []
    if context is not None:
        if context.fs_group is not None:
            parts.append(f"fsGroup={context.fs_group}")
        if context.supplemental_groups:
            parts.append("supplementalGroups=" + ",".join(map(str, context.supplemental_groups)))
        parts += [f"{s.name}={s.value}" for s in context.sysctls]
    lines = [_field("Security Context", ", ".join(parts))] if parts else []
    return lines + _dns(pod.spec)


def _scheduling(pod: core.Pod, scheduling: Sequence[Fit]) -> list[str]:
    node_name = pod.spec.node_name
    if node_name:
        # Bound: the other nodes' verdicts would only say "not the requested node".
        placed = pod.status.condition("PodScheduled")
        said = placed.message if placed is not None and placed.status == "True" else None
        return [_field("Scheduling", said or f"bound to {node_name}")]
    if not scheduling:
        return []
    return _table("Scheduling", ["Node", "Fits", "Why not"], [
        [node, "yes" if fits else "no", "; ".join(reasons)] for node, fits, reasons in scheduling])


def describe_pod(pod: core.Pod, now: dt.datetime, scheduling: Sequence[Fit] = ()) -> list[str]:
    owner = pod.controller_ref()
    lines = [
        _field("Name", pod.name),
        _field("Namespace", pod.namespace),
        _field("Service Account", accounts.account_of(pod.spec)),
        _field("Node", pod.spec.node_name),
        _field("Created", _time(pod.metadata.creation_timestamp, now)),
        _field("Labels", render.labels(pod.metadata.labels)),
        _field("Status", podstate.status_word(pod)),
        _field("IP", pod.status.pod_ip),
        _field("Controlled By", f"{owner.kind}/{owner.name}" if owner else None),
    ]
    lines += _pod_security(pod)
    context = pod.spec.security_context
    if pod.spec.init_containers:
        lines.append("Init Containers:")
        lines += _containers(pod.spec.init_containers, pod.status.init_container_statuses,
                             context)
    lines.append("Containers:")
    lines += _containers(pod.spec.containers, pod.status.container_statuses, context)
    lines += _conditions(pod.status.conditions)
    return lines + _scheduling(pod, scheduling)


def describe_deployment(deployment: apps.Deployment, replicasets: Iterable[apps.ReplicaSet],
                        now: dt.datetime) -> list[str]:
    status, spec = deployment.status, deployment.spec
    replicas = (f"{spec.replicas} desired | {status.updated_replicas} updated | "
                f"{status.replicas} total | {status.available_replicas} available | "
                f"{max(spec.replicas - status.available_replicas, 0)} unavailable")
    lines = [
        _field("Name", deployment.name),
        _field("Namespace", deployment.namespace),
        _field("Created", _time(deployment.metadata.creation_timestamp, now)),
        _field("Labels", render.labels(deployment.metadata.labels)),
        _field("Selector", render.labels(spec.selector.match_labels)),
        _field("Replicas", replicas),
        _field("Strategy", spec.strategy.type),
        *_template(spec.template.spec),
    ]
    lines += _conditions(status.conditions)
    owned = sorted(replicasets, key=lambda rs: rs.name)
    if not owned:
        return [*lines, _field("ReplicaSets", NONE)]
    return lines + _table("ReplicaSets", ["Name", "Desired", "Current", "Ready", "Age"], [
        [rs.name, str(rs.spec.replicas), str(rs.status.replicas), str(rs.status.ready_replicas),
         render.age(rs.metadata.creation_timestamp, now)] for rs in owned])


def _template(spec: core.PodSpec) -> list[str]:
    lines = ["Pod Template:"]
    for container in spec.containers:
        lines.append(f"  {container.name}:")
        lines.append(_field("Image", container.image, 4))
        lines += _resources(container)
    return lines


def _pods_status(pods: Iterable[core.Pod]) -> str:
    """kubectl's ``Pods Status``: how many of the workload's pods are in each phase."""
    phases = [p.status.phase or "Pending" for p in pods]
    counts = [phases.count(phase) for phase in ("Running", "Pending", "Succeeded", "Failed")]
    return " / ".join(f"{n} {word}" for n, word in zip(
        counts, ("Running", "Waiting", "Succeeded", "Failed"), strict=True))


def _strategy(kind: str, details: Sequence[tuple[str, object]]) -> list[str]:
    return [_field("Update Strategy", kind),
            *(f"  {label}:  {value}" for label, value in details if value is not None)]


def describe_statefulset(sts: statefulsets.StatefulSet, pods: Iterable[core.Pod],
                         now: dt.datetime) -> list[str]:
    """kubectl's ``describe statefulset``: replicas, update strategy, pods by phase, the
    template, the claim templates."""
    spec, status = sts.spec, sts.status
    rolling = spec.update_strategy.rolling_update
    lines = [
        _field("Name", sts.name), _field("Namespace", sts.namespace),
        _field("Created", _time(sts.metadata.creation_timestamp, now)),
        _field("Selector", render.labels(spec.selector.match_labels)),
        _field("Labels", render.labels(sts.metadata.labels)),
        _field("Replicas", f"{spec.replicas} desired | {status.replicas} total"),
        _field("Service", spec.service_name),
        _field("Pod Policy", spec.pod_management_policy),
        *_strategy(spec.update_strategy.type, [
            ("Partition", rolling.partition if rolling else None),
            ("Max Unavailable", rolling.max_unavailable if rolling else None)]),
        _field("Pods Status", _pods_status(pods)),
        *_template(spec.template.spec),
    ]
    if not spec.volume_claim_templates:
        return [*lines, _field("Volume Claims", NONE)]
    lines.append("Volume Claims:")
    for claim in spec.volume_claim_templates:
        lines += [_field("Name", claim.metadata.name, 2),
                  _field("StorageClass", claim.spec.storage_class_name, 2),
                  _field("Capacity", claim.spec.resources.requests.get("storage"), 2),
                  _field("Access Modes", ", ".join(claim.spec.access_modes), 2)]
    return lines


def describe_daemonset(ds: daemonsets.DaemonSet, pods: Iterable[core.Pod],
                       now: dt.datetime) -> list[str]:
    """kubectl's ``describe daemonset``: the node counts of its status, pods by phase, the
    template."""
    spec, status = ds.spec, ds.status
    rolling = spec.update_strategy.rolling_update
    return [
        _field("Name", ds.name), _field("Namespace", ds.namespace),
        _field("Created", _time(ds.metadata.creation_timestamp, now)),
        _field("Selector", render.labels(spec.selector.match_labels)),
        _field("Node-Selector", render.labels(spec.template.spec.node_selector)),
        _field("Labels", render.labels(ds.metadata.labels)),
        f"Desired Number of Nodes Scheduled: {status.desired_number_scheduled}",
        f"Current Number of Nodes Scheduled: {status.current_number_scheduled}",
        f"Number of Nodes Scheduled with Up-to-date Pods: {status.updated_number_scheduled}",
        f"Number of Nodes Scheduled with Available Pods: {status.number_available}",
        f"Number of Nodes Misscheduled: {status.number_misscheduled}",
        *_strategy(spec.update_strategy.type, [
            ("Max Unavailable", rolling.max_unavailable if rolling else None),
            ("Max Surge", rolling.max_surge if rolling else None)]),
        _field("Pods Status", _pods_status(pods)),
        *_template(spec.template.spec),
    ]


def _total(pods: Iterable[core.Pod], resource: str) -> int:
    parse = quantities.cpu_millis if resource == "cpu" else quantities.memory_bytes
    return sum(parse(c.resources.requests[resource]) for pod in pods
               for c in pod.spec.containers if resource in c.resources.requests)


def _node_pods(pods: list[core.Pod], now: dt.datetime) -> list[str]:
    if not pods:
        return [_field("Pods", NONE)]
    return _table(f"Pods ({len(pods)})", ["Namespace", "Name", "Status", "Age"], [
        [p.namespace, p.name, podstate.status_word(p),
         render.age(p.metadata.creation_timestamp, now)] for p in pods])


def describe_node(node: nodes.Node, pods: Iterable[core.Pod], now: dt.datetime) -> list[str]:
    taints = [f"{t.key}={t.value or ''}:{t.effect}" for t in node.spec.taints]
    addresses = [f"{a.type}: {a.address}" for a in node.status.addresses]
    lines = [
        _field("Name", node.name),
        _field("Roles", ",".join(nodestate.roles(node)) or NONE),
        _field("Labels", render.labels(node.metadata.labels)),
        _field("Taints", ", ".join(taints) or NONE),
        _field("Unschedulable", "true" if node.spec.unschedulable else "false"),
        _field("Created", _time(node.metadata.creation_timestamp, now)),
        _field("Addresses", ", ".join(addresses) or NONE),
    ]
    lines += _conditions(node.status.conditions)
    for label, values in (("Capacity", node.status.capacity),
                          ("Allocatable", node.status.allocatable)):
        lines.append(f"{label}:" if values else _field(label, NONE))
        lines += [f"  {k}: {v}" for k, v in sorted(values.items())]
    here = sorted(pods, key=lambda p: (p.namespace, p.name))
    lines += _node_pods(here, now)
    cpu_cap, mem_cap = nodestate.resource(node, "cpu"), nodestate.resource(node, "memory")
    cpu, memory = _total(here, "cpu"), _total(here, "memory")
    return [
        *lines,
        "Allocated resources:",
        f"  cpu: {quantities.format_millis(cpu)} requested of {cpu_cap or '?'}",
        f"  memory: {quantities.format_bytes(memory)} requested of {mem_cap or '?'}",
    ]
