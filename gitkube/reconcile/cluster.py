"""``Cluster``: one cluster, at home in its Git repository: the library's handle on it.

    with Cluster.open(Path("demo")) as cluster:
        plan = cluster.plan()              # read-only: Git + store + what nodes report
        result = cluster.apply()           # one pass under the cluster lock
        cluster.objects("pods")            # what the store holds now

Thin on purpose: each method hands over to the module that does the job (``passes``
runs a pass, ``planner`` plans, ``reads`` reads the store, ``history`` walks and rolls
back revisions, ``fleet`` asks nodes); ``Home`` holds what they share. A pass holds the
cluster lock (flock in the state dir) from reading the store to committing status, so
two passes never interleave; a second ``reconcile`` started meanwhile gets ``LockHeld``.
The CLI reaches it through ``face``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitkube.api import apps, core, daemonsets, discovery, services, statefulsets, storage
from gitkube.api import node as node_api
from gitkube.api.meta import KubeObject
from gitkube.clock import Clock, SystemClock
from gitkube.reconcile import (
    deletions,
    events,
    history,
    leader,
    passes,
    planner,
    plans,
    reads,
    records,
    results,
    rootcause,
    setup,
    sources,
)
from gitkube.reconcile import fleet as fleet_mod
from gitkube.reconcile import home as home_mod
from gitkube.source import locks, publish, secrets
from gitkube.source import repo as source_repo
from gitkube.source import settings as source_settings
from gitkube.source import status as source_status


class Cluster:
    """A cluster, at home in its Git repository. See the module docstring."""

    def __init__(self, home: home_mod.Home) -> None:
        self.home = home
        self._name: str | None = None

    @classmethod
    def open(cls, repo: Path | None = None, *, state: Path | None = None,
             clock: Clock | None = None) -> Cluster:
        """The cluster whose repository is ``repo`` or holds the current directory."""
        repo_path = setup.find_repository(repo or Path.cwd())
        settings = source_settings.read_settings(repo_path)
        state_dir = state or source_settings.state_dir(repo_path, settings)
        return cls(home_mod.Home.open(repo_path, state_dir, settings, clock or SystemClock()))

    def close(self) -> None:
        self.home.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def repo_path(self) -> Path:
        return self.home.repo_path

    @property
    def state_dir(self) -> Path:
        return self.home.state_dir

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = reads.cluster_name(self.home)
        return self._name

    # ------------------------------------------------------------------ planning, applying
    def validate(self) -> source_repo.Revision:
        """The newest revision of the branch; ``ManifestError`` when it is not valid."""
        revision = self.home.source.read_revision(self.home.source.resolve(self.home.branch))
        return source_repo.require_valid(revision)

    def plan(self, *, refresh: bool = True, revision: str | None = None) -> results.Plan:
        """What a pass would do. ``revision`` (a branch, tag or commit) is planned as if the
        cluster branch pointed at it: what merging a pull request would do, before the merge.
        Without ``refresh`` the nodes are not asked what they run."""
        source = sources.read(self.home, revision)
        observed = fleet_mod.FleetResult()
        if refresh:
            with fleet_mod.Fleet(source.inventory) as fleet:
                observed = fleet.observe()
        snapshot = planner.read_snapshot(self.home.store, source, observed.reports)
        return planner.plan(snapshot, source, self.home.clock, observed.errors)

    def apply(self, *, progress: results.ProgressCallback | None = None,
              wait_for_lock: bool = False, saved: plans.SavedPlan | None = None,
              fleet: fleet_mod.Fleet | None = None,
              fence: leader.Fence | None = None) -> results.PassResult:
        """One pass under the cluster lock. With ``saved``, only if it is still that plan
        (``PlanStale`` otherwise, before anything is written). ``fleet`` is one kept across
        passes (``gitkube serve``): its connections and agent sessions are reused, not
        closed; without it the pass opens its own. With several control machines (an etcd
        store) only the leader runs passes: ``fence`` is the leadership ``gitkube serve``
        holds; without it the pass takes the leadership for itself when nobody leads
        (``NotLeader`` naming the leader when someone does)."""
        report = progress or (lambda _p: None)
        with locks.cluster_lock(self.home.state_dir, wait=wait_for_lock):
            if fence is not None or not self.home.settings.shared_store:
                return passes.run(self.home, self.name, report, saved, fleet, fence)
            with leader.one_pass(self.home.store, timing=self.leader_timing,
                                 remote=publish.origin_url(self.home.repo_path)) as taken:
                return passes.run(self.home, self.name, report, saved, fleet, taken)

    def delete_pod(self, name: str, namespace: str = "default") -> str:
        """``kubectl delete pod`` (``deletions``), under the cluster lock; what was done and
        who makes the pod again, as a sentence."""
        with locks.cluster_lock(self.home.state_dir, wait=True):
            return deletions.delete_pod(self.home.store, name, namespace, self.home.clock)

    @property
    def leader_timing(self) -> leader.Timing:
        settings = self.home.settings
        return leader.Timing(settings.lease_duration, settings.renew_deadline,
                             settings.retry_period)

    def control(self) -> leader.Roster | None:
        """Who leads the cluster and who stands by; None with a store of one machine."""
        return leader.roster(self.home.store) if self.home.settings.shared_store else None

    # ------------------------------------------------------------------ the store
    def objects(self, plural: str) -> list[KubeObject]:
        """Every object of a kind (``pods``, ``deployments``), sorted by namespace and name."""
        return reads.objects(self.home.store, plural)

    def get(self, plural: str, name: str, namespace: str = "default") -> KubeObject | None:
        return reads.get(self.home.store, plural, name, namespace)

    def owned_by(self, owner: KubeObject, plural: str) -> list[KubeObject]:
        """The objects of kind ``plural`` that ``owner`` owns (a Job's pods, say)."""
        return reads.owned_by(self.home.store, owner, plural)

    def pods_on(self, node: str) -> list[core.Pod]:
        """The pods bound to ``node``."""
        return reads.pods_on(self.home.store, node)

    def endpoint_slices(self, svc: services.Service) -> list[discovery.EndpointSlice]:
        """The EndpointSlices of a Service."""
        return reads.slices_of(self.home.store, svc)

    def traffic(self, svc: services.Service) -> list[tuple[str, str]] | str:
        """The selected pods a Service sends no traffic to, and why (or a sentence)."""
        return reads.traffic(self.home.store, svc)

    def explain(self, pod: KubeObject) -> list[results.Fit]:
        """The scheduler's verdict for ``pod`` on every node: (node, fits, why not)."""
        return reads.explain(self.home.store, pod)

    def revision(self) -> int:
        """The store's revision: it moves whenever a pass (or part of one) wrote."""
        return self.home.store.revision()

    def events(self, *, kind: str = "", name: str = "",
               namespace: str | None = None) -> list[events.Event]:
        return events.list_events(self.home.store, kind=kind, name=name, namespace=namespace)

    def last_pass(self) -> results.PassRecord | None:
        return records.last_pass(self.home.store)

    def source_record(self) -> dict[str, Any]:
        """``lastAppliedRevision``, ``lastAttemptedRevision`` and ``lastAttemptedErrors``."""
        return reads.source_record(self.home.store)

    def cause(self, obj: KubeObject) -> str | None:
        """The first reason a Pod or workload is not ready, or a claim not bound (None when
        it is)."""
        if isinstance(obj, storage.PersistentVolumeClaim):
            return reads.claim_waiting(self.home.store, obj)
        nodes = {n.name: n for n in reads.of_kind(self.home.store, node_api.Node)}
        if isinstance(obj, core.Pod):
            found = rootcause.pod_cause(obj, nodes)
            return found[1] if found else None
        if isinstance(obj, (apps.Deployment, statefulsets.StatefulSet, daemonsets.DaemonSet)):
            return rootcause.workload_cause(obj, reads.of_kind(self.home.store, core.Pod),
                                            nodes)
        return None

    def causes(self) -> list[str]:
        """``namespace/name: 1/3 ready: <first cause>`` for each Deployment, StatefulSet and
        DaemonSet not ready, then each lone pod that is not."""
        store = self.home.store
        workloads: list[rootcause.Workload] = [
            *reads.of_kind(store, apps.Deployment), *reads.of_kind(store, statefulsets.StatefulSet),
            *reads.of_kind(store, daemonsets.DaemonSet)]
        return rootcause.causes(workloads, reads.of_kind(store, core.Pod),
                                reads.of_kind(store, node_api.Node))

    # ------------------------------------------------------------------ nodes, Git, daemon
    def logs(self, pod: KubeObject, container: str, *, tail: int = -1) -> str:
        """A container's output, from the node the pod is bound to (the agent's ``logs`` op);
        ``tail`` ≥ 0 keeps only that many last lines."""
        inventory = sources.read(self.home).inventory
        return fleet_mod.container_logs(inventory, pod, container, tail=tail)

    def status_log(self, n: int = 20) -> list[source_status.StatusEntry]:
        """The last ``n`` commits of the status ledger, newest first."""
        return source_status.status_log(self.home.repo_path, n=n)

    def revisions(self, name: str, namespace: str = "default") -> list[history.Revision]:
        """deployment/``name``'s revisions, oldest first, with the commits behind them."""
        deployment = history.require_deployment(self.get("deployments", name, namespace),
                                                name, namespace)
        return history.revisions(self.home.source, deployment, self.objects("replicasets"))

    def rollback(self, name: str, namespace: str = "default",
                 to_revision: int | None = None) -> history.RollbackResult:
        """Commit an earlier revision's pod template of deployment/``name`` to the branch."""
        deployment = history.require_deployment(self.get("deployments", name, namespace),
                                                name, namespace)
        return history.rollback(self.home.source, self.home.branch, deployment,
                                self.objects("replicasets"), to_revision)

    def daemon_pid(self) -> int | None:
        """The pid of the ``gitkube serve`` serving this cluster, or None."""
        return locks.running_daemon(self.home.state_dir)

    # ------------------------------------------------------------------ the age key
    @property
    def age_key_file(self) -> Path:
        return self.home.state_dir / secrets.IDENTITY_FILE

    def public_key(self) -> str | None:
        """The public key of the cluster's age key (None when it has none yet)."""
        keyring = secrets.Keyring.load(self.home.state_dir)
        return keyring.public_key if keyring is not None else None

    def make_key(self) -> str:
        """Make the cluster's age key in its state directory; its public key."""
        return secrets.keygen(self.home.state_dir)
