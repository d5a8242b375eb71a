"""The status ledger of a cluster with several control machines: the leader pushes it, unforced.

Each control machine keeps its own clone of the cluster repository and fetches the branch
from one origin, where people push. Only the leader writes status, and its clone's
``gitkube/status`` is not the ledger anyone else reads: the origin's is. So the leader builds
each status commit on the origin's tip as just fetched (or, the first time, on its own
branch, which keeps the history of a cluster that had one machine) and pushes it as a
fast-forward. When the origin refuses (another writer moved the branch meanwhile) it fetches
and builds again; it never forces, so ``git log gitkube/status`` stays one line.

Each commit carries its leader's term as a trailer (``Gitkube-Term: 7``). A leader that
finds a newer term on the origin has been replaced: it publishes nothing
(``NotLeader``). After a push the clone's own ``gitkube/status`` points at what it pushed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from gitkube import errors
from gitkube.source import plumbing, status

TERM_TRAILER = "Gitkube-Term"
#: Where the origin's ledger is fetched to (not a branch: nobody works on it).
FETCHED_REF = "refs/gitkube/origin-status"
ATTEMPTS = 5


def publish(repo: Path, remote: str, files: Mapping[str, bytes], message: str, *,
            term: int, attempts: int = ATTEMPTS) -> str | None:
    """Commit exactly ``files`` on the origin's ``gitkube/status`` as the leader of ``term``;
    the commit pushed, or None when the origin's ledger already holds that tree."""
    signed = with_term(message, term)
    return publish_commit(repo, remote,
                          lambda parent: status.commit_files(repo, parent, files, signed),
                          term=term, attempts=attempts)


def with_term(message: str, term: int) -> str:
    """A status commit's message with its leader's term as a trailer."""
    return f"{message.rstrip()}\n\n{TERM_TRAILER}: {term}\n"


def publish_commit(repo: Path, remote: str, build: Callable[[str | None], str | None], *,
                   term: int, attempts: int = ATTEMPTS) -> str | None:
    """Push the status commit ``build`` makes on the origin's tip (or, when the origin has
    none, on this clone's own branch; None: no parent) as the leader of ``term``: the commit
    pushed, or None when ``build`` found nothing to change. A rejected push fetches and
    builds again."""
    for _ in range(attempts):
        tip = fetch_status(repo, remote)
        if tip is not None:
            _check_term(repo, remote, tip, term)
        parent = tip or status.tip(repo)
        new = build(parent)
        if new is None:
            if tip is not None:
                _follow(repo, tip)
            return None
        if _push(repo, remote, new):
            _follow(repo, new)
            return new
    raise errors.StoreConflict(
        f"The origin {remote} refused the status commit {attempts} times: its "
        f"{status.STATUS_BRANCH} kept moving (another writer?); the next pass tries again.",
        retry_after=2.0)


def origin_url(repo: Path) -> str | None:
    """Where this clone fetches from (``remote.origin.url``): where its leader publishes."""
    done = plumbing.git(repo, "remote", "get-url", "origin")
    url = done.stdout.decode().strip()
    return url if done.returncode == 0 and url else None


def fetch_status(repo: Path, remote: str) -> str | None:
    """The origin's ``gitkube/status`` tip, fetched into the clone; None when there is none."""
    done = plumbing.git(repo, "fetch", "--quiet", "--no-tags", remote,
                        f"+{status.STATUS_REF}:{FETCHED_REF}")
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip()
        if "couldn't find remote ref" not in said:
            raise errors.SourceError(f"Could not fetch {status.STATUS_BRANCH} from {remote}: "
                                     f"{said or f'exit status {done.returncode}'}.")
        plumbing.git(repo, "update-ref", "-d", FETCHED_REF)
        return None
    return plumbing.rev_parse(repo, FETCHED_REF)


def term_of(repo: Path, commit: str) -> int:
    """The leader term a status commit was written in (0: written by a lone machine)."""
    out = plumbing.run(repo, "log", "-1", f"--format=%(trailers:key={TERM_TRAILER},valueonly)",
                       commit).decode().split()
    return int(out[-1]) if out and out[-1].isdigit() else 0


def _check_term(repo: Path, remote: str, tip: str, term: int) -> None:
    newer = term_of(repo, tip)
    if newer > term:
        raise errors.NotLeader(
            f"The ledger on {remote} was last written in term {newer}, after this machine's "
            f"term {term}: another control machine leads now, so this one publishes nothing.",
            retry_after=2.0)


def _push(repo: Path, remote: str, commit: str) -> bool:
    """Push ``commit`` as the origin's ``gitkube/status``, never forced; False when the origin
    refused it as not a fast-forward (the branch moved since it was fetched)."""
    done = plumbing.git(repo, "push", "--quiet", "--porcelain", remote,
                        f"{commit}:{status.STATUS_REF}")
    if done.returncode == 0:
        return True
    said = (done.stdout + done.stderr).decode("utf-8", "replace")
    if "[rejected]" in said:
        return False
    lines = said.strip().splitlines()
    why = [line.removeprefix("remote:").strip() for line in lines if line.startswith("remote:")]
    raise errors.SourceError(f"The origin {remote} refused the status commit: "
                             f"{' '.join(why or lines[-1:]) or 'no reason given'}")


def _follow(repo: Path, commit: str) -> None:
    """Point the clone's own ``gitkube/status`` at what the origin holds."""
    plumbing.run(repo, "update-ref", "-m", "gitkube: the origin's ledger", status.STATUS_REF,
                 commit)
