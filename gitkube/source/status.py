"""The status ledger: observed cluster state committed to the branch ``gitkube/status``.

Last step of a reconcile pass. The engine renders one YAML file per object and
node plus a summary; this module commits exactly that tree on top of the
branch, only when it differs from what the branch already holds, so
``git log gitkube/status`` reads as the cluster's history. The commit is built
from Git objects alone (see ``plumbing``) and the ref is moved by compare-and-
swap: a concurrent writer makes this pass lose with ``StoreConflict``, never
overwrites it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from gitkube import errors
from gitkube.source import plumbing

STATUS_BRANCH = "gitkube/status"
STATUS_REF = f"refs/heads/{STATUS_BRANCH}"
#: A ref lock file older than this is taken for a leftover of a killed process.
STALE_LOCK_SECONDS = 60.0


class StatusEntry(NamedTuple):
    sha: str
    time: dt.datetime
    message: str


def write_status(
    repo_path: str | Path,
    files: Mapping[str, bytes],
    message: str,
    *,
    parent: str | None = None,
) -> str | None:
    """Commit a tree of exactly ``files`` on the status branch; None when nothing changed.

    ``parent`` is the status commit the caller built on (``plumbing.ZERO_ID``: the
    branch must not exist yet); by default the branch's tip when this is called.
    ``StoreConflict`` when the branch is no longer there.
    """
    repo = Path(repo_path)
    current = tip(repo)
    old = current if parent is None else (None if parent == plumbing.ZERO_ID else parent)
    if old != current:
        raise _conflict(repo)
    new = commit_files(repo, old, files, message)
    if new is not None:
        advance(repo, new, old, message)
    return new


def tip(repo: Path) -> str | None:
    """The status branch's commit; None before the first."""
    return plumbing.rev_parse(repo, f"{STATUS_REF}^{{commit}}")


def commit_files(repo: Path, parent: str | None, files: Mapping[str, bytes],
                 message: str) -> str | None:
    """A commit (on no branch) of a tree of exactly ``files`` on ``parent``; None when
    ``parent`` already holds that tree."""
    tree = plumbing.write_tree(repo, files)
    if parent is not None and plumbing.rev_parse(repo, f"{parent}^{{tree}}") == tree:
        return None
    return plumbing.commit_tree(repo, tree, [parent] if parent else [], message)


def advance(repo: Path, new: str, old: str | None, message: str) -> None:
    """Move the status branch from ``old`` (None: it must not exist) to ``new``, by
    compare-and-swap: ``StoreConflict`` when it moved meanwhile."""
    _remove_stale_lock(repo)
    try:
        plumbing.update_ref(repo, STATUS_REF, new, old or plumbing.ZERO_ID, message)
    except plumbing.RefMoved as exc:
        raise _conflict(repo) from exc


def _conflict(repo: Path) -> errors.StoreConflict:
    return errors.StoreConflict(
        f"The branch {STATUS_BRANCH} in {repo} moved while this pass wrote its status "
        "(another writer got there first); the next pass writes it again.",
        retry_after=1.0,
    )


def _remove_stale_lock(repo: Path) -> None:
    # git leaves refs/heads/gitkube/status.lock behind when a process is killed between
    # locking and renaming, and every later update-ref then fails. Whoever calls
    # write_status holds gitkube's cluster lock, so no other gitkube process can be
    # writing this ref; the age margin only spares a person's own `git` command that
    # happens to be running right now.
    lock = plumbing.common_dir(repo) / f"{STATUS_REF}.lock"
    try:
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return
    if age > STALE_LOCK_SECONDS:
        lock.unlink(missing_ok=True)


def read_status(repo_path: str | Path) -> dict[str, bytes]:
    """The files on the status branch, by path; empty when the branch does not exist."""
    repo = Path(repo_path)
    head = plumbing.rev_parse(repo, f"{STATUS_REF}^{{commit}}")
    if head is None:
        return {}
    listing = plumbing.run(repo, "ls-tree", "-r", "-z", "--full-tree", head)
    entries: list[tuple[str, str]] = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        info, _, raw_path = record.partition(b"\t")
        _mode, kind, sha = info.decode().split()
        if kind == "blob":
            entries.append((raw_path.decode("utf-8", "surrogateescape"), sha))
    batch = plumbing.run(
        repo, "cat-file", "--batch", stdin="".join(f"{sha}\n" for _, sha in entries).encode()
    )
    files: dict[str, bytes] = {}
    offset = 0
    for path, _sha in entries:
        header_end = batch.index(b"\n", offset)
        size = int(batch[offset:header_end].split()[2])
        start = header_end + 1
        files[path] = batch[start : start + size]
        offset = start + size + 1  # the content is followed by a newline
    return files


def status_log(repo_path: str | Path, n: int = 20) -> list[StatusEntry]:
    """The last ``n`` status commits, newest first; empty when the branch does not exist."""
    repo = Path(repo_path)
    if plumbing.rev_parse(repo, f"{STATUS_REF}^{{commit}}") is None:
        return []
    out = plumbing.run(
        repo, "log", f"-n{n}", "--format=%H%x1f%ct%x1f%B%x1e", STATUS_REF, "--"
    ).decode("utf-8", "replace")
    entries = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, stamp, message = record.split("\x1f", 2)
        when = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
        entries.append(StatusEntry(sha, when, message.strip()))
    return entries
