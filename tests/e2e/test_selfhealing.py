"""Self-healing end to end on two real nodes (sshd on 127.0.1.x, podman each), short timers.

- with no gitkube process running, the node's supervisor restarts a killed container and
  one whose liveness probe fails; the next pass shows restart counts and last states; a
  container removed by hand is drift, put back by the next pass;
- a node whose sshd and supervisor stop goes NotReady, its pods are evicted and run on
  the other node; when it comes back its old containers are removed first (fencing);
- a rolling update with a readiness probe never drops below replicas - maxUnavailable
  Ready pods, and a version that never becomes ready stops at ProgressDeadlineExceeded
  while the previous version keeps serving.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitkube.api.inventory import Inventory
from gitkube.reconcile import face
from tests.e2e import harness
from tests.e2e.harness import ClusterRepo
from tests.fixtures.nodes import LoopbackNode
from tests.waiting import until

pytestmark = [pytest.mark.podman, pytest.mark.ssh]

FAST = {"periodSeconds": 1, "timeoutSeconds": 1}


def _repo(tmp_path: Path, cluster: str, nodes: list[LoopbackNode]) -> ClusterRepo:
    repo = ClusterRepo(tmp_path / "cluster", cluster, [n.inventory for n in nodes])
    inventory = Inventory(cluster=cluster, nodes=[n.inventory for n in nodes],
                          settings=harness.SETTINGS.model_copy(update={
                              "node_grace_period_seconds": 2,
                              "pod_eviction_timeout_seconds": 1}))
    repo.write("inventory.yaml", inventory.model_dump(mode="json", by_alias=True,
                                                      exclude_none=True))
    repo.commit("Short node timers for the test")
    return repo


def _deployment(name: str, replicas: int, image: str, script: str, *,
                strategy: dict[str, Any] | None = None, deadline: int = 600,
                **container: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas, "progressDeadlineSeconds": deadline,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": image, "command": ["sh", "-c", script],
                            "resources": {"requests": {"cpu": "10m", "memory": "8Mi"}},
                            **container}]}},
    }
    if strategy:
        spec["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": spec}



def _until(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    return until(check, what, timeout, every=0.3)


def _inspect(node: LoopbackNode, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(node.podman("inspect", name).stdout)[0]
    return found


def _where(nodes: list[LoopbackNode], cluster: str, pod: str) -> tuple[LoopbackNode, str]:
    name = f"gk_{cluster}_default_{pod}_main"
    for node in nodes:
        if node.podman("container", "exists", name, check=False).returncode == 0:
            return node, name
    raise AssertionError(f"no node runs {name}")


def _ready(pod: dict[str, Any]) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in pod.get("status", {}).get("conditions", []))


def _live(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


class Passes:
    """Passes driven in a loop in this process (the CLI's own start-up would dominate), with
    the store read the way ``gitkube get -o json`` prints it."""

    def __init__(self, repo: ClusterRepo) -> None:
        self.cluster = face.open_cluster(repo.path)

    def run(self) -> None:
        self.cluster.apply()  # may report an unreachable node: that is the point

    def pods(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.cluster.objects("pods")]

    def get(self, plural: str, name: str) -> dict[str, Any]:
        found = self.cluster.get(plural, name)
        assert found is not None, f"no {plural}/{name}"
        return found.to_dict()

    def close(self) -> None:
        self.cluster.close()


def test_node_local_healing_with_no_gitkube_running(
    tmp_path: Path, two_nodes: list[LoopbackNode], busybox_image: str,
) -> None:
    cluster = "e2e-heal"
    repo = _repo(tmp_path, cluster, two_nodes)
    repo.write("box.yaml", _deployment("box", 1, busybox_image, "exec sleep 3600"))
    # The first run never writes /tmp/alive, the restarted one does (/tmp survives a restart).
    script = ("if [ -f /tmp/crashed ]; then echo ok > /tmp/alive; else echo > /tmp/crashed; "
              "fi; exec sleep 3600")
    repo.write("lively.yaml", _deployment("lively", 1, busybox_image, script, livenessProbe={
        "exec": {"command": ["cat", "/tmp/alive"]}, "failureThreshold": 2, **FAST}))
    repo.commit("A box and a pod with a liveness probe")
    repo.apply()
    pods = {p["metadata"]["labels"]["app"]: p["metadata"]["name"] for p in repo.pods()}

    # No gitkube process runs from here on: the nodes' supervisors do the work.
    node, box = _where(two_nodes, cluster, pods["box"])
    started = _inspect(node, box)["State"]["StartedAt"]
    node.podman("kill", box)
    _until(lambda: (s := _inspect(node, box)["State"])["Running"] and s["StartedAt"] != started,
           "the killed container running again")
    node, lively = _where(two_nodes, cluster, pods["lively"])
    # Only the run that follows the liveness restart writes /tmp/alive.
    _until(lambda: node.podman("exec", lively, "cat", "/tmp/alive", check=False).returncode == 0,
           "the liveness restart")

    def restarts_seen() -> dict[str, dict[str, Any]] | None:
        repo.apply()
        found = {p["metadata"]["labels"]["app"]: p["status"]["containerStatuses"][0]
                 for p in repo.pods()}
        return found if all(s["restartCount"] >= 1 for s in found.values()) else None

    # The supervisor records a restart a moment after podman reports the container running.
    statuses = _until(restarts_seen, "both restarts in the pods' status")
    assert statuses["box"]["restartCount"] == 1
    assert statuses["box"]["lastState"]["terminated"]["exitCode"] == 137
    assert statuses["lively"]["restartCount"] == 1
    assert "liveness probe failed" in statuses["lively"]["lastState"]["terminated"]["message"]
    table = repo.gitkube("get", "pods").out
    assert all(line.split()[3] == "1" for line in table.splitlines()[1:]), table
    described = repo.gitkube("describe", "pod", pods["lively"]).out
    assert "Last State:" in described and "liveness probe failed" in described, described
    # The ledger's commits say which pods restarted, and why.
    subjects = repo.git("log", "--format=%s", "gitkube/status")
    assert f"{pods['box']} restarted (main: Error, exit 137)" in subjects, subjects
    assert f"{pods['lively']} restarted (main: liveness probe failed)" in subjects, subjects
    # What the supervisor did alone reached the store with the next converge, as kubelet says it.
    shown = repo.gitkube("events", "--for", f"pod/{pods['lively']}").out
    lines = shown.splitlines()
    assert any("Unhealthy" in line and "Liveness probe failed: " in line for line in lines), shown
    assert any("Killing" in line and "Container main failed liveness probe, will be restarted"
               in line for line in lines), shown

    # Removed by hand: the next plan calls it drift, the next apply puts it back.
    node, box = _where(two_nodes, cluster, pods["box"])
    node.podman("rm", "-f", "-t", "0", box)
    plan = repo.gitkube("plan")
    assert "drift: container main missing on node" in plan.out, plan.out
    repo.apply()
    assert _inspect(node, box)["State"]["Running"]


def test_a_lost_node_is_replaced_then_fenced_when_it_returns(
    tmp_path: Path, two_nodes: list[LoopbackNode], busybox_image: str,
) -> None:
    cluster = "e2e-lost"
    repo = _repo(tmp_path, cluster, two_nodes)
    repo.write("web.yaml", _deployment("web", 3, busybox_image, "exec sleep 3600"))
    repo.commit("web with 3 replicas")
    repo.apply()
    first = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in repo.pods()}
    assert len(first) == 3
    lost = next(n for n in two_nodes if n.name in first.values())
    other = next(n for n in two_nodes if n is not lost)
    old_containers = lost.podman("ps", "-q", "--filter", f"label=io.gitkube.cluster={cluster}"
                                 ).stdout.split()
    assert old_containers

    lost.stop()
    assert lost.stop_supervisor()
    passes = Passes(repo)

    def replaced() -> bool:
        passes.run()
        ready = passes.get("nodes", lost.name)["status"]["conditions"][-1]["status"]
        live = _live(passes.pods())
        return ready == "Unknown" and len(live) == 3 and all(
            p["spec"]["nodeName"] == other.name and p["status"]["phase"] == "Running"
            for p in live)

    _until(replaced, "NotReady, evicted and running on the other node")
    nodes = repo.gitkube("get", "nodes").out
    assert f"{lost.name}   NotReady" in nodes, nodes
    evicted = [p for p in repo.pods() if p["metadata"].get("deletionTimestamp")]
    assert {p["metadata"]["name"] for p in evicted} == {
        name for name, node in first.items() if node == lost.name}
    assert all(p["status"]["phase"] == "Unknown" for p in evicted)

    lost.start()

    def fenced() -> bool:
        passes.run()
        pods = passes.pods()
        return len(pods) == 3 and all(p["status"]["phase"] == "Running" for p in pods)

    _until(fenced, "the node back and its evicted pods gone")
    passes.close()
    still = lost.podman("ps", "-aq", "--no-trunc", "--filter",
                        f"label=io.gitkube.cluster={cluster}").stdout.split()
    assert not set(still) & {c for c in old_containers}, "the evicted containers are removed"
    running = sum(len(n.podman("ps", "-q", "--filter", f"label=io.gitkube.cluster={cluster}",
                               "--filter", "label=io.gitkube.container=main").stdout.split())
                  for n in two_nodes)
    assert running == 3, "exactly the replicas run, never two copies"
    assert any("stopped" in line for line in repo.status_log()), repo.status_log()


def test_rolling_update_keeps_serving_and_a_bad_version_stops_at_the_deadline(
    tmp_path: Path, two_nodes: list[LoopbackNode], busybox_image: str,
) -> None:
    cluster = "e2e-roll"
    repo = _repo(tmp_path, cluster, two_nodes)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}

    def version(tag: str, path: str = "/index.html") -> dict[str, Any]:
        script = ("mkdir -p /www; echo $VERSION > /www/index.html; "
                  "exec httpd -f -p 8080 -h /www")
        return _deployment("web", 3, busybox_image, script, strategy=strategy, deadline=4,
                           env=[{"name": "VERSION", "value": tag}],
                           readinessProbe={"httpGet": {"path": path, "port": 8080},
                                           "failureThreshold": 1, **FAST})

    passes = Passes(repo)

    def deployment() -> dict[str, Any]:
        return passes.get("deployments", "web")

    def complete() -> bool:
        passes.run()
        status = deployment()["status"]
        return (status.get("updatedReplicas"), status.get("availableReplicas"),
                status.get("replicas")) == (3, 3, 3)

    repo.write("web.yaml", version("v1"))
    repo.commit("web v1")
    _until(complete, "v1 rolled out")

    repo.write("web.yaml", version("v2"))
    repo.commit("web v2")
    samples: list[int] = []

    def sampled() -> bool:
        done = complete()
        samples.append(sum(1 for p in passes.pods() if _ready(p)))
        return done

    _until(sampled, "v2 rolled out", timeout=120)
    assert min(samples) >= 3 - 1, samples
    versions = {p["spec"]["containers"][0]["env"][0]["value"] for p in _live(passes.pods())}
    assert versions == {"v2"}

    repo.write("web.yaml", version("v3", path="/never-there"))
    repo.commit("web v3, never ready")

    def stuck() -> dict[str, Any] | None:
        passes.run()
        conditions = {c["type"]: c for c in deployment()["status"]["conditions"]}
        progressing = conditions.get("Progressing", {})
        return progressing if progressing.get("reason") == "ProgressDeadlineExceeded" else None

    progressing = _until(stuck, "ProgressDeadlineExceeded", timeout=120)
    assert progressing["status"] == "False"
    assert "new pods available" in progressing["message"], progressing
    passes.close()
    pods = _live(repo.pods())
    v2 = [p for p in pods if p["spec"]["containers"][0]["env"][0]["value"] == "v2"]
    v3 = [p for p in pods if p["spec"]["containers"][0]["env"][0]["value"] == "v3"]
    assert len(v2) >= 3 - 1 and all(_ready(p) for p in v2)
    assert v3 and not any(_ready(p) for p in v3)
    node, name = _where(two_nodes, cluster, v2[0]["metadata"]["name"])
    served = node.podman("exec", name, "wget", "-qO-", "http://127.0.0.1:8080/index.html")
    assert served.stdout.strip() == "v2"
