"""``gitkube get``: kubectl's tables, STATUS words, ages, and documents with secrets masked."""

from __future__ import annotations

import json

import pytest

from gitkube import errors
from gitkube.api import accounts, podstate
from gitkube.api.meta import ObjectMeta
from gitkube.cli import render, tables
from tests.cli import objects as o


def test_pods_table_reads_like_kubectl() -> None:
    pods = [
        o.pod("web-6f9c-x2bkd", statuses=[o.running(restarts=1)]),
        o.pod("web-6f9c-q7k2m", node=None, phase="Pending", ip=None, statuses=[],
              created="2026-01-01T11:59:55Z"),
        o.pod("db-0", statuses=[o.waiting("CrashLoopBackOff", restarts=5)],
              created="2025-12-28T08:00:00Z"),
    ]
    assert tables.render_table("pods", pods, o.NOW).splitlines() == [
        "NAME             READY   STATUS             RESTARTS   AGE",
        "db-0             0/1     CrashLoopBackOff   5          4d4h",
        "web-6f9c-q7k2m   0/1     Pending            0          5s",
        "web-6f9c-x2bkd   1/1     Running            1          5m",
    ]


def test_wide_pods_table_adds_ip_and_node_and_all_namespaces_adds_namespace() -> None:
    pods = [o.pod("web-1", statuses=[o.running()]),
            o.pod("api-1", node=None, phase="Pending", ip=None, namespace="shop")]
    assert tables.render_table("pods", pods, o.NOW, wide=True,
                               all_namespaces=True).splitlines() == [
        "NAMESPACE   NAME    READY   STATUS    RESTARTS   AGE   IP          NODE",
        "default     web-1   1/1     Running   0          5m    10.88.0.5   node-1",
        "shop        api-1   0/1     Pending   0          5m    <none>      <none>",
    ]


def test_nodes_table_shows_readiness_cordons_roles_and_wide_capacity_and_runtime() -> None:
    nodes = [o.node("node-1"), o.node("node-2", ready=False, unschedulable=True, cpu="500m",
                                      runtime="containerd://1.6.20~ds1")]
    assert tables.render_table("nodes", nodes, o.NOW, wide=True).splitlines() == [
        "NAME     STATUS                        ROLES    AGE   VERSION   INTERNAL-IP   CPU    "
        "MEMORY   CONTAINER-RUNTIME",
        "node-1   Ready                         worker   4d    0.1.0     127.0.0.2     2      "
        "4Gi      podman://4.3.1",
        "node-2   NotReady,SchedulingDisabled   worker   4d    0.1.0     127.0.0.2     500m   "
        "4Gi      containerd://1.6.20~ds1",
    ]


@pytest.mark.parametrize(("pod", "status"), [
    (o.pod("p", statuses=[o.running()]), "Running"),
    (o.pod("p", node=None, phase="Pending", statuses=[]), "Pending"),
    (o.pod("p", phase="Pending", statuses=[o.waiting("ContainerCreating")]), "ContainerCreating"),
    (o.pod("p", statuses=[o.waiting("CrashLoopBackOff", restarts=3)]), "CrashLoopBackOff"),
    (o.pod("p", phase="Succeeded", statuses=[o.terminated(0)]), "Completed"),
    (o.pod("p", phase="Failed", statuses=[o.terminated(1)]), "Error"),
    (o.pod("p", phase="Failed", statuses=[o.terminated(137, "OOMKilled")]), "OOMKilled"),
], ids=["running", "pending", "creating", "crashloop", "completed", "error", "oomkilled"])
def test_pod_status_word(pod: object, status: str) -> None:
    assert podstate.status_word(pod) == status


def test_a_pod_being_deleted_is_terminating() -> None:
    pod = o.pod("p", statuses=[o.running()])
    pod.metadata.deletion_timestamp = "2026-01-01T11:59:00Z"
    assert podstate.status_word(pod) == "Terminating"


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"), (0, "0s"), (5, "5s"), (119, "119s"), (180, "3m"), (200, "3m20s"),
    (45 * 60, "45m"), (150 * 60, "150m"), (3 * 3600, "3h"), (5 * 3600 + 1800, "5h30m"),
    (20 * 3600, "20h"), (4 * 86400 + 6 * 3600, "4d6h"), (30 * 86400, "30d"),
    (3 * 365 * 86400 + 10 * 86400, "3y10d"), (9 * 365 * 86400, "9y"),
], ids=lambda v: str(v))
def test_ages_are_kubectls(seconds: float, text: str) -> None:
    assert render.human_duration(seconds) == text


def test_json_output_is_a_v1_list_of_kubernetes_objects() -> None:
    pod = o.pod("web-1", statuses=[o.running(restarts=2)])
    doc = json.loads(tables.render_json(tables.document([pod], single=False)))
    assert (doc["apiVersion"], doc["kind"]) == ("v1", "List")
    [item] = doc["items"]
    assert item["metadata"]["name"] == "web-1"
    assert item["metadata"]["namespace"] == "default"
    assert item["spec"]["nodeName"] == "node-1"
    assert item["status"]["phase"] == "Running"
    assert item["status"]["containerStatuses"][0]["restartCount"] == 2


def test_json_output_of_one_named_object_is_the_object() -> None:
    doc = tables.document([o.pod("web-1")], single=True)
    assert (doc["kind"], doc["metadata"]["name"]) == ("Pod", "web-1")


SECRET = "aHVudGVyMg=="  # base64 of "hunter2"


def test_secret_values_never_appear_in_the_table_json_or_yaml() -> None:
    secret = o.secret("db-password", {"password": SECRET})
    table = tables.render_table("secrets", [secret], o.NOW)
    as_json = tables.render_json(tables.document([secret], single=False))
    as_yaml = tables.render_yaml(tables.document([secret], single=True))
    assert table.splitlines() == ["NAME          TYPE     DATA   AGE",
                                  "db-password   Opaque   1      120m"]
    for text in (table, as_json, as_yaml):
        assert SECRET not in text and "hunter2" not in text
    assert json.loads(as_json)["items"][0]["data"] == {"password": "<hidden: 7 bytes>"}
    assert "password: '<hidden: 7 bytes>'" in as_yaml


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(errors.ConfigError, match=r'kind "ingress".*pods'):
        tables.resolve_kind("ingress")


@pytest.mark.parametrize("word", ["po", "pod", "pods", "PODS"])
def test_kind_aliases(word: str) -> None:
    assert tables.resolve_kind(word) == "pods"


@pytest.mark.parametrize(("word", "plural"), [("svc", "services"), ("service", "services"),
                                              ("endpointslice", "endpointslices")])
def test_service_kinds(word: str, plural: str) -> None:
    assert tables.resolve_kind(word) == plural


def test_pods_the_scheduler_could_not_place_say_why_under_the_table() -> None:
    why = "0/2 nodes are available: 2 Insufficient cpu."
    pods = [
        o.pod("web-1", statuses=[o.running()]),
        o.pod("web-2", node=None, phase="Pending", ip=None, conditions=[
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": why}]),
    ]
    lines = tables.render_table("pods", pods, o.NOW).splitlines()
    assert lines[-1] == f"web-2 is not scheduled: {why}"
    assert lines[2].split()[:3] == ["web-2", "0/1", "Pending"]


def test_service_accounts_table_reads_like_kubectl() -> None:
    account = accounts.ServiceAccount(metadata=ObjectMeta(
        name="robot", namespace="shop", creation_timestamp="2026-01-01T11:00:00Z"))
    assert tables.resolve_kind("sa") == tables.resolve_kind("serviceaccount") == "serviceaccounts"
    assert tables.render_table("serviceaccounts", [account], o.NOW).splitlines() == [
        "NAME    SECRETS   AGE", "robot   0         60m"]
