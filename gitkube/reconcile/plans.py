"""Saved plans: ``gitkube plan --out FILE`` now, ``gitkube apply FILE`` later, or refused.

Between planning and the apply pass. A saved plan is the JSON of ``Plan.to_dict()``
(the same document ``gitkube plan -o json`` prints, so a CI bot's output can be
applied as it is) plus when it was made. It names the Git revision it was
planned from and the store revision it read. ``apply FILE`` plans again under the
cluster lock and carries the plan out only when it is the same plan: the branch
must still be at the saved commit, and the changes computed now must be exactly
the saved changes. Otherwise it raises ``PlanStale`` with a sentence saying what
moved (the branch, or the cluster: which changes appeared or went away), and
nothing is applied.

The store revision alone is not the test because every pass records itself in
the store (and nodes' heartbeats move it): with cron or ``serve`` running, the
revision moves every minute while the plan stays true.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitkube import errors

KIND = "Plan"
API_VERSION = "gitkube.io/v1alpha1"


@dataclass(frozen=True)
class SavedPlan:
    path: Path
    cluster: str
    source_revision: str
    attempted_revision: str
    store_revision: int
    #: The plan's changes, one stable line each (see ``change_lines``).
    changes: list[str]
    document: dict[str, Any]


def change_lines(actions: Iterable[Mapping[str, Any]]) -> list[str]:
    """``start pod default/web-1 on node-2``: what a change is, without its reason or uids."""
    lines = []
    for action in actions:
        if action.get("statusOnly") or action.get("action") == "noop":
            continue
        where = f"{action.get('namespace')}/" if action.get("namespace") else ""
        node = f" on {action['node']}" if action.get("node") else ""
        lines.append(f"{action.get('action')} {str(action.get('kind', '')).lower()} "
                     f"{where}{action.get('name')}{node}")
    return sorted(lines)


def save(document: Mapping[str, Any], path: Path, *, created: str) -> None:
    data = {**document, "createdAt": created}
    path.write_text(json.dumps(data, indent=2) + "\n")


def load(path: Path) -> SavedPlan:
    """Read a plan saved by ``gitkube plan --out`` (or printed by ``plan -o json``)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise errors.ConfigError(f"There is no saved plan at {path}.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.ConfigError(
            f"{path} is not a plan saved by `gitkube plan --out` ({exc}).") from exc
    if not isinstance(data, dict) or data.get("kind") != KIND or "sourceRevision" not in data:
        raise errors.ConfigError(
            f"{path} is not a plan saved by `gitkube plan --out FILE`; make one with that.")
    return SavedPlan(
        path=path,
        cluster=str(data.get("cluster", "")),
        source_revision=str(data["sourceRevision"]),
        attempted_revision=str(data.get("attemptedRevision", data["sourceRevision"])),
        store_revision=int(data.get("storeRevision", 0)),
        changes=change_lines(data.get("actions", [])),
        document=data,
    )


def check(saved: SavedPlan, fresh: Mapping[str, Any]) -> None:
    """``PlanStale`` unless ``fresh`` (a ``Plan.to_dict()`` made now) is the saved plan."""
    again = f"make a new one with `gitkube plan --out {saved.path}`"
    if saved.cluster and fresh.get("cluster") and saved.cluster != fresh.get("cluster"):
        raise errors.PlanStale(
            f"The plan {saved.path} is for cluster {saved.cluster}, not "
            f"{fresh.get('cluster')}; {again}.")
    head = str(fresh.get("attemptedRevision", ""))
    if head != saved.attempted_revision:
        raise errors.PlanStale(
            f"The plan {saved.path} was made at commit {saved.attempted_revision[:12]}, and "
            f"the branch has moved on to {head[:12]}; nothing was applied. Review the new "
            f"commits and {again}.")
    now = change_lines(fresh.get("actions", []))
    if now != saved.changes:
        added = sorted(set(now) - set(saved.changes))
        gone = sorted(set(saved.changes) - set(now))
        said = []
        if added:
            said.append("it would now also " + ", ".join(added[:3])
                        + (f" (and {len(added) - 3} more)" if len(added) > 3 else ""))
        if gone:
            said.append("it would no longer " + ", ".join(gone[:3])
                        + (f" (and {len(gone) - 3} more)" if len(gone) > 3 else ""))
        moved = f"store revision {saved.store_revision} → {fresh.get('storeRevision')}"
        raise errors.PlanStale(
            f"The cluster moved on since the plan {saved.path} was made ({moved}): "
            f"{'; '.join(said)}. Nothing was applied; {again}.")
