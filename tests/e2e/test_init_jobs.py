"""An Indexed Job whose pods prepare their input in an init container (the corpus'
indexed-job.yaml, with the test image): end to end on a real node over SSH."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.batch.test_e2e_batch import _cli, _pods, _until_finished
from tests.e2e.harness import ClusterRepo
from tests.fixtures.nodes import LoopbackNode

pytestmark = [pytest.mark.podman, pytest.mark.ssh]


def _indexed_job(image: str) -> dict[str, Any]:
    work = [{"name": "input", "mountPath": "/input"}]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "indexed"},
            "spec": {"completions": 2, "parallelism": 2, "completionMode": "Indexed",
                     "template": {"spec": {
                         "restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                         "initContainers": [{
                             "name": "input", "image": image, "volumeMounts": work,
                             "command": ["sh", "-c",
                                         "echo item-$JOB_COMPLETION_INDEX > /input/data.txt"]}],
                         "containers": [{
                             "name": "worker", "image": image, "volumeMounts": work,
                             "command": ["cat", "/input/data.txt"]}],
                         "volumes": [{"name": "input", "emptyDir": {}}]}}}}


def test_indexed_job_with_an_init_container(
    tmp_path: Path, ssh_nodes: Callable[..., list[LoopbackNode]], busybox_image: str,
) -> None:
    (node,) = ssh_nodes(1)
    repo = ClusterRepo(tmp_path / "cluster", "e2e-init", [node.inventory])
    repo.write("job.yaml", _indexed_job(busybox_image))
    repo.commit("An indexed Job with an init container")
    job = _until_finished(repo, "indexed", node, "e2e-init")
    assert job["status"]["succeeded"] == 2, job["status"]
    pods = sorted(_pods(repo), key=lambda p: p["metadata"]["name"])
    for pod in pods:
        [init] = pod["status"]["initContainerStatuses"]
        assert init["state"]["terminated"]["reason"] == "Completed"
    outputs = sorted(_cli(repo, "logs", f"pod/{p['metadata']['name']}")[1].strip()
                     for p in pods)
    assert outputs == ["item-0", "item-1"]
    code, table, _ = _cli(repo, "get", "pods")
    assert code == 0 and table.count("Completed") == 2, table
