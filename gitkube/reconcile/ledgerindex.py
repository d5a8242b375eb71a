"""Which files of the status ledger a pass changes, without rendering an unchanged object again.

The ledger (``ledger.py``) is one file per object: 100,000 pods are 100,000 files, and a pass
that changed ten of them must cost ten. The index, a file in the state directory
(``ledger-index.json``), says for each file of the status commit it was last synced to
(``tip``) its blob id and the store revision (``mod_revision``) of the object it was
rendered from. An object the store has not written since is the same file, whichever
process asks: only objects written since are rendered, and only those whose blob differs
become changes, which ``plumbing.commit_changes`` lays over the previous tree.

The index is a cache, never the truth: when the branch is not at its ``tip`` (another
writer, another leader, a failed push) it is laid over what the branch holds
(``follow``), keeping only entries whose blob still matches; a store whose revision went
back (a new store file, a copy) or another ledger key or record format keeps none of the
revisions, so every object is rendered once and compared by content.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitkube.api.meta import KubeObject
from gitkube.planning.snapshot import Stored
from gitkube.reconcile import ledger

FILE = "ledger-index.json"
#: Bumped whenever what a ledger file holds for an object changes (``ledger._record``).
FORMAT = 1


@dataclass
class Index:
    #: The status commit ``files`` describes (None: no commit yet).
    tip: str | None = None
    #: The store revision of the snapshot the index was last updated from.
    store_revision: int = 0
    #: path → [mod_revision of the object rendered (0: unknown), blob id].
    files: dict[str, list[int | str]] = field(default_factory=dict)
    #: The ledger key (and format) the entries were rendered with.
    key_id: str = ""


def key_id(key: bytes) -> str:
    """What identifies the ledger key (Secret digests) and the record format, not the key."""
    return hashlib.sha256(b"gitkube ledger index %d\0" % FORMAT + key).hexdigest()[:16]


def load(state_dir: Path, key: bytes) -> Index:
    """The index in ``state_dir``; an empty one when there is none, or it was written with
    another key or format, or cannot be read (it is only a cache)."""
    wanted = key_id(key)
    try:
        data = json.loads((state_dir / FILE).read_text())
        index = Index(data["tip"], int(data["storeRevision"]), dict(data["files"]),
                      str(data["key"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Index(key_id=wanted)
    return index if index.key_id == wanted else Index(key_id=wanted)


def save(state_dir: Path, index: Index) -> None:
    data = {"tip": index.tip, "storeRevision": index.store_revision, "key": index.key_id,
            "files": index.files}
    fd, scratch = tempfile.mkstemp(prefix=".ledger-index.", dir=state_dir)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, separators=(",", ":"))
        os.replace(scratch, state_dir / FILE)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(scratch)
        raise


def blob_id(data: bytes) -> str:
    """The id Git gives a file of ``data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def follow(index: Index, tip: str | None, store_revision: int,
           listing: Callable[[str], Mapping[str, str]]) -> None:
    """Make ``index`` describe the status commit ``tip`` (``listing``: its files' blob ids),
    keeping the revisions of entries whose blob is unchanged while the store is the same."""
    same_store = index.store_revision <= store_revision
    if index.tip == tip and same_store:
        return
    on_tip = listing(tip) if tip is not None else {}
    files: dict[str, list[int | str]] = {}
    for path, blob in on_tip.items():
        known = index.files.get(path)
        revision = known[0] if same_store and known is not None and known[1] == blob else 0
        files[path] = [revision, blob]
    index.files, index.tip = files, tip


def changes(index: Index, objects: Mapping[str, Stored], summary: Callable[[Counter[str]], bytes],
            render: Callable[[KubeObject], bytes], store_revision: int) -> dict[str, bytes | None]:
    """The ledger files that differ from ``index.files`` for the store as ``objects`` holds
    it (content, or None for a file removed), and ``index`` updated to them. Only objects
    written since their entry was made are rendered."""
    changed: dict[str, bytes | None] = {}
    counts: Counter[str] = Counter()
    seen = {ledger.SUMMARY}
    for stored in objects.values():
        obj = stored.obj
        counts[obj.plural] += 1
        path = ledger.path_for(obj)
        seen.add(path)
        known = index.files.get(path)
        if known is not None and stored.mod_revision and known[0] == stored.mod_revision:
            continue
        _put(index, changed, path, render(obj), stored.mod_revision)
    _put(index, changed, ledger.SUMMARY, summary(counts), 0)
    for path in [p for p in index.files if p not in seen]:
        del index.files[path]
        changed[path] = None
    index.store_revision = store_revision
    return changed


def _put(index: Index, changed: dict[str, bytes | None], path: str, data: bytes,
         revision: int) -> None:
    blob = blob_id(data)
    known = index.files.get(path)
    if known is None or known[1] != blob:
        changed[path] = data
    index.files[path] = [revision, blob]
