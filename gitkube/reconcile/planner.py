"""A pass's planning: the store read once into a Snapshot, planned once into a Plan.

The snapshot holds the store's objects (events left out: they are not API objects),
Git's desired objects at the planned revision with the inventory's nodes among them,
and what each node reported this pass. ``plan`` runs the planners to their fixpoint
on it; that is all ``gitkube plan`` does, and the first half of ``apply``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitkube.api import keys, registry
from gitkube.api import node as node_api
from gitkube.api.inventory import Inventory
from gitkube.api.meta import KubeObject
from gitkube.clock import Clock
from gitkube.controllers import evictions, podstatus
from gitkube.planning.snapshot import Snapshot, Stored
from gitkube.reconcile import events, fixpoint, results, sources
from gitkube.store import base as store_base


def read_snapshot(store: store_base.Store, source: sources.PassSource,
                  reports: Mapping[str, Mapping[str, Any]]) -> Snapshot:
    """The one read of the store a pass makes, with Git's desired objects and the reports."""
    kvs, revision = store.range(keys.REGISTRY)
    objects = {kv.key: Stored(registry.from_stored(kv.value), kv.mod_revision) for kv in kvs
               if not kv.key.startswith(events.PREFIX)}
    inventory = source.inventory
    return Snapshot(
        revision=revision,
        objects=objects,
        desired=desired_objects(source, inventory),
        source_revision=source.sha,
        observed=reports,
        cluster=inventory.cluster,
        settings=inventory.settings,
    )


def desired_objects(source: sources.PassSource,
                    inventory: Inventory) -> dict[str, KubeObject] | None:
    """Git's objects at the planned revision, and a Node for each machine of the inventory
    (None when there is no revision to plan from: keep what the store has)."""
    if source.good is None:
        return None
    desired = {obj.key: obj for obj in source.good.objects}
    grace = f"{inventory.settings.node_grace_period_seconds:g}"
    for inv_node in inventory.nodes:
        node = node_api.node_from_inventory(inv_node)
        node.metadata.annotations[podstatus.GRACE_ANNOTATION] = grace
        node.metadata.annotations[evictions.EVICTION_TIMEOUT_ANNOTATION] = (
            f"{inventory.settings.pod_eviction_timeout_seconds:g}")
        desired[node.key] = node
    return desired


def plan(snapshot: Snapshot, source: sources.PassSource, clock: Clock,
         unreachable: Mapping[str, str]) -> results.Plan:
    """The planners run to their fixpoint on ``snapshot``: the Plan of this pass."""
    return results.Plan(
        source_revision=source.sha,
        attempted_revision=source.head,
        store_revision=snapshot.revision,
        actions=fixpoint.plan_pass(snapshot, clock),
        problems=source.problems,
        unreachable=dict(unreachable),
        cluster=source.inventory.cluster,
    )
