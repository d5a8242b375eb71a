"""StatefulSets with their volumes, and DaemonSets following the inventory, on real nodes.

A StatefulSet of 3 (a claim each, local-path volumes on the nodes) comes up, each pod
writing its name into its own volume; it is rolled to a new image and one pod is deleted:
every ordinal finds its own data again, on the node its volume is on; the data goes only
when the set does (its retention policy deletes the claims). A DaemonSet runs a
pod on the one node of the inventory, on the second node in the pass that first sees it,
and leaves it when the node goes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ClusterRepo, Run
from tests.fixtures import podman as podman_fixtures
from tests.fixtures.nodes import LoopbackNode

pytestmark = [pytest.mark.podman, pytest.mark.ssh]


def statefulset(image: str) -> dict[str, Any]:
    script = 'hostname >> /data/log; exec sleep 3600'
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
        "spec": {
            # All at once, and all rolled at once: the order is the planner tests' business
            # (tests/workloads/test_statefulsets.py), what lives through it is this test's.
            "replicas": 3, "serviceName": "web", "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 3}},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete"},
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                "terminationGracePeriodSeconds": 0,
                "containers": [{
                    "name": "main", "image": image, "command": ["sh", "-c", script],
                    "resources": {"requests": {"cpu": "10m", "memory": "8Mi"}},
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}}}],
        },
    }


def _get(repo: ClusterRepo, *what: str) -> Any:
    done = repo.gitkube("get", *what, "-o", "json")
    assert done.code == 0, done.err
    return json.loads(done.out)


def _apply_until(repo: ClusterRepo, check: Callable[[], bool], what: str, passes: int = 4
                 ) -> None:
    """Apply until ``check`` holds (a pod replaced takes two passes: it goes, then comes)."""
    last: Run | None = None
    for _ in range(passes):
        last = repo.apply()
        if check():
            return
    raise AssertionError(f"{what} did not happen in {passes} passes:\n{last.out if last else ''}")


def _pods(repo: ClusterRepo) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in _get(repo, "pods")["items"]}


def _running(repo: ClusterRepo, image: str) -> bool:
    pods = _pods(repo)
    return sorted(pods) == ["web-0", "web-1", "web-2"] and all(
        p["status"].get("phase") == "Running" and p["spec"]["containers"][0]["image"] == image
        and not p["metadata"].get("deletionTimestamp") for p in pods.values())


def _volumes(repo: ClusterRepo) -> dict[str, tuple[str, Path]]:
    """Claim name → (its node, its directory there) from ``gitkube get pv``."""
    out = {}
    for pv in _get(repo, "pv")["items"]:
        node = pv["metadata"]["annotations"]["local.path.provisioner/selected-node"]
        out[pv["spec"]["claimRef"]["name"]] = (node, Path(pv["spec"]["hostPath"]["path"]))
    return out


@pytest.fixture
def second_image(busybox_image: str) -> Iterator[str]:
    """The test image under a tag of this session's own, so the StatefulSet can roll to it."""
    tag = f"localhost/gitkube-test/busybox:sts{os.getpid()}"
    podman_fixtures.podman("tag", busybox_image, tag)
    yield tag
    podman_fixtures.podman("untag", busybox_image, tag, check=False)


@pytest.mark.timeout(600)  # some thirty passes on two real nodes: minutes on a loaded machine
def test_every_ordinal_keeps_its_data_through_a_roll_and_a_deleted_pod(
    tmp_path: Path, two_nodes: list[LoopbackNode], busybox_image: str, second_image: str,
) -> None:
    repo = ClusterRepo(tmp_path / "cluster", "e2e-sts", [n.inventory for n in two_nodes])
    repo.write("web.yaml", statefulset(busybox_image))
    repo.commit("web: a StatefulSet of 3 with a volume each")
    _apply_until(repo, lambda: _running(repo, busybox_image), "3 pods Running")

    claims = {c["metadata"]["name"]: c for c in _get(repo, "pvc")["items"]}
    assert sorted(claims) == ["data-web-0", "data-web-1", "data-web-2"]
    assert {c["status"]["phase"] for c in claims.values()} == {"Bound"}
    volumes, pods = _volumes(repo), _pods(repo)
    for ordinal in range(3):
        node, path = volumes[f"data-web-{ordinal}"]
        assert (path / "log").read_text().split() == [f"web-{ordinal}"]
        assert pods[f"web-{ordinal}"]["spec"]["nodeName"] == node

    repo.write("web.yaml", statefulset(second_image))
    repo.commit("web: roll to the second image")
    _apply_until(repo, lambda: _running(repo, second_image), "the roll")
    sts = _get(repo, "statefulsets", "web")
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]

    # One pod deleted: its successor of the same name goes where its volume is.
    before = _pods(repo)["web-1"]["metadata"]["uid"]
    deleted = repo.gitkube("delete", "pod", "web-1")
    assert deleted.code == 0, deleted.err
    _apply_until(repo, lambda: _running(repo, second_image)
                 and _pods(repo)["web-1"]["metadata"]["uid"] != before, "web-1 made again")

    assert _volumes(repo) == volumes, "no volume was made again"
    pods = _pods(repo)
    for ordinal in range(3):
        node, path = volumes[f"data-web-{ordinal}"]
        lines = (path / "log").read_text().split()
        assert set(lines) == {f"web-{ordinal}"}, lines  # its own data, no one else's
        assert len(lines) == (3 if ordinal == 1 else 2)
        assert pods[f"web-{ordinal}"]["spec"]["nodeName"] == node

    # whenDeleted: Delete, and the class's reclaimPolicy Delete: the data goes with the set.
    repo.remove("web.yaml")
    repo.commit("web leaves")
    _apply_until(repo, lambda: not _get(repo, "pv")["items"], "the volumes' removal")
    assert not _get(repo, "pvc")["items"]
    assert not any(path.exists() for _, path in volumes.values())


def daemonset(image: str, host_dir: Path) -> dict[str, Any]:
    script = 'echo "$NODE" >> /host/seen; exec sleep 3600'
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
                "terminationGracePeriodSeconds": 0,
                "containers": [{
                    "name": "main", "image": image, "command": ["sh", "-c", script],
                    "env": [{"name": "NODE",
                             "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                    "volumeMounts": [{"name": "host", "mountPath": "/host"}]}],
                "volumes": [{"name": "host",
                             "hostPath": {"path": str(host_dir), "type": "Directory"}}]}},
        },
    }


def _daemon_pods(repo: ClusterRepo) -> dict[str, str]:
    """Node → phase of the DaemonSet's pods."""
    return {p["spec"].get("nodeName", ""): p["status"].get("phase", "")
            for p in _get(repo, "pods")["items"] if p["metadata"]["name"].startswith("agent-")}


def test_a_daemonset_follows_the_nodes_of_the_inventory(
    tmp_path: Path, two_nodes: list[LoopbackNode], busybox_image: str,
) -> None:
    first, second = two_nodes
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    repo = ClusterRepo(tmp_path / "cluster", "e2e-ds", [first.inventory])
    repo.write("agent.yaml", daemonset(busybox_image, host_dir))
    repo.commit("agent on every node")
    repo.apply()
    assert _daemon_pods(repo) == {first.name: "Running"}

    repo.nodes = [first.inventory, second.inventory]
    repo.write_inventory()
    repo.commit("a second node")
    repo.apply()  # the pass that first sees the node gives it its pod
    assert _daemon_pods(repo) == {first.name: "Running", second.name: "Running"}
    assert sorted((host_dir / "seen").read_text().split()) == sorted([first.name, second.name])
    table = repo.gitkube("get", "ds")
    assert table.out.split("\n")[1].split()[:6] == ["agent", "2", "2", "2", "2", "2"]

    repo.nodes = [first.inventory]
    repo.write_inventory()
    repo.commit("the second node leaves")
    repo.apply()
    assert _daemon_pods(repo) == {first.name: "Running"}
