"""Placement end to end: the scheduler's rules on two real SSH nodes, and on simulated ones.

Two sshd+podman nodes with different labels, one tainted: a Deployment with a
nodeSelector and hostname anti-affinity lands one pod per allowed node, a pod that
fits nowhere stays Pending with kube-scheduler's explanation in ``get pods`` and
``describe pod``. Then 60 simulated nodes declared by one inventory entry take a
spread Deployment through the real CLI, and a second pass changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitkube.api.inventory import Taint
from tests.e2e.harness import ClusterRepo, deployment, running

HOST = "kubernetes.io/hostname"


def _with_rules(manifest: dict[str, Any], **spec: Any) -> dict[str, Any]:
    manifest["spec"]["template"]["spec"].update(spec)
    return manifest


@pytest.mark.podman
@pytest.mark.ssh
def test_labels_taints_and_anti_affinity_on_two_ssh_nodes(tmp_path, two_nodes, busybox_image,
                                                          node_containers):
    first, second = two_nodes
    inventory = [
        first.inventory.model_copy(update={"labels": {"disktype": "ssd", "zone": "a"}}),
        second.inventory.model_copy(update={
            "labels": {"disktype": "ssd", "zone": "b"},
            "taints": [Taint(key="dedicated", value="batch", effect="NoSchedule")]}),
    ]
    repo = ClusterRepo(tmp_path / "cluster", "e2e-sched", inventory)
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOST}]}}
    web = _with_rules(deployment("web", 2, busybox_image), nodeSelector={"disktype": "ssd"},
                      affinity=anti,
                      tolerations=[{"key": "dedicated", "operator": "Equal", "value": "batch",
                                    "effect": "NoSchedule"}])
    batch = _with_rules(deployment("batch", 1, busybox_image), nodeSelector={"zone": "b"})
    repo.write("web.yaml", web)
    repo.write("batch.yaml", batch)
    repo.commit("web on both ssd nodes, batch wants the tainted zone")

    plan = repo.gitkube("plan")
    assert plan.code == 0, plan.err
    assert f"on {first.name}" in plan.out and f"on {second.name}" in plan.out, plan.out
    repo.apply()

    pods = repo.pods()
    web_pods = [p for p in pods if p["metadata"]["labels"]["app"] == "web"]
    assert len(running(web_pods)) == 2, web_pods
    # Anti-affinity by hostname: one per node, and the toleration lets one onto the taint.
    assert sorted(p["spec"]["nodeName"] for p in web_pods) == sorted([first.name, second.name])
    assert len(node_containers("e2e-sched")) == 2

    [stuck] = [p for p in pods if p["metadata"]["labels"]["app"] == "batch"]
    name = stuck["metadata"]["name"]
    assert stuck["status"]["phase"] == "Pending"
    assert "nodeName" not in stuck["spec"]
    why = ("0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
           "1 node(s) had untolerated taint {dedicated: batch}.")
    [scheduled] = [c for c in stuck["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert (scheduled["status"], scheduled["reason"], scheduled["message"]) == (
        "False", "Unschedulable", why)

    listing = repo.gitkube("get", "pods")
    assert listing.code == 0, listing.err
    assert why in listing.out, listing.out
    described = repo.gitkube("describe", "pod", name)
    assert described.code == 0, described.err
    assert why in described.out
    assert "untolerated taint {dedicated: batch}" in described.out

    placed = repo.gitkube("describe", "pod", web_pods[0]["metadata"]["name"])
    assert "Successfully assigned default/" in placed.out, placed.out
    assert "didn't match the requested node name" not in placed.out


SIM_INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: e2e-sim
nodes:
  - name: sim-{{i:02d}}
    count: 60
    transport: sim
    stateDir: {state}/{{i}}
    labels: {{topology.kubernetes.io/zone: "zone-{{i % 3}}"}}
    capacity: {{cpu: "4", memory: 8Gi, pods: "110"}}
"""


def test_sixty_simulated_nodes_take_a_spread_deployment(tmp_path):
    repo = ClusterRepo(tmp_path / "cluster", "e2e-sim", [])
    repo.write("inventory.yaml", SIM_INVENTORY.format(state=tmp_path / "sim"))
    spread = [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
               "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "web"}}}]
    repo.write("web.yaml", _with_rules(deployment("web", 90, "registry.local/web:1"),
                                       topologySpreadConstraints=spread))
    repo.commit("60 simulated nodes, 90 pods spread over 3 zones")

    repo.apply()
    pods = repo.pods()
    assert len(running(pods)) == 90
    nodes = json.loads(repo.gitkube("get", "nodes", "-o", "json").out)["items"]
    assert len(nodes) == 60
    zone = {n["metadata"]["name"]: n["metadata"]["labels"]["topology.kubernetes.io/zone"]
            for n in nodes}
    per_zone = [sum(1 for p in pods if zone[p["spec"]["nodeName"]] == z)
                for z in ("zone-0", "zone-1", "zone-2")]
    assert per_zone == [30, 30, 30]
    # The simulated containers outlive the CLI process: the next pass has nothing to do.
    quiet = repo.gitkube("plan", "--detailed-exitcode")
    assert quiet.code == 0, quiet.out + quiet.err


def test_inventory_count_needs_the_sim_transport(tmp_path):
    repo = ClusterRepo(tmp_path / "cluster", "e2e-count", [])
    repo.write("inventory.yaml", SIM_INVENTORY.format(state=tmp_path / "sim").replace(
        "transport: sim", "transport: ssh"))
    repo.commit("count on SSH nodes")
    done = repo.gitkube("plan")
    assert done.code != 0
    assert "`count` is for simulated nodes" in done.out + done.err
