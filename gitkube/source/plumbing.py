"""Git plumbing for the commits gitkube writes itself (status ledger, first commit, rollback).

gitkube writes into repositories people also use: it must never touch their
working tree or index. Every commit here is built from objects only
(``hash-object``, a private ``GIT_INDEX_FILE``, ``write-tree``, ``commit-tree``) and
published with ``update-ref NEW OLD``, a compare-and-swap that fails instead of
overwriting a ref that moved. The identity is set in the environment so that a
machine without ``git config user.*`` works.

Also the few git commands the rest of gitkube needs besides reading revisions (a
branch's first parents, a file at a commit, mirroring a remote branch), so that no
module outside ``source`` runs git.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from gitkube import errors

ZERO_ID = "0" * 40
IDENTITY_NAME = "gitkube"
IDENTITY_EMAIL = "gitkube@localhost"

# Variables that would point git at another repository, index or tree than the one
# named (they are set inside hooks, for instance).
_REDIRECTING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX")


class RefMoved(Exception):
    """``update-ref`` refused: the ref is not at the expected old value (or is locked)."""


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REDIRECTING}
    env.update(
        GIT_AUTHOR_NAME=IDENTITY_NAME,
        GIT_AUTHOR_EMAIL=IDENTITY_EMAIL,
        GIT_COMMITTER_NAME=IDENTITY_NAME,
        GIT_COMMITTER_EMAIL=IDENTITY_EMAIL,
        GIT_TERMINAL_PROMPT="0",
    )
    env.update(extra)
    return env


def run(repo: Path, *args: str, stdin: bytes = b"", env: Mapping[str, str] | None = None) -> bytes:
    """Run ``git -C repo ARGS``; its stdout, or ``SourceError`` quoting git's complaint."""
    done = _git(repo, args, stdin, env)
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip()
        raise errors.SourceError(
            f"git {args[0]} failed in {repo}: {said or f'exit status {done.returncode}'}."
        )
    return done.stdout


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``git -C repo ARGS`` and hand back what it did, for callers that read its failure."""
    return _git(repo, args)


def _git(
    repo: Path, args: Sequence[str], stdin: bytes = b"", env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = dict(env) if env is not None else environment()
    # Only ``repo`` itself may be the repository: a directory inside someone else's
    # work tree must not make gitkube write into that outer repository.
    env["GIT_CEILING_DIRECTORIES"] = str(repo.resolve().parent)
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], input=stdin, capture_output=True, env=env, check=False
        )
    except FileNotFoundError as exc:
        raise errors.SourceError("The git command is not installed; install git.") from exc


def rev_parse(repo: Path, name: str) -> str | None:
    """The object id ``name`` names, or None when it names nothing."""
    done = _git(repo, ["rev-parse", "--verify", "--quiet", name])
    if done.returncode != 0:
        if b"not a git repository" in done.stderr or b"cannot change to" in done.stderr:
            raise errors.SourceError(f"{repo} is not a Git repository.")
        return None
    return done.stdout.decode().strip()


def check_path(path: str) -> None:
    if any(part in ("", ".", "..", ".git") for part in path.split("/")):
        raise ValueError(f"{path!r} is not a relative path inside a repository")


def write_tree(repo: Path, files: Mapping[str, bytes], executable: Collection[str] = ()) -> str:
    """Store ``files`` as blobs and return the id of a tree holding exactly them."""
    for path in files:
        check_path(path)
    with tempfile.TemporaryDirectory(prefix="gitkube-tree-") as scratch:
        # One hash-object for all blobs: a status tree can hold hundreds of files.
        blob_files = []
        for number, data in enumerate(files.values()):
            blob_file = Path(scratch, f"blob-{number}")
            blob_file.write_bytes(data)
            blob_files.append(str(blob_file))
        shas = run(
            repo, "hash-object", "-w", "--no-filters", "--stdin-paths",
            stdin="".join(f"{name}\n" for name in blob_files).encode(),
        ).decode().split()  # fmt: skip
        entries = b"".join(
            f"{'100755' if path in executable else '100644'} {sha}\t{path}".encode() + b"\0"
            for path, sha in zip(files, shas, strict=True)
        )
        index_env = environment(GIT_INDEX_FILE=str(Path(scratch, "index")))
        run(repo, "update-index", "--add", "-z", "--index-info", stdin=entries, env=index_env)
        return run(repo, "write-tree", env=index_env).decode().strip()


def commit_changes(repo: Path, parent: str | None, changes: Mapping[str, bytes | None],
                   message: str) -> str:
    """A commit whose tree is ``parent``'s with ``changes`` made (bytes: the file's new
    content; None: the file removed), on no branch; its id.

    One ``git fast-import``: it writes the new blobs (a pack when there are many, loose
    objects when few) and rewrites only the trees on the changed paths, so the cost is what
    changed, not the size of the tree. fast-import commits onto a ref; a scratch ref is
    used and removed, and the caller moves its branch with ``update_ref``."""
    for path in changes:
        check_path(path)
    scratch = f"refs/gitkube/scratch/{os.getpid()}-{secrets.token_hex(4)}"
    stream = bytearray(b"feature done\n")
    marks: dict[str, int] = {}
    for path, data in changes.items():
        if data is not None:
            marks[path] = len(marks) + 1
            stream += b"blob\nmark :%d\ndata %d\n%s\n" % (marks[path], len(data), data)
    text = message.encode()
    stream += b"commit %s\ncommitter %s <%s> now\ndata %d\n%s\n" % (
        scratch.encode(), IDENTITY_NAME.encode(), IDENTITY_EMAIL.encode(), len(text), text)
    if parent is not None:
        stream += b"from %s\n" % parent.encode()
    for path, data in changes.items():
        quoted = _fast_import_path(path)
        stream += (b"M 100644 :%d %s\n" % (marks[path], quoted) if data is not None
                   else b"D %s\n" % quoted)
    stream += b"\ndone\n"
    run(repo, "fast-import", "--quiet", "--date-format=now", stdin=bytes(stream))
    try:
        made = rev_parse(repo, scratch)
    finally:
        git(repo, "update-ref", "-d", scratch)
    if made is None:
        raise errors.SourceError(f"git fast-import made no commit in {repo}.")
    return made


def _fast_import_path(path: str) -> bytes:
    """A path as fast-import reads it: C-style quoted when it holds a quote, a backslash,
    a space or a control character."""
    raw = path.encode()
    if not any(c in raw for c in b'"\\ ') and all(c >= 0x20 for c in raw):
        return raw
    escaped = raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n")
    return b'"' + escaped + b'"'


def tree_blobs(repo: Path, commit: str) -> dict[str, str]:
    """Every file of ``commit``'s tree: path → blob id."""
    listing = run(repo, "ls-tree", "-r", "-z", "--full-tree", commit)
    blobs: dict[str, str] = {}
    for record in listing.split(b"\0"):
        info, _, raw_path = record.partition(b"\t")
        if info.count(b" ") == 2:
            _mode, kind, sha = info.split(b" ")
            if kind == b"blob":
                blobs[raw_path.decode("utf-8", "surrogateescape")] = sha.decode()
    return blobs


def commit_tree(repo: Path, tree: str, parents: Sequence[str], message: str) -> str:
    args = ["commit-tree", tree]
    for parent in parents:
        args += ["-p", parent]
    return run(repo, *args, stdin=message.encode()).decode().strip()


def update_ref(repo: Path, ref: str, new: str, old: str, reason: str) -> None:
    """Move ``ref`` from ``old`` (``ZERO_ID``: must not exist) to ``new``, or ``RefMoved``."""
    try:
        run(repo, "update-ref", "-m", reason, ref, new, old)
    except errors.SourceError as exc:
        said = str(exc)
        if "but expected" in said or "File exists" in said or "already exists" in said:
            raise RefMoved(said) from exc
        raise


def common_dir(repo: Path) -> Path:
    """The directory holding refs (``.git`` of a work tree, the repository itself if bare)."""
    out = run(repo, "rev-parse", "--path-format=absolute", "--git-common-dir")
    return Path(out.decode().strip())


def first_parents(repo: Path, start: str, count: int) -> list[str]:
    """``start`` and its first-parent ancestors, newest first, at most ``count``."""
    return run(repo, "rev-list", "--first-parent", f"-{count}", start).decode().split()


def show(repo: Path, sha: str, path: str) -> str:
    """The text of ``path`` as committed at ``sha``."""
    return run(repo, "show", f"{sha}:{path}").decode()


def fetch_branch(repo: Path, url: str, branch: str) -> str | None:
    """Fetch ``branch`` of ``url`` into the same branch here (forced: it mirrors the remote);
    None when done, else the last line git said."""
    done = git(repo, "fetch", "--quiet", "--no-tags", "--update-head-ok", url,
               f"+refs/heads/{branch}:refs/heads/{branch}")
    if done.returncode == 0:
        return None
    said = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return said[-1] if said else f"exit {done.returncode}"
