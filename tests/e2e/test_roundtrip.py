"""The spine end to end, on two real nodes: sshd on 127.0.1.x, each with its own podman storage.

apply → 3 pods Running across both nodes → replicas 5 in Git → plan names the 2 new pods and
exits 2 → apply → 5 Running → plan exits 0 → a broken commit changes nothing → the Deployment
leaves Git → apply → no labelled container left on any node; `git log gitkube/status` has it all.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness import ClusterRepo, deployment, running

pytestmark = [pytest.mark.podman, pytest.mark.ssh]


def test_round_trip_on_two_ssh_nodes(tmp_path, two_nodes, busybox_image, node_containers):
    repo = ClusterRepo(tmp_path / "cluster", "e2e-round", [n.inventory for n in two_nodes])
    repo.write("web.yaml", deployment("web", 3, busybox_image))
    repo.commit("Add web with 3 replicas")

    repo.apply()
    pods = repo.pods()
    assert len(running(pods)) == 3, pods
    assert {p["spec"]["nodeName"] for p in pods} == {n.name for n in two_nodes}
    for pod in pods:
        assert pod["metadata"]["namespace"] == "default"
        assert pod["status"]["containerStatuses"][0]["ready"] is True
    assert len(node_containers("e2e-round")) == 3

    repo.write("web.yaml", deployment("web", 5, busybox_image))
    repo.commit("Scale web to 5")
    plan = repo.gitkube("plan", "--detailed-exitcode")
    assert plan.code == 2, plan.out + plan.err
    before = {p["metadata"]["name"] for p in pods}
    repo.apply()
    pods = repo.pods()
    assert len(running(pods)) == 5
    new = {p["metadata"]["name"] for p in pods} - before
    assert len(new) == 2
    for name in new:
        assert name in plan.out, f"the plan did not name new pod {name}:\n{plan.out}"
    assert len(node_containers("e2e-round")) == 5

    quiet = repo.gitkube("plan", "--detailed-exitcode")
    assert quiet.code == 0, quiet.out + quiet.err

    # A revision with one broken file is not used at all: the running pods stay as they were.
    repo.write("broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n")
    repo.write("web.yaml", deployment("web", 1, busybox_image))
    repo.commit("Scale down and break something")
    containers_before = node_containers("e2e-round")
    broken = repo.gitkube("apply", "--yes")
    assert broken.code == 1
    assert "broken.yaml:4" in broken.out + broken.err
    assert node_containers("e2e-round") == containers_before
    assert len(running(repo.pods())) == 5
    repo.remove("broken.yaml")
    repo.write("web.yaml", deployment("web", 5, busybox_image))
    repo.commit("Fix it")

    repo.remove("web.yaml")
    repo.commit("Remove web")
    repo.apply()
    assert repo.pods() == []
    assert node_containers("e2e-round") == {}

    log = repo.status_log()
    assert len(log) >= 3, log
    assert any("started" in line for line in log), log
    assert any("stopped" in line for line in log), log
