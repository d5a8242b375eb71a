"""Jobs and CronJobs end to end on a real node (sshd on loopback, its own podman storage).

- completions 3, parallelism 2: three pods succeed, podman never runs more than two of
  them at once (by the run times podman recorded), finished containers stay exited (never restarted)
  and ``gitkube logs`` reads their output;
- a failing command: after backoffLimit (1, with a 1 s back-off base) the Job is Failed;
- a CronJob ``* * * * *`` driven pass by pass on a fake clock a minute apart (against the
  real node): one Job per minute, a re-run pass in the same minute adds none, 3 kept.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from gitkube import clock as clocks
from gitkube.api import batch
from gitkube.cli import main
from gitkube.controllers import jobpods
from gitkube.reconcile import face
from tests.e2e.harness import ClusterRepo
from tests.fixtures.nodes import LoopbackNode

pytestmark = [pytest.mark.podman, pytest.mark.ssh]


def _job(name: str, image: str, command: str, **spec: Any) -> dict[str, Any]:
    annotations = spec.pop("annotations", {})
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {**spec, "template": {"spec": {
                "restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "main", "image": image, "command": ["sh", "-c", command],
                                "resources": {"requests": {"cpu": "10m", "memory": "8Mi"}}}]}}}}


def _cli(repo: ClusterRepo, *argv: str) -> tuple[int, str, str]:
    """The gitkube command line, run in this process (as `gitkube --repo REPO ARGV...`)."""
    out, err = io.StringIO(), io.StringIO()
    code = main.main(["--repo", str(repo.path), *argv],
                     out=Console(file=out, width=200), err=Console(file=err, width=200))
    return code, out.getvalue(), err.getvalue()


def _get(repo: ClusterRepo, kind: str, name: str) -> dict[str, Any]:
    code, out, err = _cli(repo, "get", kind, name, "-o", "json")
    assert code == 0, err
    found: dict[str, Any] = json.loads(out)
    return found


def _pods(repo: ClusterRepo) -> list[dict[str, Any]]:
    code, out, err = _cli(repo, "get", "pods", "-o", "json")
    assert code == 0, err
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


def _apply(repo: ClusterRepo) -> None:
    with face.open_cluster(repo.path) as cluster:
        result = cluster.apply()
    assert result.ok, result.errors


def _containers(node: LoopbackNode, cluster: str) -> list[dict[str, Any]]:
    listing = node.podman("ps", "-a", "--format", "json", "--filter",
                          f"label=io.gitkube.cluster={cluster}").stdout
    return [c for c in json.loads(listing or "[]") if not c.get("IsInfra")]


def _most_at_once(node: LoopbackNode, cluster: str) -> int:
    """The most containers that ran at the same time, from the run times podman recorded
    (sampling between passes misses short runs on a loaded machine)."""
    ids = [c["Id"] for c in _containers(node, cluster)]
    inspected = json.loads(node.podman("inspect", *ids).stdout)
    edges = sorted(
        (_seconds(c["State"][field]), step)
        for c in inspected for field, step in (("StartedAt", 1), ("FinishedAt", -1))
    )
    # An end sorts before a start at the same instant: touching runs did not overlap.
    most = running = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        running += step
        most = max(most, running)
    return most


def _seconds(stamp: str) -> float:
    """podman's RFC 3339 time (nanoseconds, trailing zeros trimmed, ``Z``) as Unix seconds."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    moment = dt.datetime.fromisoformat(whole).replace(tzinfo=dt.UTC)
    return moment.timestamp() + float(f"0.{fraction or 0}")


def _until_finished(repo: ClusterRepo, name: str, node: LoopbackNode,
                    cluster: str) -> dict[str, Any]:
    for _ in range(60):
        _apply(repo)
        job = _get(repo, "jobs", name)
        if any(c["status"] == "True" and c["type"] in ("Complete", "Failed")
               for c in job.get("status", {}).get("conditions", [])):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {name} did not finish: {job}")


@pytest.fixture
def node(ssh_nodes: Callable[..., list[LoopbackNode]]) -> LoopbackNode:
    (one,) = ssh_nodes(1)
    return one


def test_job_completions_3_parallelism_2(tmp_path: Path, node: LoopbackNode,
                                         busybox_image: str) -> None:
    repo = ClusterRepo(tmp_path / "cluster", "e2e-job", [node.inventory])
    repo.write("job.yaml", _job("count", busybox_image, "echo done from $HOSTNAME; sleep 1",
                                completions=3, parallelism=2))
    repo.commit("A Job of three")
    job = _until_finished(repo, "count", node, "e2e-job")
    assert job["status"]["succeeded"] == 3 and job["status"]["failed"] == 0
    assert [c["type"] for c in job["status"]["conditions"]] == ["Complete"]
    overlap = _most_at_once(node, "e2e-job")
    assert 1 <= overlap <= 2, overlap
    pods = _pods(repo)
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"] * 3
    exited = {c["Id"]: c["State"] for c in _containers(node, "e2e-job")}
    assert len(exited) == 3 and set(exited.values()) == {"exited"}

    _apply(repo)  # finished pods stay as they are: kept, and never started again
    again = {c["Id"]: c["State"] for c in _containers(node, "e2e-job")}
    assert again == exited
    code, table, _ = _cli(repo, "get", "jobs")
    assert table.split("\n")[1].split()[:3] == ["count", "Complete", "3/3"], table
    code, logs, err = _cli(repo, "logs", "job/count")
    assert code == 0 and logs.startswith("done from count-"), logs + err
    assert err.startswith("Found 3 pods, using pod/count-")
    code, follow, err = _cli(repo, "logs", f"pod/{pods[0]['metadata']['name']}", "-f",
                             "--interval", "0.1")
    assert code == 0 and follow.count("done from") == 1, follow + err

    repo.remove("job.yaml")
    repo.commit("Remove the Job")
    _apply(repo)
    assert _pods(repo) == [] and _containers(node, "e2e-job") == []


def test_failing_job_stops_after_backoff_limit(tmp_path: Path, node: LoopbackNode,
                                               busybox_image: str) -> None:
    repo = ClusterRepo(tmp_path / "cluster", "e2e-fail", [node.inventory])
    repo.write("job.yaml", _job("broken", busybox_image, "echo oops; exit 3", backoffLimit=1,
                                annotations={jobpods.BACKOFF_ANNOTATION: "1"}))
    repo.commit("A Job that fails")
    job = _until_finished(repo, "broken", node, "e2e-fail")
    (failed,) = [c for c in job["status"]["conditions"] if c["type"] == "Failed"]
    assert (failed["status"], failed["reason"]) == ("True", "BackoffLimitExceeded")
    assert job["status"]["failed"] == 2 and job["status"].get("succeeded", 0) == 0
    pods = _pods(repo)
    assert sorted(p["status"]["phase"] for p in pods) == ["Failed", "Failed"]
    state = pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert state["exitCode"] == 3
    repo.remove("job.yaml")
    repo.commit("Remove the Job")
    _apply(repo)
    assert _containers(node, "e2e-fail") == []


def test_cronjob_every_minute_on_a_fake_clock(tmp_path: Path, node: LoopbackNode,
                                              busybox_image: str) -> None:
    repo = ClusterRepo(tmp_path / "cluster", "e2e-cron", [node.inventory])
    job = _job("unused", busybox_image, "echo tick")
    repo.write("cron.yaml", {"apiVersion": "batch/v1", "kind": "CronJob",
                             "metadata": {"name": "tick"},
                             "spec": {"schedule": "* * * * *",
                                      "jobTemplate": {"spec": job["spec"]}}})
    repo.commit("A CronJob every minute")
    fake = clocks.FakeClock(dt.datetime(2026, 1, 1, 0, 0, 10, tzinfo=dt.UTC))
    with face.open_cluster(repo.path, clock=fake) as cluster:
        cluster.apply()
        assert cluster.objects("jobs") == []  # created 00:00:10: the first run is 00:01
        for _ in range(4):
            fake.advance(60)
            cluster.apply()
            for _ in range(40):  # the pod runs for real; passes in the same minute see it end
                cluster.apply()  # and never start that minute's run a second time
                if all(isinstance(j, batch.Job) and j.status.finished
                       for j in cluster.objects("jobs")):
                    break
                time.sleep(0.2)
        jobs = sorted(cluster.objects("jobs"), key=lambda j: j.name)
        minutes = [int(fake.now().timestamp()) // 60 - i for i in (2, 1, 0)]
        assert [j.name for j in jobs] == [f"tick-{m}" for m in minutes]
        assert all(isinstance(j, batch.Job) and j.status.finished == "Complete" for j in jobs)
        cron = cluster.get("cronjobs", "tick")
        assert isinstance(cron, batch.CronJob)
        assert cron.status.last_schedule_time == "2026-01-01T00:04:00Z"
        assert not cron.status.active
    assert len(_containers(node, "e2e-cron")) == 3  # the pruned Jobs' pods went with them
    repo.remove("cron.yaml")
    repo.commit("Remove the CronJob")
    _apply(repo)
    assert _containers(node, "e2e-cron") == []
