"""What a pass leaves behind: the status commit, the pass record and the events.

The status commit brings the ledger (``ledger``) on ``gitkube/status`` to the store as the
pass ended, rewriting only the files of objects that changed (``ledgerindex``); Secret
digests in it are keyed by the cluster's ledger key, made on first use in the state
directory. The pass record (``/gitkube/pass``) is what
``gitkube status`` shows as the last pass; writing it also compacts the store's history
to the last ``HISTORY_REVISIONS`` revisions. Events are recorded last.
"""

from __future__ import annotations

import os
import secrets
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitkube.api import keys
from gitkube.clock import format_time
from gitkube.planning.actions import Action
from gitkube.planning.snapshot import Snapshot
from gitkube.reconcile import events, leader, ledger, ledgerindex, results, sources
from gitkube.source import plumbing, publish
from gitkube.source import status as source_status
from gitkube.store import base as store_base

#: Store history kept for watchers, in revisions.
HISTORY_REVISIONS = 10_000
LEDGER_KEY_FILE = "ledger.key"


def commit_status(repo_path: Path, state_dir: Path, source: sources.PassSource,
                  after: Snapshot, applied: list[Action], *, ready: dict[str, str],
                  node_errors: dict[str, str], rescheduled: dict[str, int],
                  restarted: dict[str, str], fence: leader.Fence | None = None) -> str | None:
    """The status commit for the store as ``after`` holds it; None when nothing changed.
    Only the files of objects written since the last commit are rendered (``ledgerindex``).
    A leader (``fence``) commits only while it leads, and publishes to the origin."""
    revision = source.sha or source.head
    key = ledger_key(state_dir)
    index = ledgerindex.load(state_dir, key)
    message = ledger.commit_message(applied, source_revision=revision, ready=ready,
                                    node_errors=node_errors, rescheduled=rescheduled,
                                    restarted=restarted)
    if fence is not None:
        fence.check()
        message = publish.with_term(message, fence.leadership.term) if fence.remote else message

    def summary(counts: Counter[str]) -> bytes:
        return ledger.summary_file(counts, source_revision=revision,
                                   cluster=source.inventory.cluster,
                                   attempted_revision=source.head,
                                   attempted_errors=[str(p) for p in source.problems])

    def build(parent: str | None) -> str | None:
        ledgerindex.follow(index, parent, after.revision,
                           lambda tip: plumbing.tree_blobs(repo_path, tip))
        files = ledgerindex.changes(index, after.objects, summary,
                                    lambda obj: ledger.render_object(obj, key), after.revision)
        if not files:
            return None
        index.tip = plumbing.commit_changes(repo_path, parent, files, message)
        return index.tip

    if fence is not None and fence.remote is not None:
        made = publish.publish_commit(repo_path, fence.remote, build,
                                      term=fence.leadership.term)
    else:
        parent = source_status.tip(repo_path)
        made = build(parent)
        if made is not None:
            source_status.advance(repo_path, made, parent, message)
    ledgerindex.save(state_dir, index)
    return made


def ledger_key(state_dir: Path) -> bytes:
    """The cluster's key for the ledger's Secret digests, made on first use (0600)."""
    path = state_dir / LEDGER_KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        return key


def record_pass(store: store_base.Store, result: results.PassResult, duration: float) -> None:
    record = results.PassRecord(
        time=format_time(result.finished_at),
        source_revision=result.plan.source_revision,
        attempted_revision=result.plan.attempted_revision,
        ok=result.ok,
        errors=result.errors + [str(p) for p in result.plan.problems],
        summary=result.summary,
        status_commit=result.status_commit,
        duration_seconds=round(duration, 3),
    )
    done = store.txn([], [store_base.Put(keys.PASS_KEY, record.__dict__)])
    # Watchers need recent history only; without compaction every put is kept forever.
    if done.revision > HISTORY_REVISIONS:
        store.compact(done.revision - HISTORY_REVISIONS)


def last_pass(store: store_base.Store) -> results.PassRecord | None:
    kv = store.get(keys.PASS_KEY)
    return results.PassRecord(**kv.value) if kv else None


def record_events(store: store_base.Store, result: results.PassResult,
                  reports: Mapping[str, Mapping[str, Any]], node_errors: dict[str, str],
                  cluster: str) -> None:
    """The events of the pass: what it applied, what the nodes reported, what failed."""
    found = events.from_actions(result.applied)
    for node, report in sorted(reports.items()):
        found.extend(events.from_report(node, report))
    found.extend(events.from_errors(
        node_errors, [str(p) for p in result.plan.problems],
        result.plan.attempted_revision if result.plan.problems else "",
        result.errors, result.plan.cluster or cluster))
    events.record(store, found, result.finished_at)
