"""Root cause: the one line that says why something is not ready.

Read side of the pipeline, used by ``gitkube status`` and ``describe``. When a
Deployment is at 1/3, Kubernetes shows a cascade — Deployment not available,
ReplicaSet not ready, pods not ready, containers waiting — and leaves the
reader to walk it down. This module walks it down and names the first cause,
in this order: the node (unreachable, not ready), scheduling (no node fits),
the container (waiting with a reason, exited with a code), the probe (running
but not ready), then whatever error the pod's status carries.

Pure: objects as ``to_dict()`` documents (camelCase) in, sentences out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Doc = Mapping[str, Any]

#: Lower ranks are causes further up the chain; a deployment names its lowest-ranked pod.
_NODE, _SCHEDULING, _CONTAINER, _PROBE, _OTHER = range(5)


def _condition(obj: Doc, kind: str) -> Doc | None:
    for condition in obj.get("status", {}).get("conditions", []) or []:
        if isinstance(condition, Mapping) and condition.get("type") == kind:
            found: Doc = condition
            return found
    return None


def pod_ready(pod: Doc) -> bool:
    ready = _condition(pod, "Ready")
    if ready is not None:
        return bool(ready.get("status") == "True")
    return pod.get("status", {}).get("phase") in ("Running", "Succeeded")


def node_problem(node: Doc | None, name: str) -> str | None:
    if node is None:
        return f"node {name} is not in the inventory any more"
    ready = _condition(node, "Ready")
    if ready is None or ready.get("status") == "True":
        return None
    said = ready.get("message") or ready.get("reason") or ""
    state = "unreachable" if ready.get("status") == "Unknown" else "not ready"
    return f"node {name} is {state}" + (f" ({said})" if said else "")


def pod_cause(pod: Doc, nodes: Mapping[str, Doc]) -> tuple[int, str] | None:
    """(rank, sentence) for a pod that is not ready; None when it is ready or finished."""
    status = pod.get("status", {})
    phase = status.get("phase", "Pending")
    if phase == "Succeeded" or pod_ready(pod):
        return None
    node = pod.get("spec", {}).get("nodeName")
    if node:
        problem = node_problem(nodes.get(node), node)
        if problem:
            return _NODE, problem
    else:
        scheduled = _condition(pod, "PodScheduled")
        said = (scheduled or {}).get("message") or "waiting for the scheduler's next pass"
        return _SCHEDULING, f"not scheduled: {said}"
    for container in status.get("containerStatuses", []) or []:
        name = container.get("name", "?")
        state = container.get("state", {}) or {}
        waiting = state.get("waiting")
        terminated = state.get("terminated")
        if waiting and waiting.get("reason") not in (None, "", "ContainerCreating"):
            message = f": {waiting['message']}" if waiting.get("message") else ""
            return _CONTAINER, f"container {name} is waiting: {waiting['reason']}{message}"
        if terminated and terminated.get("exitCode", 0) != 0:
            reason = f" ({terminated['reason']})" if terminated.get("reason") else ""
            return _CONTAINER, (f"container {name} exited with code "
                                f"{terminated.get('exitCode')}{reason}")
        if "running" in state and not container.get("ready"):
            ready = _condition(pod, "Ready") or _condition(pod, "ContainersReady") or {}
            said = ready.get("message") or "its readiness probe has not passed yet"
            return _PROBE, f"container {name} is running but not ready: {said}"
    if status.get("message") or status.get("reason"):
        return _OTHER, str(status.get("message") or status.get("reason"))
    if phase == "Pending":
        return _OTHER, f"pending on {node}: the containers are being created"
    return _OTHER, f"phase {phase}"


def deployment_cause(deployment: Doc, pods: Iterable[Doc],
                     nodes: Mapping[str, Doc]) -> str | None:
    """``1/3 ready: pod web-abc: node node-2 is unreachable``; None when all are ready."""
    spec = deployment.get("spec", {})
    want = int(spec.get("replicas", 1))
    ready = int(deployment.get("status", {}).get("readyReplicas", 0) or 0)
    if ready >= want:
        return None
    selector = spec.get("selector", {}).get("matchLabels", {}) or {}
    namespace = deployment.get("metadata", {}).get("namespace", "default")
    mine = [p for p in pods if p.get("metadata", {}).get("namespace", "default") == namespace
            and selector and all(p.get("metadata", {}).get("labels", {}).get(k) == v
                                 for k, v in selector.items())
            and not p.get("metadata", {}).get("deletionTimestamp")]
    causes = []
    for pod in mine:
        found = pod_cause(pod, nodes)
        if found is not None:
            causes.append((found[0], pod["metadata"]["name"], found[1]))
    head = f"{ready}/{want} ready"
    if not causes:
        if len(mine) < want:
            return f"{head}: {want - len(mine)} pod(s) not created yet; the next pass creates them"
        return f"{head}: the pods are ready, the status catches up on the next pass"
    _rank, pod, sentence = min(causes)
    more = f" (and {len(causes) - 1} more pod(s))" if len(causes) > 1 else ""
    return f"{head}: pod {pod}: {sentence}{more}"


def causes(deployments: Iterable[Doc], pods: Iterable[Doc],
           nodes: Iterable[Doc]) -> list[str]:
    """One line per workload that is not ready, then per lone pod (no controller)."""
    node_map = {n.get("metadata", {}).get("name", ""): n for n in nodes}
    pod_list = list(pods)
    lines = []
    for deployment in deployments:
        cause = deployment_cause(deployment, pod_list, node_map)
        if cause:
            meta = deployment.get("metadata", {})
            lines.append(f"{meta.get('namespace', 'default')}/{meta.get('name')}: {cause}")
    for pod in pod_list:
        meta = pod.get("metadata", {})
        if meta.get("ownerReferences") or meta.get("deletionTimestamp"):
            continue
        found = pod_cause(pod, node_map)
        if found is not None:
            lines.append(f"pod {meta.get('namespace', 'default')}/{meta.get('name')}: "
                         f"{found[1]}")
    return lines
