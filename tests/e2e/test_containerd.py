"""Nodes that run containerd instead of podman, end to end over SSH (sshd on 127.0.1.x).

The module's two nodes (shared by its tests): one on a containerd of the session's own
(tests/fixtures/containerd.py), one on podman. Each test's cluster keeps its agent state
apart (the default ``~/.gitkube/<cluster>/<node>``).

- on the containerd node alone: a Deployment comes up with an image shipped from this
  machine's podman (``ctr images import`` of ``podman save``), a Job runs to completion, a
  Secret volume is updated in place (same container, new content), a container killed with
  no gitkube running is restarted by the node's supervisor, and a rolling update replaces
  every pod; ``gitkube get nodes -o wide`` names containerd and its version;
- on both: one Deployment spread over the podman and the containerd node.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitkube.agent import daemons, supervisor
from gitkube.api.inventory import RuntimeSettings
from tests.e2e.harness import ClusterRepo, Run, deployment
from tests.fixtures import containerd
from tests.fixtures.nodes import LoopbackNode, NodeFactory
from tests.waiting import until

pytestmark = [pytest.mark.podman, pytest.mark.ssh, pytest.mark.containerd]


@pytest.fixture(scope="module")
def mixed_nodes(ssh_nodes: NodeFactory) -> Iterator[tuple[LoopbackNode, LoopbackNode,
                                                           containerd.Containerd]]:
    """(the containerd node, the podman node, the containerd daemon)."""
    if shutil.which("containerd") is None:
        pytest.skip("containerd is not installed")
    daemon = containerd.start("e2e")
    first, second = ssh_nodes(2, prefix="mixed")
    try:
        settings = RuntimeSettings.model_validate(daemon.runtime())
        for node in (first, second):
            node.state_dir = None  # each cluster's agent state apart, under the node's home
        first.runtime = settings
        yield first, second, daemon
    finally:
        for node in (first, second):
            for state in (node.home / ".gitkube").glob("*/*"):
                daemons.stop(state, supervisor.NAME)
        daemon.stop()
        for node in (first, second):
            containerd.unmount_under(node.home)  # the pods' namespaces and tmpfs


def _apply_until(repo: ClusterRepo, check: Callable[[], bool], what: str, passes: int = 6
                 ) -> None:
    last: Run | None = None
    for _ in range(passes):
        last = repo.apply()
        if check():
            return
    raise AssertionError(f"{what} did not happen in {passes} passes:\n"
                         f"{last.out + last.err if last else ''}")


def _get(repo: ClusterRepo, *what: str) -> Any:
    done = repo.gitkube("get", *what, "-o", "json")
    assert done.code == 0, done.err
    return json.loads(done.out)


def _pods(repo: ClusterRepo, app: str) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in _get(repo, "pods")["items"]
            if p["metadata"].get("labels", {}).get("app") == app
            and not p["metadata"].get("deletionTimestamp")}


def _running(repo: ClusterRepo, app: str, count: int) -> bool:
    pods = _pods(repo, app)
    return len(pods) == count and all(p["status"].get("phase") == "Running"
                                      and all(c.get("ready") for c in
                                              p["status"].get("containerStatuses", []))
                                      for p in pods.values())


def _secret(value: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token"},
            "data": {"token": base64.b64encode(value.encode()).decode()}}


def _job(image: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{
                "name": "main", "image": image, "command": ["sh", "-c", "echo done"],
                "resources": {"requests": {"cpu": "10m", "memory": "8Mi"}}}]}}}}


def _with_secret(manifest: dict[str, Any], version: str) -> dict[str, Any]:
    pod = manifest["spec"]["template"]["spec"]
    pod["volumes"] = [{"name": "token", "secret": {"secretName": "token"}}]
    main = pod["containers"][0]
    main["volumeMounts"] = [{"name": "token", "mountPath": "/etc/token"}]
    main["env"] = [{"name": "VERSION", "value": version}]
    return manifest


def _container(daemon: containerd.Containerd, cid: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(daemon.ctr("containers", "info", cid).stdout)
    return found


def test_a_containerd_node_runs_deployments_jobs_and_secrets(
    mixed_nodes: tuple[LoopbackNode, LoopbackNode, containerd.Containerd],
    busybox_image: str, tmp_path: Path,
) -> None:
    node, _, daemon = mixed_nodes
    repo = ClusterRepo(tmp_path / "cluster", "ctrd-one", [node.inventory])
    web = _with_secret(deployment("web", 2, busybox_image), "1")
    repo.write("web.yaml", web)
    repo.write("token.yaml", _secret("first"))
    repo.write("job.yaml", _job(busybox_image))
    repo.commit("web, its token and a job")
    _apply_until(repo, lambda: _running(repo, "web", 2), "two web pods running")
    _apply_until(repo, lambda: _get(repo, "jobs", "once")["status"].get("succeeded") == 1,
                 "the job completed")
    wide = repo.gitkube("get", "nodes", "-o", "wide")
    assert "containerd://1." in wide.out, wide.out

    pods = _pods(repo, "web")
    cid = next(iter(pods.values()))["status"]["containerStatuses"][0]["containerID"]
    cid = cid.removeprefix("containerd://")
    assert daemon.ctr("tasks", "exec", "--exec-id", "t1", cid, "cat",
                      "/etc/token/token").stdout == "first"

    repo.write("token.yaml", _secret("second"))
    repo.commit("a new token")
    repo.apply()
    until(lambda: daemon.ctr("tasks", "exec", "--exec-id", "t2", cid, "cat",
                             "/etc/token/token").stdout == "second",
          "the Secret volume was updated in place", 30)
    assert set(_pods(repo, "web")) == set(pods), "the pods kept running"

    # No gitkube process runs now: the node's supervisor restarts what is killed.
    daemon.ctr("tasks", "kill", "-s", "SIGKILL", cid)
    until(lambda: _container(daemon, cid)["Labels"].get("gitkube.containerd/restarts") == "1"
          and "RUNNING" in daemon.ctr("tasks", "ls").stdout.split(cid, 1)[1].split("\n")[0],
          "the supervisor restarted the killed container", 60)
    repo.apply()
    restarted = [p for p in _pods(repo, "web").values()
                 if p["status"]["containerStatuses"][0]["restartCount"] == 1]
    assert len(restarted) == 1

    repo.write("web.yaml", _with_secret(deployment("web", 2, busybox_image), "2"))
    repo.commit("version 2")
    _apply_until(repo, lambda: _running(repo, "web", 2) and not set(_pods(repo, "web")) & set(
        pods), "every pod replaced by version 2", passes=8)


def test_one_deployment_spreads_over_a_podman_and_a_containerd_node(
    mixed_nodes: tuple[LoopbackNode, LoopbackNode, containerd.Containerd],
    busybox_image: str, tmp_path: Path,
) -> None:
    first, second, _ = mixed_nodes
    repo = ClusterRepo(tmp_path / "cluster", "ctrd-mixed", [first.inventory, second.inventory])
    web = deployment("spread", 2, busybox_image)
    web["spec"]["template"]["spec"]["affinity"] = {"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"app": "spread"}},
            "topologyKey": "kubernetes.io/hostname"}]}}
    repo.write("spread.yaml", web)
    repo.commit("one deployment over both nodes")
    _apply_until(repo, lambda: _running(repo, "spread", 2), "a pod on each node")
    nodes = {p["spec"]["nodeName"] for p in _pods(repo, "spread").values()}
    assert nodes == {first.name, second.name}
    schemes = {p["status"]["containerStatuses"][0]["containerID"].split("://")[0]
               for p in _pods(repo, "spread").values()}
    assert schemes == {"containerd", "podman"}
    wide = repo.gitkube("get", "nodes", "-o", "wide").out
    assert "containerd://" in wide and "podman://" in wide, wide
