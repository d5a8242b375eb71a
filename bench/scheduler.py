"""Benchmark: one scheduling pass of many pending pods onto many nodes.

    .venv/bin/python bench/scheduler.py --nodes 5000 --pods 10000

Builds real ``Node`` and ``Pod`` objects (not timed), then times
``plan_scheduling`` end to end — snapshot to NodeInfo, every scheduling cycle,
and the BIND actions with their pod copies, with every default plugin on. The
pods come from a dozen ReplicaSets of different sizes (so kube-scheduler's default
spreading applies to those without constraints of their own); some have a
nodeSelector or a toleration, and most carry a placement rule: required
anti-affinity by hostname, DoNotSchedule spreading by zone, ScheduleAnyway
spreading by hostname, required and preferred pod affinity by zone, preferred
anti-affinity, preferred node affinity. A tenth of the nodes are tainted, a few
are cordoned, and a third hold one of two images (ImageLocality). The last line
is ``pods_per_second=<n> nodes=<n> pods=<n> peak_mib=<n>``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gitkube.api import apps, core, selectors
from gitkube.api import node as node_api
from gitkube.api.meta import KubeObject, ObjectMeta
from gitkube.clock import FakeClock, format_time
from gitkube.planning.actions import ActionKind
from gitkube.planning.snapshot import Snapshot, Stored
from gitkube.scheduler import plan_scheduling

#: (cpu, memory, nodeSelector, tolerates dedicated=batch, placement rules)
SHAPES: list[tuple[str, str, dict[str, str], bool, str]] = [
    ("100m", "128Mi", {}, False, "anti-host"),
    ("250m", "256Mi", {}, False, "spread-zone"),
    ("500m", "512Mi", {}, False, ""),
    ("1", "1Gi", {}, False, "prefer-ssd"),
    ("200m", "64Mi", {"disktype": "ssd"}, False, "spread-zone"),
    ("300m", "384Mi", {"zone": "b"}, False, ""),
    ("150m", "200Mi", {}, True, "near-cache"),
    ("50m", "32Mi", {}, False, "prefer-away"),
    ("750m", "2Gi", {"disktype": "ssd"}, True, ""),
    ("100m", "100Mi", {}, False, "spread-host-soft"),
    ("400m", "768Mi", {}, False, "required-affinity"),
    ("", "", {}, False, ""),  # best effort
]

_SELF = "{app}"
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"
RULES: dict[str, dict[str, Any]] = {
    # One replica per node (the classic HA anti-affinity).
    "anti-host": {"affinity": {"podAntiAffinity": {REQUIRED: [
        {"labelSelector": {"matchLabels": {"app": _SELF}},
         "topologyKey": "kubernetes.io/hostname"}]}}},
    # Even over zones, hard.
    "spread-zone": {"topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": {"matchLabels": {"app": _SELF}}}]},
    "spread-host-soft": {"topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
         "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": {"app": _SELF}}}]},
    "prefer-ssd": {"affinity": {"nodeAffinity": {PREFERRED: [
        {"weight": 50, "preference": {"matchExpressions": [
            {"key": "disktype", "operator": "In", "values": ["ssd"]}]}}]}}},
    # Near the cache pods (app-0), by zone, preferred.
    "near-cache": {"affinity": {"podAffinity": {PREFERRED: [
        {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "app-0"}},
                                            "topologyKey": "zone"}}]}}},
    "prefer-away": {"affinity": {"podAntiAffinity": {PREFERRED: [
        {"weight": 10, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": _SELF}},
                                           "topologyKey": "kubernetes.io/hostname"}}]}}},
    # In a zone that already runs app-1 (queued first: "app-1-..." sorts before "app-10-...").
    "required-affinity": {"affinity": {"podAffinity": {REQUIRED: [
        {"labelSelector": {"matchLabels": {"app": "app-1"}}, "topologyKey": "zone"}]}}},
}
IMAGES = {"registry.local/app:1": 300 * 2**20, "registry.local/cache:2": 800 * 2**20}


def make_nodes(count: int) -> list[node_api.Node]:
    nodes = []
    for i in range(count):
        labels = {"kubernetes.io/hostname": f"node-{i:05d}", "zone": "abc"[i % 3],
                  "topology.kubernetes.io/zone": "abc"[i % 3]}
        if i % 2 == 0:
            labels["disktype"] = "ssd"
        taints = []
        if i % 10 == 0:
            taints.append(node_api.Taint(key="dedicated", value="batch", effect="NoSchedule"))
        allocatable = {"cpu": "8" if i % 4 else "16", "memory": "32Gi", "pods": "110"}
        images = [node_api.ContainerImage(names=[name], size_bytes=size)
                  for j, (name, size) in enumerate(IMAGES.items()) if i % (3 + j) == 0]
        nodes.append(node_api.Node(
            metadata=ObjectMeta(name=f"node-{i:05d}", labels=labels),
            spec=node_api.NodeSpec(taints=taints, unschedulable=i % 500 == 7),
            status=node_api.NodeStatus(
                capacity=allocatable, allocatable=allocatable,
                conditions=[node_api.NodeCondition(type="Ready", status="True")],
                images=images,
            ),
        ))
    return nodes


def _rules(kind: str, app: str) -> dict[str, Any]:
    text = json.dumps(RULES.get(kind, {})).replace(_SELF, app)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def make_replica_sets() -> list[apps.ReplicaSet]:
    """One ReplicaSet per shape: its selector gives the pods kube-scheduler's default
    spreading (hostname and zone) when they have no constraints of their own."""
    return [
        apps.ReplicaSet(
            metadata=ObjectMeta(name=f"app-{k}", namespace="default", uid=f"rs-{k}"),
            spec=apps.ReplicaSetSpec(
                replicas=0, selector=selectors.LabelSelector(match_labels={"app": f"app-{k}"}),
                template=core.PodTemplateSpec(
                    metadata=core.PodTemplateMeta(labels={"app": f"app-{k}"}),
                    spec=core.PodSpec(containers=[core.Container(name="app", image="x:1")]),
                ),
            ),
        )
        for k in range(len(SHAPES))
    ]


def make_pods(count: int) -> list[core.Pod]:
    pods = []
    for i in range(count):
        k = i % len(SHAPES)
        cpu, memory, selector, tolerates, rules = SHAPES[k]
        app = f"app-{k}"
        requests = {"cpu": cpu, "memory": memory} if cpu else {}
        tolerations = (
            [core.Toleration(key="dedicated", operator="Equal", value="batch",
                             effect="NoSchedule")]
            if tolerates else []
        )
        pods.append(core.Pod.model_validate({
            "metadata": {
                "name": f"{app}-{i:06d}", "namespace": "default", "labels": {"app": app},
                "creationTimestamp": format_time(FakeClock().now()),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                     "name": app, "uid": f"rs-{k}", "controller": True}],
            },
            "spec": {
                "containers": [{
                    "name": "app",
                    "image": "registry.local/cache:2" if k == 0 else "registry.local/app:1",
                    "resources": {"requests": requests},
                }],
                "nodeSelector": selector,
                "tolerations": [t.to_dict() for t in tolerations],
                **_rules(rules, app),
            },
        }))
    return pods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    objects: list[KubeObject] = [
        *make_nodes(args.nodes), *make_replica_sets(), *make_pods(args.pods)]
    snapshot = Snapshot(revision=1, objects={o.key: Stored(o, 1) for o in objects})
    started, cpu_started = time.perf_counter(), time.process_time()
    actions = plan_scheduling(snapshot, FakeClock(), seed=args.seed)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    bound = sum(1 for a in actions if a.kind is ActionKind.BIND)
    print(f"bound={bound} unschedulable={len(actions) - bound} "
          f"seconds={elapsed:.3f} cpu_seconds={cpu:.3f}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"pods_per_second={round(args.pods / elapsed)} nodes={args.nodes} "
        f"pods={args.pods} peak_mib={peak_mib}"
    )


if __name__ == "__main__":
    main()
