"""The snapshot a pass plans on: store contents, Git's desired objects, and what nodes reported.

Planners get a ``Snapshot`` and a clock and return actions. ``Snapshot.with_actions``
gives the snapshot as it would be after the store actions, without touching the
store, which is how the planners are run to a fixpoint and how ``plan`` previews.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from gitkube.api.inventory import Settings
from gitkube.api.meta import KubeObject
from gitkube.planning.actions import Action, ActionKind

T = TypeVar("T", bound=KubeObject)


@dataclass(frozen=True)
class Stored:
    obj: KubeObject
    #: The store's mod_revision for this key; 0 for an object planned in this pass.
    mod_revision: int


@dataclass(frozen=True)
class Snapshot:
    #: Store revision the snapshot was read at.
    revision: int
    #: Everything in the store under /registry/, by key.
    objects: Mapping[str, Stored]
    #: Objects as Git declares them at ``source_revision`` (None: source unchanged/unknown,
    #: keep what the store has).
    desired: Mapping[str, KubeObject] | None = None
    source_revision: str = ""
    #: node name → the agent's report from this pass (gitkube.agent.protocol.NodeReport
    #: as a dict); a node missing here was not reached in this pass.
    observed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cluster: str = "gitkube"
    #: inventory.yaml's settings: the address plan (clusterCIDR, serviceCIDR, clusterDomain).
    settings: Settings = field(default_factory=Settings)

    def get(self, key: str) -> Stored | None:
        return self.objects.get(key)

    def of_kind(self, cls: type[T]) -> list[T]:
        prefix = f"/registry/{cls.plural}/"
        return [s.obj for k, s in sorted(self.objects.items())
                if k.startswith(prefix) and isinstance(s.obj, cls)]

    def stored_of_kind(self, cls: type[KubeObject]) -> Iterator[Stored]:
        prefix = f"/registry/{cls.plural}/"
        for k, s in sorted(self.objects.items()):
            if k.startswith(prefix):
                yield s

    def owned_by(self, owner: KubeObject) -> list[KubeObject]:
        uid = owner.metadata.uid
        return [s.obj for _, s in sorted(self.objects.items())
                if any(r.uid == uid for r in s.obj.metadata.owner_references)]

    def with_actions(self, actions: Iterable[Action], *,
                     written_at: int | None = None) -> Snapshot:
        """The snapshot as it would be after the store actions (node actions change nothing).

        ``written_at``: the actions were written, in one transaction at that store revision,
        so the result is what the store holds: their objects carry it as mod_revision."""
        objects = dict(self.objects)
        for action in actions:
            if action.kind is ActionKind.DELETE:
                key = _key_of(action)
                objects.pop(key, None)
            elif action.obj is not None and action.kind in (
                ActionKind.CREATE, ActionKind.UPDATE, ActionKind.BIND, ActionKind.UNSCHEDULABLE
            ):
                previous = objects.get(action.obj.key)
                revision = written_at if written_at is not None else (
                    previous.mod_revision if previous else 0)
                objects[action.obj.key] = Stored(action.obj, revision)
        if written_at is None:
            return replace(self, objects=objects)
        return replace(self, objects=objects, revision=written_at)


def _key_of(action: Action) -> str:
    if action.obj is not None:
        return action.obj.key
    from gitkube.api import registry

    return registry.key_for(action.target.kind, action.target.namespace, action.target.name)
