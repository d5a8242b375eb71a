"""Actions: what a planner wants done, as data.

Controllers and the scheduler return lists of ``Action``; ``gitkube plan`` prints
them and ``apply`` carries them out. An action names the object it touches and a
reason a person can read, including explicit no-ops ("3/3 replicas running").

Store actions (CREATE, UPDATE, DELETE, BIND, UNSCHEDULABLE) carry the whole new
object and the ``mod_revision`` they were computed from, so apply can write them
with compare-and-swap. Node actions (START, STOP) say which pod a node will start
or stop; apply carries them out by converging each node to the pods bound to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gitkube.api.meta import KubeObject


class ActionKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    BIND = "bind"
    UNSCHEDULABLE = "unschedulable"
    START = "start"
    STOP = "stop"
    NOOP = "noop"


STORE_KINDS = frozenset(
    {ActionKind.CREATE, ActionKind.UPDATE, ActionKind.DELETE, ActionKind.BIND,
     ActionKind.UNSCHEDULABLE}
)
NODE_KINDS = frozenset({ActionKind.START, ActionKind.STOP})


@dataclass(frozen=True)
class ObjectRef:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.lower()}/{where}{self.name}"

    @classmethod
    def of(cls, obj: KubeObject) -> ObjectRef:
        return cls(obj.kind, obj.namespace, obj.name)


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    target: ObjectRef
    reason: str
    #: CREATE/UPDATE/BIND/UNSCHEDULABLE: the whole object as it should be stored.
    obj: KubeObject | None = None
    #: Compare-and-swap guard: the mod_revision the decision was made on (0: must not exist).
    expected_revision: int | None = None
    #: START/STOP/BIND: the node concerned.
    node: str | None = None
    #: True for updates that only record observed status; they are not "changes" to a plan.
    status_only: bool = False
    #: Which planner produced it (``deployment``, ``replicaset``, ``scheduler``, ``gc`` ...).
    source: str = ""

    @property
    def is_change(self) -> bool:
        return self.kind is not ActionKind.NOOP and not self.status_only

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": self.kind.value,
            "kind": self.target.kind,
            "namespace": self.target.namespace,
            "name": self.target.name,
            "reason": self.reason,
        }
        if self.node:
            out["node"] = self.node
        if self.source:
            out["controller"] = self.source
        if self.status_only:
            out["statusOnly"] = True
        return out
