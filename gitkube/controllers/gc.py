"""Garbage collection: what nothing owns any more goes.

Kubernetes' garbage collector deletes a dependent once none of its owners exist
(background cascading deletion). Here the owner is looked up by uid in the
snapshot: a Deployment removed from Git takes its ReplicaSets with it, and their
Pods follow in the next round of the same pass (``runner`` runs to a fixpoint).

A Pod bound to a node that left the inventory is deleted too, so its controller
creates a replacement that the scheduler places on a node that exists.
"""

from __future__ import annotations

from gitkube import clock as clocks
from gitkube.api import core, storage
from gitkube.api import node as node_api
from gitkube.api.meta import KubeObject
from gitkube.controllers import volumes
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "gc"


def plan_gc(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    uids = {s.obj.metadata.uid for s in snapshot.objects.values() if s.obj.metadata.uid}
    nodes = {node.name for node in snapshot.of_kind(node_api.Node)}
    actions: list[Action] = []
    for _, stored in sorted(snapshot.objects.items()):
        obj = stored.obj
        reason = _orphan_reason(obj, uids)
        if reason is None and isinstance(obj, core.Pod):
            node = obj.spec.node_name
            if node and node not in nodes:
                reason = f"node {node} left the inventory; its controller replaces the pod"
        if reason is not None and isinstance(obj, storage.PersistentVolumeClaim):
            marked = volumes.delete_claim(stored, reason, clock, SOURCE)
            actions += [marked] if marked is not None else []
        elif reason is not None:
            actions.append(Action(
                ActionKind.DELETE, ObjectRef.of(obj), reason,
                expected_revision=stored.mod_revision, source=SOURCE,
            ))
    return actions


def _orphan_reason(obj: KubeObject, uids: set[str]) -> str | None:
    refs = obj.metadata.owner_references
    if not refs or any(ref.uid in uids for ref in refs):
        return None
    owner = obj.controller_ref() or refs[0]
    return f"owner {objects.describe_kind_name(owner.kind, owner.name)} is gone"
