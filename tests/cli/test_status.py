"""``gitkube status`` drawn from a StatusView, and the rows built from objects."""

from __future__ import annotations

from pathlib import Path

from gitkube.cli import status
from gitkube.reconcile import face
from tests.cli import objects as o


def test_node_rows_sum_the_requests_of_the_pods_bound_there() -> None:
    pods = [o.pod("web-1", cpu="250m", memory="128Mi"), o.pod("web-2", cpu="250m", memory="128Mi"),
            o.pod("done", phase="Succeeded", cpu="1"), o.pod("waiting", node=None, cpu="1")]
    rows = status.node_rows([o.node("node-2", ready=False), o.node("node-1")], pods)
    assert rows == [
        status.NodeRow("node-1", "Ready", 500, 2000, 256 * 2**20, 4 * 2**30, 2),
        status.NodeRow("node-2", "NotReady", 0, 2000, 0, 4 * 2**30, 0),
    ]


def test_status_shows_nodes_workloads_pods_and_the_last_pass() -> None:
    view = status.StatusView(
        cluster="demo", repo=Path("/srv/demo"), now=o.NOW,
        nodes=[status.NodeRow("node-1", "Ready", 500, 2000, 256 * 2**20, 4 * 2**30, 2),
               status.NodeRow("node-2", "NotReady", 1900, 2000, 0, None, 1)],
        workloads=[status.WorkloadRow("default", "web", desired=3, ready=1, up_to_date=3,
                                      available=1),
                   status.WorkloadRow("default", "db", desired=3, ready=3, up_to_date=2,
                                      available=3, kind="statefulset")],
        pods=[status.PodRow("default", "web-1", "node-1", "Running", 0, "5m"),
              status.PodRow("default", "web-2", "", "Pending", 0, "5s")],
        last_pass=face.PassRecord(
            time="2026-01-01T11:59:30Z", source_revision="a" * 40, attempted_revision="b" * 40,
            ok=False, errors=["node-2 could not be reached: connection refused."],
            summary="1 pod started on node-1", status_commit=None, duration_seconds=1.5),
    )
    out = o.console()
    status.render_status(view, out)
    assert o.text_of(out).splitlines() == [
        "Cluster demo  (/srv/demo)",
        "",
        "Nodes",
        "NAME     STATUS     CPU requested     MEMORY requested   PODS",
        "─────────────────────────────────────────────────────────────",
        "node-1   Ready      500m / 2 (25%)    256Mi / 4Gi (6%)   2",
        "node-2   NotReady   1900m / 2 (95%)   0 / ?              1",
        "",
        "Workloads",
        "KIND          NAME          READY   UP-TO-DATE   AVAILABLE",
        "──────────────────────────────────────────────────────────",
        "deployment    default/web   1/3     3            1",
        "statefulset   default/db    3/3     2            3",
        "",
        "Pods",
        "POD             NODE     STATUS    RESTARTS   AGE",
        "─────────────────────────────────────────────────",
        "default/web-1   node-1   Running   0          5m",
        "default/web-2   <none>   Pending   0          5s",
        "",
        "Last pass 30s ago, failed, revision aaaaaaaaaaaa, took 1.5s",
        "  newest commit bbbbbbbbbbbb was not applied: its manifests have problems",
        "  1 pod started on node-1",
        "  node-2 could not be reached: connection refused.",
    ]


def test_an_empty_cluster_says_so() -> None:
    out = o.console()
    status.render_status(status.StatusView("demo", Path("/srv/demo"), o.NOW), out)
    assert o.text_of(out).splitlines() == [
        "Cluster demo  (/srv/demo)",
        "",
        "Nodes: none known yet.",
        "",
        "Pods: none.",
        "",
        "Last pass: none yet. Run `gitkube apply` or `gitkube reconcile`.",
    ]
