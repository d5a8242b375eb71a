"""Observed → store: what the agents reported becomes Node and Pod status.

kubelet's status manager and the node lifecycle controller, in one planner. For a
node that answered this pass, the Node gets capacity (inventory.yaml's declared
values win over what the agent detected), nodeInfo and Ready=True; each Pod bound
to it gets phase, container statuses, IPs and the four pod conditions. For a node
that did not answer and whose last heartbeat is older than the grace period
(default 40 s), the Node becomes Ready=Unknown and its pods Unknown (reason
NodeLost, Ready=False). Pods whose tolerations of the node's NoExecute taints run
out (default 300 s) are evicted (``evictions``); an evicted pod leaves the store
once its node answers without it, after the node's converge removed it (fencing).
All of it compares stored timestamps with the clock, so cron-driven passes and a
daemon decide alike.

Every update is ``status_only`` and planned only when the status actually
differs: a status write every pass would make the status ledger commit every
pass. For the same reason the heartbeat is refreshed only every quarter grace
period (as kubelet renews its Lease every 10 s of a 40 s grace period).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gitkube import clock as clocks
from gitkube.api import core, quantities
from gitkube.api import node as node_api
from gitkube.controllers import evictions, podreports
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "nodes"
#: Annotation (set by ``desired``) keeping the capacity inventory.yaml declares.
DECLARED_CAPACITY = "gitkube.io/declared-capacity"
#: Optional per-node grace period; inventory's settings.nodeGracePeriodSeconds.
GRACE_ANNOTATION = "gitkube.io/node-grace-period-seconds"
DEFAULT_GRACE_SECONDS = 40.0
DEFAULT_MAX_PODS = "110"


def plan_observed(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    pods_on: dict[str, list[core.Pod]] = {}
    for pod in snapshot.of_kind(core.Pod):
        if pod.spec.node_name:
            pods_on.setdefault(pod.spec.node_name, []).append(pod)
    actions: list[Action] = []
    for node in snapshot.of_kind(node_api.Node):
        report = snapshot.observed.get(node.name)
        bound = pods_on.get(node.name, [])
        live = [pod for pod in bound if not pod.metadata.deletion_timestamp]
        if report is not None:
            status = reported_node_status(node, report, clock)
            reason = f"node/{node.name}: agent answered"
            reports = {p.get("uid", ""): p for p in report.get("pods") or []}
            pod_statuses = [(pod, podreports.pod_status(pod, reports.get(pod.metadata.uid or ""),
                                                        _host_ip(node), clock)) for pod in live]
            actions += finalize_deleted(snapshot, node, bound, reports)
        elif _stale(node, clock):
            status = unknown_node_status(node, clock)
            reason = f"node/{node.name}: no answer for longer than {_grace(node):g} s"
            pod_statuses = [(pod, podreports.not_ready(pod, node.name, clock)) for pod in live]
        else:
            status, pod_statuses = node.status, []
        # The taint manager decides on the node as it will be stored after this pass.
        actions += evictions.plan_evictions(
            snapshot, node.model_copy(update={"status": status}), live, clock)
        if status != node.status:
            actions.append(_status_update(snapshot, node, status, reason))
        for pod, pod_status in pod_statuses:
            if pod_status != pod.status:
                actions.append(_status_update(
                    snapshot, pod, pod_status,
                    f"{objects.describe(pod)}: {pod_status.phase} on node/{node.name}"))
    return actions


def finalize_deleted(snapshot: Snapshot, node: node_api.Node, bound: list[core.Pod],
                     reports: Mapping[str, Any]) -> list[Action]:
    """A deleted (evicted) pod goes from the store once its node answers without it.

    Until then it stays, marked deleted: the node's converge removes its containers
    first (fencing), and only the node's own report says they are gone. Like kubelet's
    final delete, this records what the node observed (``status_only``), so it is
    written by the status step of the same pass that converged the node.
    """
    actions = []
    for pod in bound:
        if pod.metadata.deletion_timestamp and (pod.metadata.uid or "") not in reports:
            stored = snapshot.get(pod.key)
            actions.append(Action(
                ActionKind.DELETE, ObjectRef.of(pod),
                f"{objects.describe(pod)}: gone from node/{node.name}; deletion complete",
                expected_revision=stored.mod_revision if stored else None,
                status_only=True, source=SOURCE,
            ))
    return actions


def _status_update(snapshot: Snapshot, obj: Any, status: Any, reason: str) -> Action:
    stored = snapshot.get(obj.key)
    return Action(
        ActionKind.UPDATE, ObjectRef.of(obj), reason,
        obj=obj.model_copy(update={"status": status}),
        expected_revision=stored.mod_revision if stored else None,
        status_only=True, source=SOURCE,
    )


def _grace(node: node_api.Node) -> float:
    try:
        return float(node.metadata.annotations.get(GRACE_ANNOTATION, DEFAULT_GRACE_SECONDS))
    except ValueError:
        return DEFAULT_GRACE_SECONDS


def _host_ip(node: node_api.Node) -> str:
    return next((a.address for a in node.status.addresses if a.type == "InternalIP"), "")


def _stale(node: node_api.Node, clock: clocks.Clock) -> bool:
    ready = node.status.condition("Ready")
    last = (ready.last_heartbeat_time if ready else None) or node.metadata.creation_timestamp
    age = objects.seconds_since(last, clock)
    return age is not None and age > _grace(node)


def declared_capacity(node: node_api.Node) -> dict[str, str]:
    text = node.metadata.annotations.get(DECLARED_CAPACITY)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def reported_node_status(
    node: node_api.Node, report: Mapping[str, Any], clock: clocks.Clock
) -> node_api.NodeStatus:
    facts: Mapping[str, Any] = report.get("facts") or {}
    capacity = {"pods": DEFAULT_MAX_PODS}
    if facts.get("cpus"):
        capacity["cpu"] = str(int(facts["cpus"]))
    if facts.get("memoryBytes"):
        capacity["memory"] = quantities.format_bytes(int(facts["memoryBytes"]))
    capacity.update(declared_capacity(node))
    runtime = facts.get("runtime") or ""
    info = node.status.node_info.model_copy(update={
        "kernel_version": facts.get("kernel") or None,
        "os_image": facts.get("os") or None,
        "operating_system": "linux",
        "container_runtime_version": (
            f"{runtime}://{facts.get('runtimeVersion', '')}" if runtime else None),
        "storage_root": facts.get("storageRoot") or node.status.node_info.storage_root,
    })
    conditions = _heartbeat(node, clock)
    update: dict[str, Any] = {
        "capacity": capacity, "allocatable": dict(capacity), "node_info": info,
        "conditions": conditions,
    }
    reported = [a for a in facts.get("addresses") or [] if isinstance(a, str)]
    update["addresses"] = node_api.with_reported_addresses(node, reported)
    if "images" in facts:  # the scheduler's ImageLocality score reads them
        sizes: Mapping[str, Any] = facts.get("imageSizes") or {}
        update["images"] = [
            node_api.ContainerImage(names=[name], size_bytes=sizes.get(name))
            for name in sorted(facts.get("images") or [])
        ]
    return node.status.model_copy(update=update)


def _heartbeat(node: node_api.Node, clock: clocks.Clock) -> list[node_api.NodeCondition]:
    now = objects.now_text(clock)
    previous = node.status.condition("Ready")
    others = [c for c in node.status.conditions if c.type != "Ready"]
    if previous is not None and previous.status == "True":
        age = objects.seconds_since(previous.last_heartbeat_time, clock)
        if age is not None and age < _grace(node) / 4:
            return [*others, previous]
        return [*others, previous.model_copy(update={"last_heartbeat_time": now})]
    return [*others, node_api.NodeCondition(
        type="Ready", status="True", reason="AgentReady",
        message="the gitkube agent answered", last_heartbeat_time=now, last_transition_time=now,
    )]


def unknown_node_status(node: node_api.Node, clock: clocks.Clock) -> node_api.NodeStatus:
    previous = node.status.condition("Ready")
    if previous is not None and previous.status == "Unknown":
        return node.status
    since = previous.last_heartbeat_time if previous else None
    now = objects.now_text(clock)
    ready = node_api.NodeCondition(
        type="Ready", status="Unknown", reason="NodeStatusUnknown",
        message=(f"the gitkube agent has not answered since {since}" if since
                 else "the gitkube agent has never answered"),
        last_heartbeat_time=since, last_transition_time=now,
    )
    others = [c for c in node.status.conditions if c.type != "Ready"]
    return node.status.model_copy(update={"conditions": [*others, ready]})
