"""Benchmark: one scheduling pass of many pending pods onto many nodes.

    .venv/bin/python bench/scheduler.py --nodes 5000 --pods 10000

Builds real ``Node`` and ``Pod`` objects (not timed), then times
``plan_scheduling`` end to end — snapshot to NodeInfo, every scheduling cycle,
and the BIND actions with their pod copies. The pods come from a dozen
"deployments" of different sizes, some with a nodeSelector or a toleration; a
tenth of the nodes are tainted and a few are cordoned. The last line is
``pods_per_second=<n> nodes=<n> pods=<n> peak_mib=<n>``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gitkube.api import core
from gitkube.api import node as node_api
from gitkube.api.meta import KubeObject, ObjectMeta
from gitkube.clock import FakeClock, format_time
from gitkube.controllers.actions import ActionKind
from gitkube.controllers.snapshot import Snapshot, Stored
from gitkube.scheduler import plan_scheduling

SHAPES = [  # (cpu, memory, nodeSelector, tolerates dedicated=batch)
    ("100m", "128Mi", {}, False),
    ("250m", "256Mi", {}, False),
    ("500m", "512Mi", {}, False),
    ("1", "1Gi", {}, False),
    ("200m", "64Mi", {"disktype": "ssd"}, False),
    ("300m", "384Mi", {"zone": "b"}, False),
    ("150m", "200Mi", {}, True),
    ("50m", "32Mi", {}, False),
    ("750m", "2Gi", {"disktype": "ssd"}, True),
    ("100m", "100Mi", {}, False),
    ("400m", "768Mi", {}, False),
    ("", "", {}, False),  # best effort
]


def make_nodes(count: int) -> list[node_api.Node]:
    nodes = []
    for i in range(count):
        labels = {"kubernetes.io/hostname": f"node-{i:05d}", "zone": "abc"[i % 3]}
        if i % 2 == 0:
            labels["disktype"] = "ssd"
        taints = []
        if i % 10 == 0:
            taints.append(node_api.Taint(key="dedicated", value="batch", effect="NoSchedule"))
        allocatable = {"cpu": "8" if i % 4 else "16", "memory": "32Gi", "pods": "110"}
        nodes.append(node_api.Node(
            metadata=ObjectMeta(name=f"node-{i:05d}", labels=labels),
            spec=node_api.NodeSpec(taints=taints, unschedulable=i % 500 == 7),
            status=node_api.NodeStatus(
                capacity=allocatable, allocatable=allocatable,
                conditions=[node_api.NodeCondition(type="Ready", status="True")],
            ),
        ))
    return nodes


def make_pods(count: int) -> list[core.Pod]:
    pods = []
    for i in range(count):
        cpu, memory, selector, tolerates = SHAPES[i % len(SHAPES)]
        requests = {"cpu": cpu, "memory": memory} if cpu else {}
        tolerations = (
            [core.Toleration(key="dedicated", operator="Equal", value="batch",
                             effect="NoSchedule")]
            if tolerates else []
        )
        pods.append(core.Pod(
            metadata=ObjectMeta(
                name=f"app-{i % len(SHAPES)}-{i:06d}", namespace="default",
                creation_timestamp=format_time(FakeClock().now()),
            ),
            spec=core.PodSpec(
                containers=[core.Container(
                    name="app", image="registry.local/app:1",
                    resources=core.ResourceRequirements(requests=requests),
                )],
                node_selector=selector, tolerations=tolerations,
            ),
        ))
    return pods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    objects: list[KubeObject] = [*make_nodes(args.nodes), *make_pods(args.pods)]
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
