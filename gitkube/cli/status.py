"""``gitkube status``: the cluster at a glance, built as data then rendered.

``build_status_view`` reads a ``Cluster`` once into a ``StatusView`` of plain rows;
``render_status`` draws it. The split lets the drawing be tested with hand-made rows
and no cluster, and keeps every store read in one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from gitkube.api import apps, core, daemonsets, node, nodestate, podstate, quantities, statefulsets
from gitkube.cli import render
from gitkube.reconcile import face


@dataclass(frozen=True)
class NodeRow:
    name: str
    status: str
    cpu_requested_m: int
    cpu_capacity_m: int | None
    memory_requested: int
    memory_capacity: int | None
    pods: int


@dataclass(frozen=True)
class WorkloadRow:
    namespace: str
    name: str
    desired: int
    ready: int
    up_to_date: int
    available: int
    kind: str = "deployment"


@dataclass(frozen=True)
class PodRow:
    namespace: str
    name: str
    node: str
    status: str
    restarts: int
    age: str


@dataclass(frozen=True)
class StatusView:
    cluster: str
    repo: Path
    now: dt.datetime
    nodes: list[NodeRow] = field(default_factory=list)
    workloads: list[WorkloadRow] = field(default_factory=list)
    pods: list[PodRow] = field(default_factory=list)
    last_pass: face.PassRecord | None = None
    #: One line per workload or pod that is not ready, naming the first cause (``rootcause``).
    causes: list[str] = field(default_factory=list)
    #: The store's source record: lastAppliedRevision, lastAttemptedRevision(+Errors).
    source: dict[str, Any] = field(default_factory=dict)
    #: The pid of the ``gitkube serve`` serving this cluster, when one runs.
    daemon: int | None = None
    #: With several control machines: "cp2 (pid 4242, term 3)" and the standbys' names.
    leader: str = ""
    standbys: list[str] = field(default_factory=list)


# -- building ----------------------------------------------------------------------------------


def _quantity(value: str | None, parse: Callable[[str], int]) -> int | None:
    if value is None:
        return None
    try:
        return int(parse(value))
    except (ValueError, TypeError, ArithmeticError):
        return None


def _parser(resource: str) -> Callable[[str], int]:
    return quantities.cpu_millis if resource == "cpu" else quantities.memory_bytes


def _requests(pod: core.Pod, resource: str) -> int:
    parse = _parser(resource)
    return sum(_quantity(c.resources.requests.get(resource), parse) or 0
               for c in pod.spec.containers)


def node_rows(nodes: Iterable[node.Node], pods: Iterable[core.Pod]) -> list[NodeRow]:
    """One row per node; "requested" sums the requests of the running pods bound there."""
    bound: dict[str, list[core.Pod]] = {}
    for pod in pods:
        if pod.spec.node_name and not podstate.is_terminal(pod):
            bound.setdefault(pod.spec.node_name, []).append(pod)
    rows = []
    for found in sorted(nodes, key=lambda n: n.name):
        here = bound.get(found.name, [])
        rows.append(NodeRow(
            name=found.name, status=nodestate.status_word(found),
            cpu_requested_m=sum(_requests(p, "cpu") for p in here),
            cpu_capacity_m=_quantity(nodestate.resource(found, "cpu"), _parser("cpu")),
            memory_requested=sum(_requests(p, "memory") for p in here),
            memory_capacity=_quantity(nodestate.resource(found, "memory"), _parser("memory")),
            pods=len(here),
        ))
    return rows


def workload_rows(objs: Iterable[Any]) -> list[WorkloadRow]:
    """Deployments, StatefulSets and DaemonSets: how many they want, have ready, updated and
    available, as their ``get`` columns count them."""
    rows = []
    for obj in objs:
        if isinstance(obj, apps.Deployment):
            rows.append(WorkloadRow(obj.namespace, obj.name, obj.spec.replicas,
                                    obj.status.ready_replicas, obj.status.updated_replicas,
                                    obj.status.available_replicas))
        elif isinstance(obj, statefulsets.StatefulSet):
            rows.append(WorkloadRow(obj.namespace, obj.name, obj.spec.replicas,
                                    obj.status.ready_replicas, obj.status.updated_replicas,
                                    obj.status.available_replicas, "statefulset"))
        elif isinstance(obj, daemonsets.DaemonSet):
            status = obj.status
            rows.append(WorkloadRow(obj.namespace, obj.name, status.desired_number_scheduled,
                                    status.number_ready, status.updated_number_scheduled,
                                    status.number_available, "daemonset"))
    return sorted(rows, key=lambda w: (w.namespace, w.name, w.kind))


def build_status_view(cluster: face.Cluster, now: dt.datetime) -> StatusView:
    pods = render.of_kind(core.Pod, cluster.objects("pods"))
    nodes = render.of_kind(node.Node, cluster.objects("nodes"))
    pod_rows = [
        PodRow(p.namespace, p.name, p.spec.node_name or "", podstate.status_word(p),
               podstate.restarts_column(p), render.age(p.metadata.creation_timestamp, now))
        for p in sorted(pods, key=lambda p: (p.namespace, p.name))
    ]
    control = cluster.control()
    leading, standbys = control.names() if control else ("", [])
    return StatusView(
        leader=leading, standbys=standbys,
        cluster=cluster.name, repo=cluster.repo_path, now=now,
        nodes=node_rows(nodes, pods),
        workloads=workload_rows([*cluster.objects("deployments"),
                                 *cluster.objects("statefulsets"),
                                 *cluster.objects("daemonsets")]),
        pods=pod_rows, last_pass=cluster.last_pass(),
        causes=cluster.causes(), source=cluster.source_record(),
        daemon=cluster.daemon_pid(),
    )


# -- rendering ---------------------------------------------------------------------------------


def human_bytes(count: int) -> str:
    for suffix, shift in (("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if count >= 1 << shift:
            value = f"{count / (1 << shift):.1f}".removesuffix(".0")
            return value + suffix
    return str(count)


def _used(requested: str, capacity: str | None, fraction: float | None) -> Text:
    if capacity is None:
        return Text(f"{requested} / ?")
    style = "red" if fraction is not None and fraction > 0.9 else ""
    percent = f" ({fraction:.0%})" if fraction is not None else ""
    return Text(f"{requested} / {capacity}{percent}", style=style)


def _fraction(used: int, capacity: int | None) -> float | None:
    return used / capacity if capacity else None


def _table(title: str, *headers: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                  pad_edge=False, show_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


def _status_style(status: str) -> str:
    if status in ("Ready", "Running", "Completed"):
        return "green"
    if status in ("Pending", "ContainerCreating", "Terminating"):
        return "yellow"
    return "red"


def render_status(view: StatusView, console: Console) -> None:
    for part in status_parts(view):
        console.print(part)


def status_parts(view: StatusView) -> list[RenderableType]:
    """The status screen as renderables, for printing once or inside ``rich.live.Live``."""
    parts: list[RenderableType] = []
    title = Text.assemble(("Cluster ", "bold"), (view.cluster, "bold cyan"), f"  ({view.repo})")
    if view.daemon:
        title.append(f"  served by gitkube serve (process {view.daemon})", style="dim")
    parts.append(title)
    if view.leader:
        standing = ", ".join(view.standbys) or "none"
        parts.append(Text.assemble(("Control machines: ", "bold"), f"leader {view.leader}; "
                                   f"standing by: {standing}"))
    parts.append(Text())
    nodes = _table("Nodes", "NAME", "STATUS", "CPU requested", "MEMORY requested", "PODS")
    for n in view.nodes:
        cpu_cap = None if n.cpu_capacity_m is None else quantities.format_millis(n.cpu_capacity_m)
        mem_cap = None if n.memory_capacity is None else human_bytes(n.memory_capacity)
        nodes.add_row(
            n.name, Text(n.status, style=_status_style(n.status.split(",")[0])),
            _used(quantities.format_millis(n.cpu_requested_m), cpu_cap,
                  _fraction(n.cpu_requested_m, n.cpu_capacity_m)),
            _used(human_bytes(n.memory_requested), mem_cap,
                  _fraction(n.memory_requested, n.memory_capacity)),
            str(n.pods))
    parts += [nodes if view.nodes else Text("Nodes: none known yet.", style="dim"), Text()]
    if view.workloads:
        workloads = _table("Workloads", "KIND", "NAME", "READY", "UP-TO-DATE", "AVAILABLE")
        for w in view.workloads:
            style = "green" if w.ready >= w.desired else "yellow"
            workloads.add_row(w.kind, f"{w.namespace}/{w.name}",
                              Text(f"{w.ready}/{w.desired}", style), str(w.up_to_date),
                              str(w.available))
        parts += [workloads, Text()]
    pods = _table("Pods", "POD", "NODE", "STATUS", "RESTARTS", "AGE")
    for p in view.pods:
        pods.add_row(f"{p.namespace}/{p.name}", p.node or render.NONE,
                     Text(p.status, style=_status_style(p.status)), str(p.restarts), p.age)
    parts += [pods if view.pods else Text("Pods: none.", style="dim"), Text()]
    if view.causes:
        parts.append(Text("Not ready", style="bold"))
        parts += [Text(f"  {cause}", style="yellow") for cause in view.causes]
        parts.append(Text())
    parts += last_pass_lines(view.last_pass, view.now, view.source)
    return parts


def render_last_pass(record: face.PassRecord | None, now: dt.datetime, console: Console) -> None:
    for line in last_pass_lines(record, now):
        console.print(line)


def last_pass_lines(record: face.PassRecord | None, now: dt.datetime,
                    source: dict[str, Any] | None = None) -> list[Text]:
    if record is None:
        return [Text("Last pass: none yet. Run `gitkube apply` or `gitkube reconcile`.",
                     style="dim")]
    lines: list[Text] = []
    verdict = Text("ok", style="green") if record.ok else Text("failed", style="bold red")
    line = Text.assemble(("Last pass ", "bold"), render.ago(record.time, now), ", ",
                         verdict, f", revision {render.short_sha(record.source_revision)}",
                         f", took {record.duration_seconds:.1f}s")
    lines.append(line)
    attempted = str((source or {}).get("lastAttemptedRevision") or record.attempted_revision)
    applied = str((source or {}).get("lastAppliedRevision") or record.source_revision)
    if attempted and attempted != applied:
        refused = list((source or {}).get("lastAttemptedErrors") or [])
        why = refused[0] if refused else "its manifests have problems"
        lines.append(Text(f"  newest commit {render.short_sha(attempted)} was not applied: "
                          f"{why}", style="yellow"))
    if record.summary:
        lines.append(Text(f"  {record.summary}"))
    lines.extend(Text(f"  {error}", style="red") for error in record.errors)
    return lines
