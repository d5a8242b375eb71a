"""Claim volumes and hostPaths against a real podman: data outlives the pod, goes only when
asked; a hostPath that fails its type check keeps the pod from starting, with kubelet's words."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from .helpers import pod_run, until
from .storage import Storage
from .test_podman import Agent

pytestmark = pytest.mark.podman


def _writer(image: str, claim: Path, uid: str, *, host: Path | None = None) -> dict[str, Any]:
    mounts = [{"volume": "data", "mountPath": "/data"}]
    volumes: list[dict[str, Any]] = [{"name": "data", "kind": "hostPath", "path": str(claim),
                                      "type": "DirectoryOrCreate", "claim": True}]
    if host is not None:
        mounts.append({"volume": "node", "mountPath": "/node", "readOnly": True})
        volumes.append({"name": "node", "kind": "hostPath", "path": str(host),
                        "type": "Directory"})
    script = "echo $HOSTNAME >> /data/log; sleep 1000"
    pod = pod_run("db-0", [{"name": "db", "image": image, "command": ["sh", "-c", script],
                            "mounts": mounts}], volumes=volumes)
    return {**pod, "uid": uid}


def test_a_claim_directory_keeps_its_data_across_pods_until_removed(
    agent: Agent, podman_storage: Storage, tmp_path: Path,
) -> None:
    claim = tmp_path / "storage" / "pvc-1_default_data-db-0"
    agent("converge", pods=[_writer(podman_storage.image, claim, "uid-first")])
    until(lambda: (claim / "log").is_file() and (claim / "log").read_text() == "db-0\n",
          "the first pod wrote into its claim")
    assert stat.S_IMODE(claim.stat().st_mode) == 0o777

    # Another pod of the same name and claim (a StatefulSet's next incarnation).
    answer = agent("converge", pods=[_writer(podman_storage.image, claim, "uid-second")])
    assert answer["report"]["volumes"] == [str(claim)]
    until(lambda: (claim / "log").read_text() == "db-0\ndb-0\n",
          "the second pod found the first one's data and added to it")

    kept = agent("converge", pods=[])
    assert claim.is_dir() and kept["report"]["volumes"] == [str(claim)], "no pod: still kept"
    gone = agent("converge", pods=[], removeVolumes=[str(claim)])
    assert not claim.exists() and gone["report"]["volumes"] == []


def test_a_host_path_that_is_not_a_directory_keeps_the_pod_waiting(
    agent: Agent, podman_storage: Storage, tmp_path: Path,
) -> None:
    claim, host = tmp_path / "claim", tmp_path / "not-a-dir"
    host.write_text("a file")
    answer = agent("converge", pods=[_writer(podman_storage.image, claim, "uid-x", host=host)])
    [event] = [e for e in answer["report"]["events"] if e["reason"] == "FailedCreate"]
    assert event["message"] == ('MountVolume.SetUp failed for volume "node" : hostPath type '
                                f"check failed: {host} is not a directory")
    [pod] = answer["report"]["pods"]
    assert pod["phase"] == "Pending"
    assert [c.get("containerID") for c in pod["containers"]] == [None]

    host.unlink()
    host.mkdir()
    (host / "hello").write_text("from the node")
    agent("converge", pods=[_writer(podman_storage.image, claim, "uid-x", host=host)])
    until(lambda: agent.pods()["db-0"]["phase"] == "Running", "the pod starts once it can")
