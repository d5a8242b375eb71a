"""A cluster on a three-member etcd loses members: one gone, work goes on; two gone, passes
stop with a clear error and go on once a quorum is back (the members are killed with SIGKILL)."""

from __future__ import annotations

import signal
from pathlib import Path

from gitkube.api.inventory import InventoryNode, RuntimeSettings
from tests.e2e.harness import ClusterRepo, deployment, running
from tests.fixtures import etcd as etcd_fixtures


def test_passes_survive_one_lost_member_and_wait_for_a_quorum(
        tmp_path: Path, etcd_cluster: etcd_fixtures.Cluster) -> None:
    etcd_cluster.wipe()
    node = InventoryNode(name="here", transport="local", runtime=RuntimeSettings(kind="sim"),
                         state_dir=str(tmp_path / "node"))
    repo = ClusterRepo(tmp_path / "cluster", "quorum", [node])
    repo.git("config", "gitkube.store", etcd_cluster.url)
    first, second, third = etcd_cluster.members
    try:
        repo.write("web.yaml", deployment("web", 2, "busybox"))
        repo.commit("web")
        assert repo.gitkube("reconcile").code == 0

        first.stop(signal.SIGKILL)
        repo.write("web.yaml", deployment("web", 3, "busybox"))
        repo.commit("web: 3")
        one_down = repo.gitkube("reconcile")
        assert one_down.code == 0, one_down.err
        assert len(running(repo.pods())) == 3

        second.stop(signal.SIGKILL)
        repo.write("web.yaml", deployment("web", 4, "busybox"))
        repo.commit("web: 4")
        two_down = repo.gitkube("reconcile")
        assert two_down.code == 1
        assert f"No etcd member of {etcd_cluster.url.removeprefix('etcd://')}" in two_down.err
        assert "a majority of the members" in two_down.err

        etcd_cluster.start(first, second)
        back = repo.gitkube("reconcile")
        assert back.code == 0, back.err
        assert len(running(repo.pods())) == 4
    finally:
        etcd_cluster.start()  # the session's cluster, whole again for the next test
    assert third.running
