"""Cron, saved plans, rewritten branches, events and the ledger, through the real CLI and git.

These clusters have no nodes (their Deployments stay Pending), so they need no podman: what is
checked is the workflow around a pass — who may run one, what it prints, what it refuses.
"""

from __future__ import annotations

import json
import subprocess
import sys

from gitkube.source import locks
from tests.e2e.harness import deployment
from tests.gitops.harness import LocalRepo

IMAGE = "localhost/gitkube-test/busybox:v1"


def make(tmp_path, name: str) -> LocalRepo:
    repo = LocalRepo(tmp_path / name, name, [])
    repo.write("web.yaml", deployment("web", 1, IMAGE))
    repo.commit("Add web")
    return repo


def state_dir(repo: LocalRepo):
    return repo.path / ".git" / "gitkube"


def test_reconcile_prints_only_changes_and_its_exit_code_says_which(tmp_path):
    repo = make(tmp_path, "cron-quiet")

    first = repo.gitkube("reconcile", "--detailed-exitcode")
    second = repo.gitkube("reconcile", "--detailed-exitcode")

    assert first.code == 2, first.err
    assert "1 deployment created" in first.out
    assert (second.code, second.out, second.err) == (0, "", "")


def test_overlapping_reconciles_never_collide(tmp_path):
    repo = make(tmp_path, "cron-lock")
    with locks.cluster_lock(state_dir(repo), wait=False):
        blocked = repo.gitkube("reconcile")
    assert (blocked.code, blocked.out, blocked.err) == (0, "", "")

    # Two processes started together, as two cron ticks or a tick and a push would.
    argv = [sys.executable, "-m", "gitkube", "reconcile"]
    both = [subprocess.Popen(argv, cwd=repo.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, stdin=subprocess.DEVNULL) for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in both]

    assert [code for code, _, _ in results] == [0, 0], results
    # Either the second found the lock taken, or it ran after the first and found nothing to
    # do: in both cases exactly one of them reports the change, and nothing is doubled.
    assert sum("1 deployment created" in out for _, out, _ in results) == 1, results
    assert [err for _, _, err in results] == ["", ""]
    assert len(json.loads(repo.gitkube("get", "deployments", "-o", "json").out)["items"]) == 1


def test_plan_detailed_exitcode_says_nothing_changes_something_changes_or_error(tmp_path):
    repo = make(tmp_path, "plan-codes")
    assert repo.gitkube("plan", "--detailed-exitcode").code == 2
    repo.gitkube("reconcile")
    assert repo.gitkube("plan", "--detailed-exitcode").code == 0
    repo.write("broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n")
    repo.commit("Break it")
    broken = repo.gitkube("plan", "--detailed-exitcode")
    assert broken.code == 1
    assert "broken.yaml:4" in broken.out + broken.err


def test_a_saved_plan_is_applied_exactly_or_refused_when_git_moved_on(tmp_path):
    repo = make(tmp_path, "saved-plan")
    saved = tmp_path / "web.plan"
    made = repo.gitkube("plan", "--out", str(saved), "-o", "json")
    document = json.loads(saved.read_text())
    assert made.code == 0 and json.loads(made.out)["sourceRevision"] == document["sourceRevision"]
    assert document["kind"] == "Plan" and document["storeRevision"] >= 0
    assert {"create deployment"} <= {f"{a['action']} {a['kind'].lower()}"
                                     for a in document["actions"]}

    repo.write("other.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "other"}, "data": {"a": "b"}})
    head = repo.commit("Another commit")
    stale = repo.gitkube("apply", str(saved))
    assert stale.code == 1
    assert f"the branch has moved on to {head[:12]}; nothing was applied" in stale.err, stale.err
    assert json.loads(repo.gitkube("get", "deployments", "-o", "json").out)["items"] == []

    assert repo.gitkube("plan", "--out", str(saved)).code == 0
    applied = repo.gitkube("apply", str(saved))
    assert applied.code == 0, applied.err
    assert len(json.loads(repo.gitkube("get", "deployments", "-o", "json").out)["items"]) == 1
    again = repo.gitkube("apply", str(saved))
    assert again.code == 1 and "The cluster moved on since the plan" in again.err, again.err


def test_a_rewritten_branch_is_reported_and_applied_only_when_allowed(tmp_path):
    repo = make(tmp_path, "rewrite")
    repo.gitkube("reconcile")
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.write("web.yaml", deployment("web", 2, IMAGE))
    head = repo.commit("Web, rewritten")

    refused = repo.gitkube("reconcile")
    status = repo.gitkube("status")

    assert refused.code == 1
    assert "branch main: was rewritten (force-pushed)" in refused.err, refused.err
    assert f"newest commit {head[:12]} was not applied: branch main: was rewritten" in (
        status.out.replace("\n", " ")), status.out
    web = json.loads(repo.gitkube("get", "deployments", "web", "-o", "json").out)
    assert web["spec"]["replicas"] == 1

    repo.git("config", "gitkube.allowForcePush", "true")
    allowed = repo.gitkube("reconcile")
    assert allowed.code == 0, allowed.err
    web = json.loads(repo.gitkube("get", "deployments", "web", "-o", "json").out)
    assert web["spec"]["replicas"] == 2


def test_events_history_and_the_root_cause_of_a_pending_workload(tmp_path):
    repo = make(tmp_path, "explain")
    repo.gitkube("reconcile")
    pod = json.loads(repo.gitkube("get", "pods", "-o", "json").out)["items"][0]["metadata"]["name"]

    events = repo.gitkube("events")
    status = repo.gitkube("status")
    described = repo.gitkube("describe", "deployment", "web")
    history = repo.gitkube("history")

    assert "SuccessfulCreate" in events.out and f"Created pod {pod}" in events.out
    only = repo.gitkube("events", "--for", "deployment/web")
    assert "replicaset/" not in only.out and "deployment/web" in only.out
    flat = " ".join(status.out.split())
    assert f"default/web: 0/1 ready: pod {pod}: not scheduled: no nodes available" in flat
    assert f"Cause: 0/1 ready: pod {pod}: not scheduled" in " ".join(described.out.split())
    assert "Events:" in described.out and "SuccessfulCreate" in described.out
    assert "1 deployment created; 1 replicaset created; web: 0/1 ready" in history.out


def test_cron_prints_the_crontab_line(tmp_path):
    repo = make(tmp_path, "cron-line")
    done = repo.gitkube("cron")
    assert done.code == 0
    assert done.out.startswith("* * * * * ")
    assert f"-m gitkube --repo {repo.path} reconcile" in done.out


def test_a_pull_request_is_planned_before_it_is_merged(tmp_path):
    """`plan --revision REF`: what merging REF would do, for a CI job on the pull request;
    the cluster branch and the store are untouched."""
    repo = make(tmp_path, "plan-pr")
    assert repo.gitkube("reconcile").code == 0
    main = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("web.yaml", deployment("web", 3, IMAGE))
    repo.write("extra.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "extra"}, "data": {"a": "b"}})
    feature = repo.commit("Scale web, add a ConfigMap")
    repo.git("checkout", "-q", "-b", "broken", main)
    repo.write("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n")
    repo.commit("A broken manifest")
    repo.git("checkout", "-q", "main")

    planned = repo.gitkube("plan", "--revision", "feature", "-o", "json", "--detailed-exitcode")
    assert planned.code == 2, planned.err
    document = json.loads(planned.out)
    assert document["sourceRevision"] == feature
    assert {("create", "ConfigMap", "extra"), ("update", "Deployment", "web")} <= {
        (a["action"], a["kind"], a["name"]) for a in document["actions"]}

    refused = repo.gitkube("plan", "--revision", "broken")
    assert refused.code == 1
    assert "bad.yaml:4" in refused.out + refused.err
    unknown = repo.gitkube("plan", "--revision", "no-such-branch")
    assert unknown.code == 1 and "'no-such-branch' does not name a commit" in unknown.err

    # Nothing moved: main plans no changes, the store still has 1 replica.
    assert repo.gitkube("plan", "--detailed-exitcode").code == 0
    [web] = json.loads(repo.gitkube("get", "deployments", "-o", "json").out)["items"]
    assert web["spec"]["replicas"] == 1
