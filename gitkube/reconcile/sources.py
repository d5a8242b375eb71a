"""The revision a pass plans from: the newest commit of the branch when it may be applied,
else the last one applied, and why the newest was refused.

A revision is refused when its manifests are invalid, when the branch was rewritten
(force-pushed) past the applied commit and the repository does not allow that, or when
a commit since the applied one is not signed as ``gitkube.allowedSigners`` demands. The
cluster then stays at the last good revision and the pass says why (``Plan.problems``).
"""

from __future__ import annotations

from dataclasses import dataclass

from gitkube.api import keys
from gitkube.api.inventory import Inventory
from gitkube.errors import Problem, SourceError
from gitkube.reconcile import home as home_mod
from gitkube.source import repo as source_repo
from gitkube.source import signatures


@dataclass(frozen=True)
class PassSource:
    """The revision to plan from, and what became of the newest one."""

    good: source_repo.Revision | None
    #: The newest commit of the branch (or of the revision asked for).
    head: str
    problems: list[Problem]

    @property
    def sha(self) -> str:
        """The commit planned from ("" when there is none)."""
        return self.good.sha if self.good else ""

    @property
    def inventory(self) -> Inventory:
        if self.good is not None and self.good.inventory is not None:
            return self.good.inventory
        return Inventory()


def read(home: home_mod.Home, revision: str | None = None) -> PassSource:
    """The newest revision (or ``revision``) when it may be applied; else the last applied
    one, and why."""
    head = home.source.resolve(revision or home.branch)
    newest = home.source.read_revision(head)
    record = home.store.get(keys.SOURCE_KEY)
    last = str(record.value.get("lastAppliedRevision", "")) if record else ""
    problems = list(newest.problems)
    rewritten = bool(last) and last != head and not _descends(home, last, head)
    if rewritten and not home.settings.allow_force_push:
        problems.insert(0, Problem(
            f"branch {home.branch}", 0,
            f"was rewritten (force-pushed): the applied commit {last[:12]} is not an "
            f"ancestor of {head[:12]}, so the cluster stays at {last[:12]}. Push a commit "
            f"that descends from it, or allow rewrites with `git config "
            f"gitkube.allowForcePush true`."))
    if home.settings.signing_required and head != last:
        base = [last] if last and not rewritten else home.source.parents(head)
        problems.extend(refusal.problem() for refusal in signatures.check_range(
            home.repo_path, home.settings, head, base))
    if not problems:
        return PassSource(newest, head, [])
    good = None
    if last and last != head:
        try:
            good = home.source.read_revision(last)
        except SourceError:
            good = None  # the rewritten-away commit is gone (gc): nothing to plan from
    return PassSource(good, head, problems)


def _descends(home: home_mod.Home, ancestor: str, descendant: str) -> bool:
    try:
        return home.source.is_ancestor(ancestor, descendant)
    except SourceError:
        return False
