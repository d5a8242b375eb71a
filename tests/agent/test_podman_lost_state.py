"""podman's run state reset under running pods, the storage kept (what a reboot does to /run).

podman then shows the pods' containers as created and cannot start them again ("container
with given ID already exists"); the agent's next converge removes such a pod and makes it
again, and nothing of the old one keeps running. The storage is the test's own, with its
own libpod run directory (``--tmpdir``), so resetting it touches nothing else.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitkube.agent import protocol

from . import storage
from .runtimes_under_test import PodmanNode, pods_of

pytestmark = pytest.mark.podman

#: The container's command, unique to this session: its processes can be counted.
SLEEP = f"sleep {900000 + os.getpid()}"


@pytest.fixture
def own_storage() -> Iterator[storage.Storage]:
    made = storage.create_storage(own_tmpdir=True)
    try:
        yield made
    finally:
        made.destroy()


def _sleepers() -> int:
    found = 0
    for entry in Path("/proc").iterdir():
        try:
            if (entry / "cmdline").read_bytes().replace(b"\0", b" ").strip() == SLEEP.encode():
                found += 1
        except OSError:
            continue
    return found


def test_a_pod_whose_state_podman_lost_is_made_again(
    own_storage: storage.Storage, tmp_path: Path,
) -> None:
    node = PodmanNode(own_storage, "lost-state", tmp_path / "state")
    spec = protocol.PodRun(
        uid="uid-box", name="box", namespace="default", hash="h1", restartPolicy="Always",
        terminationGracePeriodSeconds=0,
        containers=[protocol.ContainerRun(name="main", image=own_storage.image,
                                          command=SLEEP.split())])
    try:
        first = pods_of(node.request("converge", pods=[spec]))["box"]
        assert first["phase"] == "Running" and _sleepers() == 1
        for directory in (own_storage.runroot, own_storage.tmpdir):
            assert directory is not None
            shutil.rmtree(directory)
            directory.mkdir()
        old = first["containers"][0]["containerID"].removeprefix("podman://")
        stuck = own_storage.podman("start", old, check=False)
        assert stuck.returncode != 0 and "already exists" in stuck.stderr, stuck.stderr
        assert pods_of(node.request("observe"))["box"]["containers"][0]["reason"] == (
            "ContainerCreating")

        again = node.request("converge", pods=[spec])
        assert (again["removed"], again["created"]) == (["default/box"], ["default/box"])
        box = pods_of(again)["box"]
        assert box["phase"] == "Running"
        assert box["containers"][0]["containerID"].removeprefix("podman://") != old
        assert _sleepers() == 1, "the old container's process is gone with it"
    finally:
        node.close()
