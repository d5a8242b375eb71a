"""One reconcile pass: observe the nodes, plan, write the store, converge the nodes,
record their status, commit the ledger.

The store is read once, into the snapshot the pass plans on (``planner``), and the plan
is computed once. Its store actions are written in one compare-and-swap transaction;
as that succeeded, the snapshot with those actions (``Snapshot.with_actions``) is what
the store holds, and it is what the nodes are converged to. After the converge only
the status planners run (``fixpoint.plan_status``), on that snapshot with the nodes'
new reports; their writes give the snapshot the ledger is committed from.

The caller (``Cluster.apply``) holds the cluster lock for the whole pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from gitkube.agent import netprotocol
from gitkube.api import core
from gitkube.api.inventory import Inventory
from gitkube.controllers import lowering, nodenetwork, volumes
from gitkube.planning.actions import NODE_KINDS, STORE_KINDS, Action
from gitkube.planning.snapshot import Snapshot
from gitkube.reconcile import (
    fixpoint,
    leader,
    ledger,
    planner,
    plans,
    records,
    results,
    sources,
    summaries,
    writes,
)
from gitkube.reconcile import fleet as fleet_mod
from gitkube.reconcile import home as home_mod


def run(home: home_mod.Home, cluster: str, progress: results.ProgressCallback,
        saved: plans.SavedPlan | None = None,
        kept: fleet_mod.Fleet | None = None,
        fence: leader.Fence | None = None) -> results.PassResult:
    """One pass of the cluster named ``cluster``. With ``saved``, only if it is still that
    plan; ``kept`` is a fleet kept across passes (``gitkube serve``), left open. With
    ``fence`` (a leader's pass, several control machines) every store write compares the
    leader key, every node request carries the term, and the ledger is published."""
    started = home.clock.now()
    began = time.monotonic()
    if fence is not None:
        home = dataclasses.replace(home, store=fence.leadership.fence(home.store))
    source = sources.read(home)
    with _fleet_for(source.inventory, kept) as fleet:
        fleet.lead(fence.leadership.term if fence else None, fence.check if fence else None)
        progress(results.Progress("observe",
                                  f"observing {len(source.inventory.nodes)} node(s)"))
        observed = fleet.observe()
        before = planner.read_snapshot(home.store, source, observed.reports)
        plan = planner.plan(before, source, home.clock, observed.errors)
        if saved is not None:
            plans.check(saved, plan.to_dict())
        store_actions = [a for a in plan.actions if a.kind in STORE_KINDS]
        progress(results.Progress("store", f"writing {len(store_actions)} object change(s)"))
        written = writes.write(home.store, store_actions, writes.source_record(source, cluster))
        snapshot = before.with_actions(store_actions, written_at=written)
        converged, sent = _converge(fleet, snapshot, observed.reports, progress)
        reports = {**observed.reports, **converged.reports}
        reported = dataclasses.replace(snapshot, observed=reports)
        status = fixpoint.plan_status(reported, home.clock)
        after = reported.with_actions(status, written_at=writes.write(home.store, status))
        _push_networks(fleet, after, sent)
    applied = [*store_actions,
               *(a for a in plan.actions if a.kind in NODE_KINDS and a.node in converged.reports),
               *status]
    progress(results.Progress("status", "recording status"))
    node_errors = converged.errors | observed.errors
    result = _result(home, source, plan, before, after, applied, node_errors, started,
                     errors=[*plan.unreachable.values(), *converged.errors.values(),
                             *network_errors(converged.reports)],
                     fence=fence)
    records.record_pass(home.store, result, time.monotonic() - began)
    records.record_events(home.store, result, reports, node_errors, cluster)
    return result


def _result(home: home_mod.Home, source: sources.PassSource, plan: results.Plan,
            before: Snapshot, after: Snapshot, applied: list[Action],
            node_errors: dict[str, str], started: dt.datetime, *, errors: list[str],
            fence: leader.Fence | None) -> results.PassResult:
    """The summary line and the status commit of what the pass did."""
    ready = summaries.readiness(after)
    moved = summaries.rescheduled(before, applied)
    again = summaries.restarted(before, applied)
    summary = ledger.summarize(applied, ready=ready, node_errors=node_errors,
                               rescheduled=moved, restarted=again)
    commit = records.commit_status(home.repo_path, home.state_dir, source, after, applied,
                                   ready=ready, node_errors=node_errors, rescheduled=moved,
                                   restarted=again, fence=fence)
    return results.PassResult(plan=plan, applied=applied, errors=errors, status_commit=commit,
                              started_at=started, finished_at=home.clock.now(),
                              summary=summary)


def _converge(fleet: fleet_mod.Fleet, snapshot: Snapshot,
              reports: Mapping[str, Mapping[str, Any]], progress: results.ProgressCallback,
              ) -> tuple[fleet_mod.FleetResult, dict[str, netprotocol.NetworkRun]]:
    """The nodes converged, and the networks their converges carried."""
    pods_by_node = _pods_by_node(snapshot, reports)
    total = len(pods_by_node)
    done: list[str] = []

    def node_done(name: str) -> None:
        done.append(name)
        progress(results.Progress("node", f"{name} converged", len(done), total))

    progress(results.Progress("node", f"converging {total} node(s)", 0, total))
    # Released volumes of reclaimPolicy Delete: their node removes the directory.
    extras: dict[str, dict[str, Any]] = {
        node: {"removeVolumes": paths} for node in pods_by_node
        if (paths := volumes.plan_removals(snapshot, node))}
    sent = networks_of(snapshot, fleet.inventory, pods_by_node)
    for node, network in sent.items():
        extras.setdefault(node, {})["network"] = network
    return fleet.converge(pods_by_node, reports, on_node_done=node_done, extras=extras), sent


def _push_networks(fleet: fleet_mod.Fleet, snapshot: Snapshot,
                   sent: Mapping[str, netprotocol.NetworkRun]) -> None:
    """Readiness the converges reported changes EndpointSlices in the status just written:
    the nodes get their new network now (an observe carrying it), not a pass later, so a
    pod that stopped being Ready stops getting traffic on every node within this pass."""
    now = networks_of(snapshot, fleet.inventory, sent)
    changed = {name: {"network": run} for name, run in now.items() if run != sent.get(name)}
    if changed:
        fleet.observe([n for n in fleet.inventory.nodes if n.name in changed], extras=changed)


def networks_of(snapshot: Snapshot, inventory: Inventory, nodes: Iterable[str]
                ) -> dict[str, netprotocol.NetworkRun]:
    """The share of the cluster network each of ``nodes`` programs. Simulated nodes have no
    kernel to program: their converges carry none (thousands of them would each carry every
    Service's endpoints for nothing)."""
    wanted = set(nodes)
    real = [n.name for n in inventory.nodes if n.name in wanted and n.runtime.kind != "sim"]
    return nodenetwork.lower_networks(snapshot, real)


def network_errors(reports: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What the nodes could not program of their share of the network (a node another
    cannot route to, a failed nft transaction), as the agents said it."""
    return [str(e) for _, report in sorted(reports.items())
            for e in (report.get("network") or {}).get("errors") or []]


def _pods_by_node(snapshot: Snapshot,
                    reports: Mapping[str, Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The pods each reached node should run, lowered into the agent's shape."""
    by_node: dict[str, list[Any]] = {name: [] for name in reports}
    for pod in snapshot.of_kind(core.Pod):
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


def _has_containers(report: Mapping[str, Any], uid: str | None) -> bool:
    """Whether the node still has containers of pod ``uid`` (kept for their logs)."""
    return any(c.get("containerID") for p in report.get("pods") or [] if p.get("uid") == uid
               for c in p.get("containers") or [])


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
