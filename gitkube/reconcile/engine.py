"""One reconcile pass, end to end: source → store → planners → apply → nodes → status.

This is the only module that wires the layers together. ``Cluster`` is the public
library API the CLI (and ``serve``, cron, tests) use:

    cluster = Cluster.open(Path("demo"))
    plan = cluster.plan()            # read-only: Git + store + what nodes report
    result = cluster.apply()         # plan again under the lock, then carry it out
    cluster.objects("pods")          # what the store holds now

A pass holds the cluster lock (flock in the state dir) from reading the store to
committing status, so two passes never interleave; a second ``reconcile`` started
meanwhile gets ``LockHeld``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitkube.api import keys, registry
from gitkube.api import node as node_api
from gitkube.api.inventory import Inventory
from gitkube.api.meta import KubeObject
from gitkube.clock import Clock, SystemClock, format_time
from gitkube.controllers import evictions, lowering, podstatus
from gitkube.errors import ConfigError, Problem, SourceError, StoreConflict
from gitkube.planning.actions import NODE_KINDS, STORE_KINDS, Action, ActionKind
from gitkube.planning.snapshot import Snapshot, Stored
from gitkube.reconcile import events as events_mod
from gitkube.reconcile import fixpoint, ledger, plans, stores
from gitkube.reconcile import fleet as fleet_mod
from gitkube.source import hooks as source_hooks
from gitkube.source import init as source_init
from gitkube.source import locks, signatures
from gitkube.source import repo as source_repo
from gitkube.source import settings as source_settings
from gitkube.source import status as source_status
from gitkube.store import base as store_base


@dataclass(frozen=True)
class Plan:
    """What a pass would do, computed without side effects."""

    #: The Git commit planned from (the last good one when the newest is invalid).
    source_revision: str
    #: The newest commit of the source branch, when it differs because it is invalid.
    attempted_revision: str
    store_revision: int
    actions: list[Action]
    #: Manifest problems of ``attempted_revision`` (empty when it is valid).
    problems: list[Problem] = field(default_factory=list)
    #: Nodes that could not be reached while planning: name → sentence.
    unreachable: dict[str, str] = field(default_factory=dict)
    cluster: str = ""

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.is_change]

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def of_kind(self, *kinds: ActionKind) -> list[Action]:
        return [a for a in self.actions if a.kind in kinds]

    def to_dict(self) -> dict[str, Any]:
        """The ``plan -o json`` document; CI bots parse it, so keys are only ever added."""
        return {
            "apiVersion": plans.API_VERSION,
            "kind": plans.KIND,
            "cluster": self.cluster,
            "sourceRevision": self.source_revision,
            "attemptedRevision": self.attempted_revision,
            "storeRevision": self.store_revision,
            "changes": len(self.changes),
            "actions": [a.to_dict() for a in self.actions if a.kind is not ActionKind.NOOP
                        and not a.status_only],
            "noops": [a.to_dict() for a in self.actions if a.kind is ActionKind.NOOP],
            "problems": [str(p) for p in self.problems],
            "unreachable": dict(self.unreachable),
        }


@dataclass(frozen=True)
class Progress:
    """Reported while a pass applies: ``stage`` is one of store, node, status."""

    stage: str
    message: str
    done: int = 0
    total: int = 0


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class PassResult:
    plan: Plan
    #: The actions carried out (store writes done, node starts/stops that succeeded).
    applied: list[Action]
    #: Sentences for what failed (node errors, CAS conflicts given up on, image problems).
    errors: list[str]
    #: The gitkube/status commit written, None when observed state did not change.
    status_commit: str | None
    started_at: dt.datetime
    finished_at: dt.datetime
    #: One line for logs and commit messages: "3 pods started on node-1; web: 3/3 ready".
    summary: str

    @property
    def ok(self) -> bool:
        return not self.errors and not self.plan.problems

    @property
    def changed(self) -> bool:
        return any(a.is_change for a in self.applied)


@dataclass(frozen=True)
class PassRecord:
    """The last pass, as kept in the store under /gitkube/pass (``gitkube status`` shows it)."""

    time: str
    source_revision: str
    attempted_revision: str
    ok: bool
    errors: list[str]
    summary: str
    status_commit: str | None
    duration_seconds: float


#: Store history kept for watchers, in revisions.
HISTORY_REVISIONS = 10_000


@dataclass(frozen=True)
class _Source:
    """The revision to plan from, and what became of the newest one."""

    good: source_repo.Revision | None
    head: str
    problems: list[Problem]


class Cluster:
    """A cluster, at home in its Git repository. See the module docstring."""

    def __init__(self, repo_path: Path, state_dir: Path, *, branch: str = "main",
                 clock: Clock | None = None,
                 settings: source_settings.Settings | None = None) -> None:
        self.repo_path = repo_path
        self.state_dir = state_dir
        self.branch = branch
        #: The repository's ``gitkube.*`` git config: force-push and signing policy.
        self.settings = settings or source_settings.Settings(branch=branch)
        self.clock: Clock = clock or SystemClock()
        # 0700: the store holds Secret values and the directory may hold the cluster's age key.
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.source = source_repo.SourceRepo(repo_path, state_dir=state_dir)
        self.store: store_base.Store = stores.open_cluster_store(state_dir, self.settings)
        self._name: str | None = None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, repo: Path | None = None, *, state: Path | None = None,
             clock: Clock | None = None) -> Cluster:
        repo_path = find_repository(repo or Path.cwd())
        settings = source_settings.read_settings(repo_path)
        state_dir = state or source_settings.state_dir(repo_path, settings)
        return cls(repo_path, state_dir, branch=settings.branch, clock=clock, settings=settings)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        if self._name is None:
            record = self.store.get(keys.CLUSTER_KEY)
            self._name = str(record.value.get("name")) if record else self._inventory_name()
        return self._name

    def _inventory_name(self) -> str:
        try:
            source = self._read_source()
        except SourceError:
            return self.repo_path.name
        return source.good.inventory.cluster if source.good and source.good.inventory else (
            self.repo_path.name)

    # ------------------------------------------------------------------ reading
    def validate(self) -> source_repo.Revision:
        revision = self.source.read_revision(self.source.resolve(self.branch))
        source_repo.require_valid(revision)
        return revision

    def objects(self, plural: str) -> list[KubeObject]:
        kvs, _ = self.store.range(keys.kind_prefix(plural))
        return [registry.from_stored(kv.value) for kv in kvs]

    def get(self, plural: str, name: str, namespace: str = "default") -> KubeObject | None:
        cls = registry.model_for_plural(plural)
        kv = self.store.get(keys.object_key(plural, namespace if cls.namespaced else "", name))
        return registry.from_stored(kv.value) if kv else None

    def logs(self, pod: KubeObject, container: str, *, tail: int = -1) -> str:
        """A container's output, from the node the pod is bound to (the agent's ``logs`` op);
        ``tail`` ≥ 0 keeps only that many last lines."""
        node_name = getattr(getattr(pod, "spec", None), "node_name", None)
        inventory = _inventory_of(self._read_source())
        node = next((n for n in inventory.nodes if n.name == node_name), None)
        if node is None:
            raise ConfigError(f"Pod {pod.namespace}/{pod.name} is not on a node of the "
                              "inventory (not scheduled yet, or its node left); it has no logs.")
        with fleet_mod.Fleet(inventory) as fleet:
            answer = fleet.client(node).request("logs", pod_uid=pod.metadata.uid or "",
                                                container=container, tail=tail)
        return str(answer.get("logs", ""))

    def last_pass(self) -> PassRecord | None:
        kv = self.store.get(keys.PASS_KEY)
        return PassRecord(**kv.value) if kv else None

    def source_record(self) -> dict[str, Any]:
        """``lastAppliedRevision``, ``lastAttemptedRevision`` and ``lastAttemptedErrors``."""
        kv = self.store.get(keys.SOURCE_KEY)
        return dict(kv.value) if kv else {}

    def events(self, *, kind: str = "", name: str = "",
               namespace: str | None = None) -> list[events_mod.Event]:
        return events_mod.list_events(self.store, kind=kind, name=name, namespace=namespace)

    # ------------------------------------------------------------------ planning
    def plan(self, *, refresh: bool = True, revision: str | None = None) -> Plan:
        """What a pass would do. ``revision`` (a branch, tag or commit) is planned as if the
        cluster branch pointed at it: what merging a pull request would do, before the merge."""
        source = self._read_source(revision)
        inventory = _inventory_of(source)
        observed: fleet_mod.FleetResult = fleet_mod.FleetResult()
        if refresh:
            with fleet_mod.Fleet(inventory) as fleet:
                observed = fleet.observe()
        return self._plan(source, inventory, observed)

    def _plan(self, source: _Source, inventory: Inventory,
              observed: fleet_mod.FleetResult) -> Plan:
        snapshot = self._snapshot(source, inventory, observed.reports)
        actions = fixpoint.plan_pass(snapshot, self.clock)
        return Plan(
            source_revision=source.good.sha if source.good else "",
            attempted_revision=source.head,
            store_revision=snapshot.revision,
            actions=actions,
            problems=source.problems,
            unreachable=dict(observed.errors),
            cluster=inventory.cluster,
        )

    def _read_source(self, revision: str | None = None) -> _Source:
        """The newest revision (or ``revision``) when it may be applied; else the last applied
        one, and why."""
        head = self.source.resolve(revision or self.branch)
        newest = self.source.read_revision(head)
        record = self.store.get(keys.SOURCE_KEY)
        last = str(record.value.get("lastAppliedRevision", "")) if record else ""
        problems = list(newest.problems)
        rewritten = bool(last) and last != head and not self._descends(last, head)
        if rewritten and not self.settings.allow_force_push:
            problems.insert(0, Problem(
                f"branch {self.branch}", 0,
                f"was rewritten (force-pushed): the applied commit {last[:12]} is not an "
                f"ancestor of {head[:12]}, so the cluster stays at {last[:12]}. Push a commit "
                f"that descends from it, or allow rewrites with `git config "
                f"gitkube.allowForcePush true`."))
        if self.settings.signing_required and head != last:
            base = [last] if last and not rewritten else self.source_parents(head)
            problems.extend(refusal.problem() for refusal in signatures.check_range(
                self.repo_path, self.settings, head, base))
        if not problems:
            return _Source(newest, head, [])
        good = None
        if last and last != head:
            try:
                good = self.source.read_revision(last)
            except SourceError:
                good = None  # the rewritten-away commit is gone (gc): nothing to plan from
        return _Source(good, head, problems)

    def _descends(self, ancestor: str, descendant: str) -> bool:
        try:
            return self.source.is_ancestor(ancestor, descendant)
        except SourceError:
            return False

    def source_parents(self, sha: str) -> list[str]:
        out = subprocess.run(["git", "-C", str(self.repo_path), "rev-parse", f"{sha}^@"],
                             capture_output=True, text=True, check=False)
        return out.stdout.split()

    def _snapshot(self, source: _Source, inventory: Inventory,
                  reports: dict[str, dict[str, Any]]) -> Snapshot:
        kvs, revision = self.store.range(keys.REGISTRY)
        objects = {kv.key: Stored(registry.from_stored(kv.value), kv.mod_revision) for kv in kvs
                   if not kv.key.startswith(events_mod.PREFIX)}
        desired: dict[str, KubeObject] | None = None
        if source.good is not None:
            desired = {obj.key: obj for obj in source.good.objects}
            grace = f"{inventory.settings.node_grace_period_seconds:g}"
            for inv_node in inventory.nodes:
                node = node_api.node_from_inventory(inv_node)
                node.metadata.annotations[podstatus.GRACE_ANNOTATION] = grace
                node.metadata.annotations[evictions.EVICTION_TIMEOUT_ANNOTATION] = (
                    f"{inventory.settings.pod_eviction_timeout_seconds:g}")
                desired[node.key] = node
        return Snapshot(
            revision=revision,
            objects=objects,
            desired=desired,
            source_revision=source.good.sha if source.good else "",
            observed=reports,
            cluster=inventory.cluster,
            settings=inventory.settings,
        )

    # ------------------------------------------------------------------ applying
    def apply(self, *, progress: ProgressCallback | None = None, wait_for_lock: bool = False,
              saved: plans.SavedPlan | None = None,
              fleet: fleet_mod.Fleet | None = None) -> PassResult:
        """One pass under the cluster lock. With ``saved``, only if it is still that plan
        (``PlanStale`` otherwise, before anything is written). ``fleet`` is one kept across
        passes (``gitkube serve``): its connections and agent sessions are reused, not
        closed; without it the pass opens its own."""
        with locks.cluster_lock(self.state_dir, wait=wait_for_lock):
            return self._pass(progress or (lambda _p: None), saved, fleet)

    def _pass(self, progress: ProgressCallback, saved: plans.SavedPlan | None = None,
              kept: fleet_mod.Fleet | None = None) -> PassResult:
        started = self.clock.now()
        began = time.monotonic()
        source = self._read_source()
        inventory = _inventory_of(source)
        errors: list[str] = []
        applied: list[Action] = []
        with _fleet_for(inventory, kept) as fleet:
            progress(Progress("observe", f"observing {len(inventory.nodes)} node(s)"))
            observed = fleet.observe()
            plan = self._plan(source, inventory, observed)
            if saved is not None:
                plans.check(saved, plan.to_dict())
            errors.extend(plan.unreachable.values())
            before = self._snapshot(source, inventory, observed.reports)

            store_actions = [a for a in plan.actions if a.kind in STORE_KINDS]
            progress(Progress("store", f"writing {len(store_actions)} object change(s)"))
            self._write(store_actions, source=source)
            applied.extend(store_actions)

            snapshot = self._snapshot(source, inventory, observed.reports)
            pods_by_node = self._pods_by_node(snapshot, observed.reports)
            total = len(pods_by_node)
            done: list[str] = []

            def node_done(name: str) -> None:
                done.append(name)
                progress(Progress("node", f"{name} converged", len(done), total))

            progress(Progress("node", f"converging {total} node(s)", 0, total))
            converged = fleet.converge(pods_by_node, observed.reports, on_node_done=node_done)
            errors.extend(converged.errors.values())
            applied.extend(a for a in plan.actions
                           if a.kind in NODE_KINDS and a.node in converged.reports)

            reports = {**observed.reports, **converged.reports}
            after = self._snapshot(source, inventory, reports)
            status_updates = [a for a in fixpoint.plan_pass(after, self.clock)
                              if a.kind in STORE_KINDS and a.status_only]
            self._write(status_updates, source=None)
            applied.extend(status_updates)

        progress(Progress("status", "recording status"))
        ready = self._readiness()
        node_errors = converged.errors | observed.errors
        moved = rescheduled(before, applied)
        again = restarted(before, applied)
        summary = ledger.summarize(applied, ready=ready, node_errors=node_errors,
                                   rescheduled=moved, restarted=again)
        commit = self._commit_status(source, inventory, applied, ready, node_errors, moved, again)
        finished = self.clock.now()
        result = PassResult(plan=plan, applied=applied, errors=errors, status_commit=commit,
                            started_at=started, finished_at=finished, summary=summary)
        self._record_pass(result, time.monotonic() - began)
        self._record_events(result, {**observed.reports, **converged.reports}, node_errors)
        return result

    def _record_events(self, result: PassResult, reports: dict[str, dict[str, Any]],
                       node_errors: dict[str, str]) -> None:
        found = events_mod.from_actions(result.applied)
        for node, report in sorted(reports.items()):
            found.extend(events_mod.from_report(node, report))
        found.extend(events_mod.from_errors(
            node_errors, [str(p) for p in result.plan.problems],
            result.plan.attempted_revision if result.plan.problems else "",
            result.errors, result.plan.cluster or self.name))
        events_mod.record(self.store, found, result.finished_at)

    def _pods_by_node(self, snapshot: Snapshot,
                      reports: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
        """The pods each reached node should run, lowered into the agent's shape."""
        from gitkube.api.core import Pod

        by_node: dict[str, list[Any]] = {name: [] for name in reports}
        for pod in snapshot.of_kind(Pod):
            node = pod.spec.node_name
            if node not in by_node or pod.metadata.deletion_timestamp:
                continue
            if pod.status.phase in ("Succeeded", "Failed") and not _has_containers(
                    reports[node], pod.metadata.uid):
                continue  # finished and gone from the node: never run again (kubelet's rule)
            try:
                by_node[node].append(lowering.lower_pod(pod, snapshot))
            except lowering.LoweringError:
                continue  # the planners put the reason in the pod's status
        return by_node

    def _write(self, actions: list[Action], *, source: _Source | None) -> None:
        compares: list[store_base.Compare] = []
        ops: list[store_base.Op] = []
        for action in actions:
            key = action.obj.key if action.obj is not None else registry.key_for(
                action.target.kind, action.target.namespace, action.target.name)
            if action.expected_revision is not None:
                compares.append(store_base.Compare(key, action.expected_revision))
            if action.kind is ActionKind.DELETE:
                ops.append(store_base.Delete(key))
            elif action.obj is not None:
                ops.append(store_base.Put(key, action.obj.to_dict()))
        if source is not None:
            ops.append(store_base.Put(keys.SOURCE_KEY, {
                "lastAppliedRevision": source.good.sha if source.good else "",
                "lastAttemptedRevision": source.head,
                "lastAttemptedErrors": [str(p) for p in source.problems],
            }))
            ops.append(store_base.Put(keys.CLUSTER_KEY, {"name": self.name}))
        if not ops:
            return
        result = self.store.txn(compares, ops)
        if not result.succeeded:
            raise StoreConflict(
                f"The store changed while this pass planned ({', '.join(result.conflicts)}); "
                "nothing was written. The next pass will plan again.", retry_after=1.0)

    def _readiness(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for deployment in self.objects("deployments"):
            data = deployment.to_dict()
            want = data.get("spec", {}).get("replicas", 1)
            have = data.get("status", {}).get("readyReplicas", 0) or 0
            out[deployment.name] = f"{have}/{want} ready"
        return out

    def _commit_status(self, source: _Source, inventory: Inventory, applied: list[Action],
                       ready: dict[str, str], node_errors: dict[str, str],
                       moved: dict[str, int], restarted_: dict[str, str]) -> str | None:
        kvs, _ = self.store.range(keys.REGISTRY)
        objects = [registry.from_stored(kv.value) for kv in kvs
                   if not kv.key.startswith(events_mod.PREFIX)]
        revision = source.good.sha if source.good else source.head
        files = ledger.status_files(objects, source_revision=revision, cluster=inventory.cluster,
                                    digest_key=self._ledger_key(),
                                    attempted_revision=source.head,
                                    attempted_errors=[str(p) for p in source.problems])
        message = ledger.commit_message(applied, source_revision=revision, ready=ready,
                                        node_errors=node_errors, rescheduled=moved,
                                        restarted=restarted_)
        return source_status.write_status(self.repo_path, files, message)

    def _ledger_key(self) -> bytes:
        """The cluster's key for the ledger's Secret digests, made on first use (0600)."""
        path = self.state_dir / "ledger.key"
        try:
            return path.read_bytes()
        except FileNotFoundError:
            key = secrets.token_bytes(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(key)
            return key

    def _record_pass(self, result: PassResult, duration: float) -> None:
        record = PassRecord(
            time=format_time(result.finished_at),
            source_revision=result.plan.source_revision,
            attempted_revision=result.plan.attempted_revision,
            ok=result.ok,
            errors=result.errors + [str(p) for p in result.plan.problems],
            summary=result.summary,
            status_commit=result.status_commit,
            duration_seconds=round(duration, 3),
        )
        done = self.store.txn([], [store_base.Put(keys.PASS_KEY, record.__dict__)])
        # Watchers need recent history only; without compaction every put is kept forever.
        if done.revision > HISTORY_REVISIONS:
            self.store.compact(done.revision - HISTORY_REVISIONS)


@contextlib.contextmanager
def _fleet_for(inventory: Inventory, kept: fleet_mod.Fleet | None
               ) -> Iterator[fleet_mod.Fleet]:
    """``kept`` pointed at this pass's inventory (left open), or a fleet for this pass."""
    if kept is not None:
        kept.use(inventory)
        yield kept
        return
    with fleet_mod.Fleet(inventory) as fleet:
        yield fleet


def restarted(before: Snapshot, applied: list[Action]) -> dict[str, str]:
    """Pods whose containers restarted since the last pass: pod name → what ended the
    previous run (``main: Error, exit 137``; ``main: liveness probe failed``)."""
    from gitkube.api.core import Pod

    found: dict[str, str] = {}
    for action in applied:
        pod = action.obj
        if action.kind is not ActionKind.UPDATE or not isinstance(pod, Pod):
            continue
        stored = before.get(pod.key)
        old = stored.obj if stored is not None else None
        counts = ({s.name: s.restart_count for s in old.status.container_statuses}
                  if isinstance(old, Pod) else {})
        why = []
        for status in pod.status.container_statuses:
            if status.restart_count <= counts.get(status.name, 0):
                continue
            ended = status.last_state.terminated
            message = (ended.message or "") if ended is not None else ""
            if message.startswith(("liveness probe failed", "startup probe failed")):
                why.append(f"{status.name}: {message.split(':', 1)[0]}")
            elif ended is not None:
                why.append(f"{status.name}: {ended.reason or 'Error'}, exit {ended.exit_code}")
            else:
                why.append(status.name)
        if why:
            found[pod.name] = "; ".join(why)
    return found


def rescheduled(before: Snapshot, applied: list[Action]) -> dict[str, int]:
    """Pods deleted from a node while their controller bound a replacement elsewhere:
    node → how many moved away from it this pass."""
    from gitkube.api.core import Pod

    bound_by_owner: dict[str, set[str]] = {}
    for action in applied:
        if action.kind is ActionKind.BIND and action.obj is not None and action.node:
            for ref in action.obj.metadata.owner_references:
                bound_by_owner.setdefault(ref.uid, set()).add(action.node)
    moved: dict[str, int] = {}
    for action in applied:
        if action.kind is not ActionKind.DELETE or action.target.kind != "Pod":
            continue
        stored = before.get(registry.key_for("Pod", action.target.namespace, action.target.name))
        pod = stored.obj if stored is not None else None
        if not isinstance(pod, Pod) or not pod.spec.node_name:
            continue
        node = pod.spec.node_name
        if any(bound_by_owner.get(ref.uid, set()) - {node}
               for ref in pod.metadata.owner_references):
            moved[node] = moved.get(node, 0) + 1
    return moved


def _has_containers(report: dict[str, Any], uid: str | None) -> bool:
    """Whether the node still has containers of pod ``uid`` (kept for their logs)."""
    return any(c.get("containerID") for p in report.get("pods") or [] if p.get("uid") == uid
               for c in p.get("containers") or [])


def _inventory_of(source: _Source) -> Inventory:
    if source.good is not None and source.good.inventory is not None:
        return source.good.inventory
    return Inventory()


# --------------------------------------------------------------------------- repositories

def find_repository(start: Path) -> Path:
    """The cluster repository at or above ``start`` (a work tree or a bare repository)."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists() or (
            (candidate / "HEAD").is_file() and (candidate / "objects").is_dir()
        ):
            return candidate
    raise ConfigError(
        f"{start} is not inside a cluster repository; run `gitkube init DIR` to make one, "
        "or pass --repo PATH."
    )


def default_node_name() -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower()).strip("-")[:63]
    return name or "node-1"


def local_inventory(cluster: str) -> str:
    """inventory.yaml for a one-node cluster on this machine."""
    conf = os.environ.get("CONTAINERS_CONF", "")
    runtime = f"\n      containersConf: {conf}" if conf else ""
    return (
        "# The machines of this cluster. See gitkube's inventory.yaml for an SSH example.\n"
        "apiVersion: gitkube.io/v1alpha1\n"
        "kind: Inventory\n"
        f"cluster: {cluster}\n"
        "nodes:\n"
        f"  - name: {default_node_name()}\n"
        "    transport: local\n"
        "    runtime:\n"
        f"      kind: podman{runtime}\n"
    )


def init_cluster(directory: Path, *, from_folder: Path | None = None, state: Path | None = None,
                 bare: bool = False) -> str:
    """Make ``directory`` a cluster repository; returns the first commit's sha."""
    cluster = re.sub(r"[^a-z0-9-]+", "-", directory.resolve().name.lower()).strip("-") or "gitkube"
    cluster = cluster[:63].rstrip("-")  # a DNS label, as inventory.yaml requires
    sha = source_init.init_repository(directory, from_folder, local_inventory(cluster),
                                      bare=bare)
    if state is not None:
        subprocess.run(["git", "-C", str(directory), "config", "gitkube.state",
                        str(state.resolve())], check=True)
    if bare:
        source_hooks.install(directory)
    return sha
