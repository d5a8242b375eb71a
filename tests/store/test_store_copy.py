"""``gitkube store copy``: a running cluster moved from SQLite to etcd and back, by the CLI."""

from __future__ import annotations

import base64
from pathlib import Path

from gitkube.api.inventory import InventoryNode, RuntimeSettings
from gitkube.store import etcd
from tests.e2e.harness import ClusterRepo, deployment
from tests.fixtures import etcd as etcd_fixtures

CANARY = "canary-5e1d0a77-moved-not-shown"
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
          "stringData": {"password": CANARY}}


def _pods(repo: ClusterRepo) -> list[tuple[str, str, str]]:
    return sorted((p["metadata"]["name"], p["metadata"]["uid"], p["spec"]["nodeName"])
                  for p in repo.pods())


def test_from_sqlite_to_etcd_and_back(tmp_path: Path, etcd_store: etcd.EtcdStore,
                                      etcd_server: etcd_fixtures.Cluster) -> None:
    node = InventoryNode(name="here", transport="local", runtime=RuntimeSettings(kind="sim"),
                         state_dir=str(tmp_path / "node"))
    repo = ClusterRepo(tmp_path / "cluster", "moving", [node])
    repo.write("web.yaml", deployment("web", 3, "busybox"))
    repo.write("db.yaml", SECRET)
    repo.commit("Web and its database password")
    repo.apply()
    before = _pods(repo)

    moved = repo.gitkube("store", "copy", "--to", etcd_server.url)

    assert moved.code == 0, moved.err
    assert f"to {etcd_server.url}" in moved.out and "encryption.key" in moved.out
    assert f"config gitkube.store {etcd_server.url}" in moved.out
    repo.git("config", "gitkube.store", etcd_server.url)
    assert _pods(repo) == before
    assert repo.gitkube("plan", "--detailed-exitcode").code == 0  # nothing to do: all there
    listed = etcd_server.etcdctl("get", "--prefix", "/registry/secrets/")
    assert "k8s:enc:aesgcm:v1:" in listed
    assert CANARY not in listed and base64.b64encode(CANARY.encode()).decode() not in listed

    back = tmp_path / "back.sqlite"
    returned = repo.gitkube("store", "copy", "--to", str(back))
    assert returned.code == 0, returned.err
    repo.git("config", "gitkube.store", str(back))
    assert _pods(repo) == before
    assert repo.gitkube("plan", "--detailed-exitcode").code == 0

    again = repo.gitkube("store", "copy", "--to", etcd_server.url)
    assert again.code == 1
    assert "already holds" in again.err and "only into an empty store" in again.err
