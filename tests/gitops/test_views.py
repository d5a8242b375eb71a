"""The pure parts of the GitOps workflow, as tables and renders: root causes, events, saved-plan
checks, the ledger's message, hook input, settings, and the status screen (printed and live)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitkube import errors
from gitkube.api import apps, core, node
from gitkube.cli import status, watch
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.reconcile import events, face, ledger, plans, rootcause, serve
from gitkube.source import hooks, locks, settings
from gitkube.store.memory import MemoryStore
from tests.cli import objects as o
from tests.controllers import factories as f

NODES = {name: node.Node.model_validate(doc) for name, doc in {
    "node-1": {"metadata": {"name": "node-1"}, "status": {"conditions": [
        {"type": "Ready", "status": "True"}]}},
    "node-2": {"metadata": {"name": "node-2"}, "status": {"conditions": [
        {"type": "Ready", "status": "Unknown",
         "message": "the gitkube agent has not answered since 12:00:00"}]}}}.items()}
CONTAINERS = [{"name": "web", "image": "busybox:1"}]


def pod(node: str | None = "node-1", *, phase: str = "Running", ready: bool = False,
        state: dict[str, Any] | None = None, conditions: list[dict[str, Any]] | None = None,
        **status: Any) -> dict[str, Any]:
    spec = {"containers": CONTAINERS, **({"nodeName": node} if node else {})}
    container = {"name": "web", "ready": ready, "state": state or {"running": {}}}
    cond = conditions if conditions is not None else [
        {"type": "Ready", "status": "True" if ready else "False"}]
    owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "u1",
              "controller": True}]
    return {"metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"},
                         "ownerReferences": owner},
            "spec": spec, "status": {"phase": phase, "containerStatuses": [container],
                                     "conditions": cond, **status}}


@pytest.mark.parametrize(("doc", "cause"), [
    (pod(ready=True), None),
    (pod(phase="Succeeded"), None),
    (pod("node-2"), "node node-2 is unreachable (the gitkube agent has not answered since "
                    "12:00:00)"),
    (pod("node-9"), "node node-9 is not in the inventory any more"),
    (pod(None, phase="Pending", conditions=[{"type": "PodScheduled", "status": "False",
                                             "message": "0/2 nodes fit: Insufficient cpu"}]),
     "not scheduled: 0/2 nodes fit: Insufficient cpu"),
    (pod(state={"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}),
     "container web is waiting: ImagePullBackOff: no such image"),
    (pod(state={"terminated": {"exitCode": 137, "reason": "OOMKilled"}}),
     "container web exited with code 137 (OOMKilled)"),
    (pod(conditions=[{"type": "Ready", "status": "False",
                      "message": "readiness probe failed: HTTP 503"}]),
     "container web is running but not ready: readiness probe failed: HTTP 503"),
    (pod(state={"waiting": {"reason": "ContainerCreating"}}, phase="Pending"),
     "pending on node-1: the containers are being created"),
], ids=["ready", "finished", "node-unreachable", "node-gone", "unschedulable", "image",
        "exited", "probe", "creating"])
def test_the_first_cause_of_a_pod_not_being_ready(doc: dict[str, Any], cause: str | None) -> None:
    found = rootcause.pod_cause(core.Pod.model_validate(doc), NODES)
    assert (found[1] if found else None) == cause


def test_a_deployment_names_the_cause_furthest_up_the_chain() -> None:
    web = {"metadata": {"name": "web", "namespace": "default"},
           "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": CONTAINERS}}},
           "status": {"readyReplicas": 1}}
    waiting = pod(state={"waiting": {"reason": "CrashLoopBackOff"}})
    lost = pod("node-2")
    lost["metadata"] = {**lost["metadata"], "name": "web-2"}
    ready = pod(ready=True)
    ready["metadata"] = {**ready["metadata"], "name": "web-3"}

    pods = [core.Pod.model_validate(p) for p in (waiting, lost, ready)]
    assert rootcause.causes([apps.Deployment.model_validate(web)], pods, NODES.values()) == [
        "default/web: 1/3 ready: pod web-2: node node-2 is unreachable (the gitkube agent has "
        "not answered since 12:00:00) (and 1 more pod(s))"]


def test_status_shows_causes_what_was_not_applied_and_the_daemon() -> None:
    view = status.StatusView(
        cluster="demo", repo=Path("/srv/demo"), now=o.NOW, daemon=4242,
        causes=["default/web: 0/1 ready: pod web-1: node node-2 is unreachable"],
        source={"lastAppliedRevision": "a" * 40, "lastAttemptedRevision": "b" * 40,
                "lastAttemptedErrors": ["commit bbbbbbbbbbbb: is not signed."]},
        last_pass=face.PassRecord(
            time="2026-01-01T11:59:50Z", source_revision="a" * 40, attempted_revision="b" * 40,
            ok=False, errors=[], summary="web: 0/1 ready", status_commit=None,
            duration_seconds=0.4),
    )
    out = o.console()
    status.render_status(view, out)
    assert o.text_of(out).splitlines() == [
        "Cluster demo  (/srv/demo)  served by gitkube serve (process 4242)",
        "",
        "Nodes: none known yet.",
        "",
        "Pods: none.",
        "",
        "Not ready",
        "  default/web: 0/1 ready: pod web-1: node node-2 is unreachable",
        "",
        "Last pass 10s ago, failed, revision aaaaaaaaaaaa, took 0.4s",
        "  newest commit bbbbbbbbbbbb was not applied: commit bbbbbbbbbbbb: is not signed.",
        "  web: 0/1 ready",
    ]


def test_the_live_screen_is_the_status_view_and_a_hint() -> None:
    out = o.console()
    out.print(watch.screen(status.StatusView("demo", Path("/srv/demo"), o.NOW)))
    assert o.text_of(out).splitlines()[-3:] == [
        "Last pass: none yet. Run `gitkube apply` or `gitkube reconcile`.", "",
        "Watching; Ctrl-C to stop."]


# -- events ------------------------------------------------------------------------------------

RS = f.replicaset("web-abc", 2, owner=f.deployment("web", 2))


@pytest.mark.parametrize(("action", "expected"), [
    (Action(ActionKind.BIND, ObjectRef("Pod", "default", "web-1"), "assigned to node-1",
            node="node-1"), ("Pod", "web-1", "Normal", "Scheduled", "assigned to node-1")),
    (Action(ActionKind.UNSCHEDULABLE, ObjectRef("Pod", "default", "web-1"), "0/1 nodes fit"),
     ("Pod", "web-1", "Warning", "FailedScheduling", "0/1 nodes fit")),
    (Action(ActionKind.CREATE, ObjectRef("Pod", "default", "web-1"), "wants 2, has 1",
            obj=f.pod("web-1", owner=RS), source="replicaset"),
     ("ReplicaSet", "web-abc", "Normal", "SuccessfulCreate", "Created pod web-1: wants 2, has 1")),
    (Action(ActionKind.DELETE, ObjectRef("Pod", "default", "web-1"), "evicted from node-2"),
     ("Pod", "web-1", "Warning", "Evicted", "evicted from node-2")),
    (Action(ActionKind.CREATE, ObjectRef("ConfigMap", "default", "app"), "declared in Git",
            source="desired"), ("ConfigMap", "app", "Normal", "Created", "declared in Git")),
], ids=["bind", "unschedulable", "created-by-controller", "evicted", "created"])
def test_applied_actions_become_events(action: Action, expected: tuple[str, ...]) -> None:
    [event] = events.from_actions([action])
    involved = event["involvedObject"]
    assert (involved["kind"], involved["name"], event["type"], event["reason"],
            event["message"]) == expected


def test_agent_reports_and_errors_become_events() -> None:
    report = {"events": [
        {"type": "Warning", "reason": "Unhealthy", "message": "liveness probe failed",
         "pod": "default/web-1", "container": "web"},
        {"type": "Normal", "reason": "Pulled", "message": "pulled the image", "image": "x:1"}]}
    found = [*events.from_report("node-1", report),
             *events.from_errors({"node-2": "node-2 refused the connection."}, ["a.yaml:3: bad"],
                                 "c" * 40, ["node-2 refused the connection.", "CAS lost"], "demo")]
    assert [(e["involvedObject"]["kind"], e["involvedObject"]["name"], e["reason"],
             e["involvedObject"].get("fieldPath", "")) for e in found] == [
        ("Pod", "web-1", "Unhealthy", "spec.containers{web}"),
        ("Node", "node-1", "Pulled", ""),
        ("Node", "node-2", "NodeUnreachable", ""),
        ("Commit", "cccccccccccc", "RevisionRefused", ""),
        ("Cluster", "demo", "PassError", ""),
    ]


def test_repeated_events_count_up_and_old_or_surplus_ones_are_dropped() -> None:
    store = MemoryStore()
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    probe = events.make("Pod", "default", "web-1", type_="Warning", reason="Unhealthy",
                        message="probe failed", component="agent")
    events.record(store, [probe], start)
    events.record(store, [probe], start + dt.timedelta(seconds=30))
    [kept] = events.list_events(store)
    assert (kept["count"], kept["firstTimestamp"], kept["lastTimestamp"]) == (
        2, "2026-01-01T00:00:00Z", "2026-01-01T00:00:30Z")

    others = [events.make("Pod", "default", f"p-{i}", type_="Normal", reason="Started",
                          message="started", component="agent") for i in range(5)]
    later = start + dt.timedelta(seconds=events.TTL_SECONDS + 60)
    assert events.record(store, others, later, max_events=3) == 3
    assert [e["involvedObject"]["name"] for e in events.list_events(store)] == [
        "p-2", "p-3", "p-4"]
    assert events.list_events(store, kind="pod", name="p-3", namespace="default")[0][
        "reason"] == "Started"


# -- saved plans, the ledger -------------------------------------------------------------------

def plan_doc(head: str, *changes: str, store: int = 7) -> dict[str, Any]:
    actions = []
    for change in changes:
        verb, kind, name = change.split()
        actions.append({"action": verb, "kind": kind, "namespace": "default", "name": name,
                        "reason": "because"})
    return {"kind": "Plan", "cluster": "demo", "sourceRevision": head,
            "attemptedRevision": head, "storeRevision": store, "actions": actions}


def saved(tmp_path: Path, document: dict[str, Any]) -> plans.SavedPlan:
    path = tmp_path / "plan.json"
    plans.save(document, path, created="2026-01-01T00:00:00Z")
    return plans.load(path)


def test_a_saved_plan_passes_while_nothing_moved(tmp_path: Path) -> None:
    plan = saved(tmp_path, plan_doc("a" * 40, "create Deployment web"))
    plans.check(plan, plan_doc("a" * 40, "create Deployment web", store=9))


@pytest.mark.parametrize(("fresh", "said"), [
    (plan_doc("b" * 40, "create Deployment web"),
     "was made at commit aaaaaaaaaaaa, and the branch has moved on to bbbbbbbbbbbb"),
    (plan_doc("a" * 40, "create Deployment web", "delete Pod old", store=12),
     "The cluster moved on since the plan {path} was made (store revision 7 → 12): it would "
     "now also delete pod default/old."),
    (plan_doc("a" * 40, store=12), "it would no longer create deployment default/web."),
], ids=["git-moved", "more-changes", "fewer-changes"])
def test_a_stale_plan_is_refused_with_what_moved(tmp_path: Path, fresh: dict[str, Any],
                                                 said: str) -> None:
    plan = saved(tmp_path, plan_doc("a" * 40, "create Deployment web"))
    with pytest.raises(errors.PlanStale) as refused:
        plans.check(plan, fresh)
    assert said.format(path=plan.path) in str(refused.value)


def test_a_file_that_is_not_a_plan_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"kind": "List"}')
    with pytest.raises(errors.ConfigError, match="is not a plan saved by"):
        plans.load(tmp_path / "x.json")


def test_the_ledger_message_says_what_moved_where() -> None:
    started = [Action(ActionKind.START, ObjectRef("Pod", "default", f"web-{i}"), "new",
                      node="node-1") for i in range(2)]
    assert ledger.summarize(started, ready={"web": "3/3 ready"}, node_errors={},
                            rescheduled={"node-2": 1}) == (
        "2 pods started on node-1; 1 pod rescheduled from node-2; web: 3/3 ready")


# -- hooks, settings, serve --------------------------------------------------------------------

def test_hook_input_lines_become_ref_updates() -> None:
    zero = "0" * 40
    updates = hooks.parse_updates([f"{zero} {'a' * 40} refs/heads/main\n", "garbage\n",
                                   f"{'a' * 40} {zero} refs/heads/old\n"])
    assert [(u.ref, u.creates, u.deletes) for u in updates] == [
        ("refs/heads/main", True, False), ("refs/heads/old", False, True)]


def test_settings_come_from_git_config(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path)], check=True)
    for name, value in (("gitkube.branch", "prod"), ("gitkube.allowForcePush", "yes"),
                        ("gitkube.allowedSigners", "signers"),
                        ("gitkube.pathSigners", "prod/ /etc/prod_signers")):
        subprocess.run(["git", "-C", str(tmp_path), "config", "--add", name, value], check=True)
    found = settings.read_settings(tmp_path)
    assert found == settings.Settings(
        branch="prod", allow_force_push=True, allowed_signers=tmp_path / "signers",
        path_signers=(settings.PathRule("prod/", Path("/etc/prod_signers")),))
    assert settings.state_dir(tmp_path) == tmp_path / "gitkube"


def test_one_daemon_per_cluster(tmp_path: Path) -> None:
    assert locks.running_daemon(tmp_path) is None
    with locks.serve_lock(tmp_path):
        assert locks.running_daemon(tmp_path) is not None
        with pytest.raises(errors.LockHeld, match="gitkube serve already runs"), \
                locks.serve_lock(tmp_path):
            pass
    assert locks.running_daemon(tmp_path) is None


def test_the_systemd_unit_runs_serve_from_this_python() -> None:
    unit = serve.systemd_unit("/opt/venv/bin/python", Path("/srv/cluster.git"), interval=30,
                              follow=None, containers_conf="/etc/containers/gitkube.conf")
    assert "ExecStart=/opt/venv/bin/python -m gitkube --repo /srv/cluster.git serve\n" in unit
    assert "Environment=CONTAINERS_CONF=/etc/containers/gitkube.conf\n" in unit
    assert "KillSignal=SIGTERM" in unit and "WantedBy=multi-user.target" in unit
