"""Commits gitkube makes to the source branch on a person's behalf (``gitkube rollback``).

One file changed, committed on top of ``parent`` with plumbing (a private index, never
the person's), published with compare-and-swap on the branch, under the person's own
git identity when they have one. A work tree with the branch checked out gets the file
too, and the commit is refused while that file has local edits.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gitkube import errors
from gitkube.source import plumbing


def commit_file(repo: Path, branch: str, parent: str, path: str, content: str,
                message: str) -> str:
    """Commit ``content`` as ``path`` on ``branch`` (which must be at ``parent``); its sha."""
    checked_out = _checked_out(repo, branch)
    if checked_out:
        dirty = plumbing.git(repo, "diff", "--quiet", "HEAD", "--", path)
        if dirty.returncode != 0:
            raise errors.ConfigError(
                f"{path} has changes not committed in {repo}; commit or stash them, then roll "
                "back again.")
    blob = plumbing.run(repo, "hash-object", "-w", "--stdin", stdin=content.encode()).decode()
    with tempfile.TemporaryDirectory(prefix="gitkube-rollback-") as scratch:
        env = _identity(repo, GIT_INDEX_FILE=str(Path(scratch, "index")))
        plumbing.run(repo, "read-tree", parent, env=env)
        plumbing.run(repo, "update-index", "--cacheinfo", f"100644,{blob.strip()},{path}",
                     env=env)
        tree = plumbing.run(repo, "write-tree", env=env).decode().strip()
        sha = plumbing.run(repo, "commit-tree", tree, "-p", parent, stdin=message.encode(),
                           env=env).decode().strip()
    try:
        plumbing.update_ref(repo, f"refs/heads/{branch}", sha, parent, "gitkube rollback")
    except plumbing.RefMoved as exc:
        raise errors.StoreConflict(
            f"Branch {branch} moved while the rollback was written; nothing was "
            "committed. Run the rollback again.", retry_after=0.0) from exc
    if checked_out:
        plumbing.run(repo, "checkout", "HEAD", "--", path)
    return sha


def _checked_out(repo: Path, branch: str) -> bool:
    done = plumbing.git(repo, "symbolic-ref", "-q", "HEAD")
    bare = plumbing.git(repo, "rev-parse", "--is-bare-repository")
    return (bare.stdout.strip() == b"false"
            and done.stdout.decode().strip() == f"refs/heads/{branch}")


def _identity(repo: Path, **extra: str) -> dict[str, str]:
    """The person's own git identity when configured, gitkube's otherwise."""
    env = plumbing.environment(**extra)
    name = _config(repo, "user.name")
    email = _config(repo, "user.email")
    if name and email:
        for who in ("AUTHOR", "COMMITTER"):
            env[f"GIT_{who}_NAME"], env[f"GIT_{who}_EMAIL"] = name, email
    return env


def _config(repo: Path, name: str) -> str:
    return plumbing.git(repo, "config", name).stdout.decode().strip()
