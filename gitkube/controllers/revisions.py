"""Workload history: the ControllerRevisions of a DaemonSet or StatefulSet.

Kubernetes' ``pkg/controller/history`` as the two controllers use it. Each template a
workload rolls out is one ControllerRevision named ``<workload>-<hash>``, owned by the
workload, with a ``revision`` number: the template in Git now is the *update* revision —
found among the existing ones (the newest, or an older one brought back by a rollback,
which then gets the next number) or created. Revisions that no pod uses and that are
neither current nor update are deleted, oldest first, beyond ``revisionHistoryLimit``.
Names and uids are deterministic, so a repeated pass finds what an earlier one made.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from gitkube import clock as clocks
from gitkube.api import hashing, keys, names, pods, revisions
from gitkube.api.meta import KubeObject, ObjectMeta
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot


@dataclass(frozen=True)
class History:
    """A workload's revisions (oldest first) and the one its template in Git is."""

    known: tuple[revisions.ControllerRevision, ...]
    update: revisions.ControllerRevision
    #: The hash of the update revision's template (DaemonSet pods carry it as a label).
    hash: str
    #: CREATE or UPDATE of the update revision, when this pass writes one.
    actions: tuple[Action, ...] = ()


def owned_revisions(snapshot: Snapshot, owner: KubeObject) -> list[revisions.ControllerRevision]:
    """The owner's revisions, by revision number then name (``SortControllerRevisions``)."""
    uid = owner.metadata.uid
    found = [r for r in snapshot.of_kind(revisions.ControllerRevision)
             if r.namespace == owner.namespace and any(
                 ref.uid == uid and ref.controller for ref in r.metadata.owner_references)]
    return sorted(found, key=lambda r: (r.revision, r.name))


def sync_history(
    snapshot: Snapshot, owner: KubeObject, template: pods.PodTemplateSpec, clock: clocks.Clock,
    *, source: str, hash_label: str,
) -> History:
    """The update revision for ``template`` (``getStatefulSetRevisions``/``constructHistory``):
    the newest revision when it holds this template, an older one renumbered when it does
    (a rollback), a new one otherwise. ``hash_label`` is the label the revision carries its
    hash in (``controller-revision-hash`` for DaemonSets, ``controller.kubernetes.io/hash``
    for StatefulSets)."""
    existing = owned_revisions(snapshot, owner)
    data = revisions.revision_data(template)
    digest = hashing.pod_template_hash(template)
    following = (existing[-1].revision if existing else 0) + 1
    equal = [r for r in existing if r.data == data]
    if equal and equal[-1] is existing[-1]:
        return History(tuple(existing), existing[-1], digest)
    if equal:
        back = equal[-1].model_copy(update={"revision": following})
        action = _write(snapshot, back, ActionKind.UPDATE, source,
                        f"{objects.describe(owner)}: template of revision "
                        f"{equal[-1].revision} is back (revision {following})")
        rest = tuple(r for r in existing if r is not equal[-1])
        return History((*rest, back), back, digest, (action,))
    name = names.controller_revision_name(owner.name, digest)
    key = keys.object_key(revisions.ControllerRevision.plural, owner.namespace, name)
    made = revisions.ControllerRevision(
        metadata=ObjectMeta(
            name=name, namespace=owner.namespace,
            labels={**template.metadata.labels, hash_label: digest},
            owner_references=[objects.owner_reference(owner)],
            uid=objects.deterministic_uid(snapshot.cluster, key, snapshot.revision),
            creation_timestamp=objects.now_text(clock),
        ),
        data=data, revision=following,
    )
    action = _write(snapshot, made, ActionKind.CREATE, source,
                    f"{objects.describe(owner)}: new template, revision {following}")
    return History((*existing, made), made, digest, (action,))


def truncate(
    snapshot: Snapshot, history: Iterable[revisions.ControllerRevision], live: Collection[str],
    limit: int, *, source: str, owner: KubeObject,
) -> list[Action]:
    """Delete revisions not in ``live`` (names), oldest first, until ``limit`` remain."""
    old = [r for r in history if r.name not in live]
    extra = len(old) - limit
    return [
        Action(ActionKind.DELETE, ObjectRef.of(r),
               f"{objects.describe(owner)}: revision {r.revision} is beyond "
               f"revisionHistoryLimit {limit}",
               expected_revision=_revision(snapshot, r.key), source=source)
        for r in old[:max(extra, 0)]
    ]


def _write(snapshot: Snapshot, revision: revisions.ControllerRevision, kind: ActionKind,
           source: str, reason: str) -> Action:
    return Action(kind, ObjectRef.of(revision), reason, obj=revision,
                  expected_revision=_revision(snapshot, revision.key) or 0, source=source)


def _revision(snapshot: Snapshot, key: str) -> int | None:
    stored = snapshot.get(key)
    return stored.mod_revision if stored else None
