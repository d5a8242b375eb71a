"""What a pass reports: the Plan it computed, its progress, its result, and the record of it.

The vocabulary between the pass (``passes``) and whoever asked for it: ``gitkube plan``
renders a ``Plan``, ``apply`` a ``PassResult``, ``status`` the last ``PassRecord`` (kept in
the store under ``/gitkube/pass``). Data only, light to import: the CLI's views use it
without loading the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitkube.errors import Problem
from gitkube.planning.actions import Action, ActionKind
from gitkube.reconcile import plans


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

#: One node's verdict for a pod (``describe pod``): (node name, fits, why not).
Fit = tuple[str, bool, list[str]]


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
