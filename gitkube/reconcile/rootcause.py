"""Root cause: the one line that says why something is not ready.

Read side of the pipeline, used by ``gitkube status`` and ``describe``. When a
Deployment is at 1/3, Kubernetes shows a cascade — Deployment not available,
ReplicaSet not ready, pods not ready, containers waiting — and leaves the
reader to walk it down (a StatefulSet or DaemonSet, the same without the ReplicaSet).
This module walks it down and names the first cause,
in this order: the node (unreachable, not ready), scheduling (no node fits),
the container (waiting with a reason, exited with a code), the probe (running
but not ready), then whatever error the pod's status carries.

Pure: typed objects in, sentences out; what a pod's or node's status means comes from
``api/podstate`` and ``api/nodestate``, which the views share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gitkube.api import apps, core, daemonsets, nodestate, podstate, statefulsets
from gitkube.api import node as nodes

#: Lower ranks are causes further up the chain; a workload names its lowest-ranked pod.
_NODE, _SCHEDULING, _CONTAINER, _PROBE, _OTHER = range(5)


def _container_cause(pod: core.Pod, container: core.ContainerStatus) -> tuple[int, str] | None:
    name, waiting, terminated = container.name, container.state.waiting, container.state.terminated
    if waiting is not None and waiting.reason not in (None, "", "ContainerCreating"):
        message = f": {waiting.message}" if waiting.message else ""
        return _CONTAINER, f"container {name} is waiting: {waiting.reason}{message}"
    if terminated is not None and terminated.exit_code != 0:
        reason = f" ({terminated.reason})" if terminated.reason else ""
        return _CONTAINER, f"container {name} exited with code {terminated.exit_code}{reason}"
    if container.state.running is not None and not container.ready:
        ready = pod.status.condition("Ready") or pod.status.condition("ContainersReady")
        said = (ready.message if ready else None) or "its readiness probe has not passed yet"
        return _PROBE, f"container {name} is running but not ready: {said}"
    return None


def pod_cause(pod: core.Pod, nodes_by_name: Mapping[str, nodes.Node]) -> tuple[int, str] | None:
    """(rank, sentence) for a pod that is not ready; None when it is ready or finished."""
    status = pod.status
    if status.phase == "Succeeded" or podstate.is_ready(pod, by_phase=True):
        return None
    node = pod.spec.node_name
    if not node:
        scheduled = status.condition("PodScheduled")
        said = (scheduled.message if scheduled else None) or "waiting for the scheduler's next pass"
        return _SCHEDULING, f"not scheduled: {said}"
    problem = nodestate.problem(nodes_by_name.get(node), node)
    if problem:
        return _NODE, problem
    for container in status.container_statuses:
        found = _container_cause(pod, container)
        if found is not None:
            return found
    if status.message or status.reason:
        return _OTHER, str(status.message or status.reason)
    if status.phase == "Pending":
        return _OTHER, f"pending on {node}: the containers are being created"
    return _OTHER, f"phase {status.phase}"


Workload = apps.Deployment | statefulsets.StatefulSet | daemonsets.DaemonSet


def _counts(workload: Workload) -> tuple[int, int]:
    """(wanted, ready) as the workload's READY column shows them."""
    if isinstance(workload, daemonsets.DaemonSet):
        return workload.status.desired_number_scheduled, workload.status.number_ready
    return workload.spec.replicas, workload.status.ready_replicas


def _selected(workload: Workload, pods: Iterable[core.Pod]) -> list[core.Pod]:
    """The workload's live pods, by its matchLabels."""
    selector = workload.spec.selector.match_labels
    return [p for p in pods if p.namespace == workload.namespace and selector
            and all(p.metadata.labels.get(k) == v for k, v in selector.items())
            and not p.metadata.deletion_timestamp]


def workload_cause(workload: Workload, pods: Iterable[core.Pod],
                   nodes_by_name: Mapping[str, nodes.Node]) -> str | None:
    """``1/3 ready: pod web-abc: node node-2 is unreachable`` for a Deployment, StatefulSet
    or DaemonSet; None when all are ready."""
    want, ready = _counts(workload)
    if ready >= want:
        return None
    mine = _selected(workload, pods)
    causes = []
    for pod in mine:
        found = pod_cause(pod, nodes_by_name)
        if found is not None:
            causes.append((found[0], pod.name, found[1]))
    head = f"{ready}/{want} ready"
    if not causes:
        if len(mine) < want:
            return f"{head}: {want - len(mine)} pod(s) not created yet; the next pass creates them"
        return f"{head}: the pods are ready, the status catches up on the next pass"
    _rank, name, sentence = min(causes)
    more = f" (and {len(causes) - 1} more pod(s))" if len(causes) > 1 else ""
    return f"{head}: pod {name}: {sentence}{more}"


def causes(workloads: Iterable[Workload], pods: Iterable[core.Pod],
           nodes_list: Iterable[nodes.Node]) -> list[str]:
    """One line per workload that is not ready (``default/web: ...`` for a Deployment,
    ``default/db (statefulset): ...``), then per lone pod (no controller)."""
    node_map = {n.name: n for n in nodes_list}
    pod_list = list(pods)
    lines = []
    for workload in workloads:
        cause = workload_cause(workload, pod_list, node_map)
        kind = "" if isinstance(workload, apps.Deployment) else f" ({workload.kind.lower()})"
        if cause:
            lines.append(f"{workload.namespace}/{workload.name}{kind}: {cause}")
    for pod in pod_list:
        if pod.metadata.owner_references or pod.metadata.deletion_timestamp:
            continue
        found = pod_cause(pod, node_map)
        if found is not None:
            lines.append(f"pod {pod.namespace}/{pod.name}: {found[1]}")
    return lines
