"""Push to deploy: the hooks ``gitkube init --bare`` installs, and what they run.

The first trigger of the pipeline. ``pre-receive`` judges a push before any ref
moves: the cluster branch may only move forward (unless ``gitkube.allowForcePush``),
branches are not deleted (unless ``gitkube.allowBranchDeletion``), the status
branch is the cluster's own, the pushed revision must be valid as a whole (the
same ``file:line`` problems ``gitkube validate`` prints, shown in the pusher's
terminal as ``remote:`` lines) and, when the policy asks, every new commit must
carry an allowed SSH signature. When ``gitkube serve`` runs, the hook asks it for
that verdict (``judge``: the daemon has GitPython and the models imported already)
and judges by itself only when no daemon answers; ``judge_push`` is the one
judgement both use, so the pusher reads the same lines either way.
``post-receive`` then wakes ``gitkube serve`` through a FIFO in the state
directory, or, when no daemon listens, starts one ``gitkube reconcile`` detached
from the push so that ``git push`` returns at once.

The hook scripts run ``python -m gitkube.source.hooks`` with the interpreter that
installed them, so the hooks use the same gitkube as the person who made the
repository. Inside a hook git sets ``GIT_DIR`` and, during pre-receive, points
``GIT_OBJECT_DIRECTORY`` at a quarantine holding the pushed objects: judging reads
with an explicit environment that keeps the quarantine variables (so it sees the
new commits, in the hook or in the daemon) and the spawned pass gets none of
git's variables.
"""

from __future__ import annotations

import errno
import io
import os
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gitkube import errors
from gitkube.source import judge, plumbing, settings, signatures

HOOKS = ("pre-receive", "post-receive")
#: The FIFO ``gitkube serve`` reads; a byte written to it means "look at the branch now".
WAKE_FIFO = "wake.fifo"
#: Where a pass started by post-receive (no daemon running) writes its output.
PASS_LOG = "pass.log"
STATUS_REF = "refs/heads/gitkube/status"

_SCRIPT = """\
#!/bin/sh
# Installed by `gitkube init --bare`: {what}
# It runs the gitkube of this Python: {python}
exec {python_q} -P -m gitkube.source.hooks {hook} "$@"
"""
_WHAT = {
    "pre-receive": "refuses pushes with invalid manifests, rewrites or unsigned commits.",
    "post-receive": "wakes `gitkube serve`, or starts one reconcile pass.",
}


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str

    @property
    def deletes(self) -> bool:
        return self.new == plumbing.ZERO_ID

    @property
    def creates(self) -> bool:
        return self.old == plumbing.ZERO_ID


def parse_updates(lines: Iterable[str]) -> list[RefUpdate]:
    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            updates.append(RefUpdate(*parts))
    return updates


def install(repo: Path, python: str | None = None) -> list[Path]:
    """Write the hooks into ``repo`` (a bare repository); returns the files written."""
    python = python or sys.executable
    hooks_dir = settings.git_dir(repo) / "hooks"
    hooks_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for hook in HOOKS:
        path = hooks_dir / hook
        path.write_text(_SCRIPT.format(what=_WHAT[hook], python=python,
                                       python_q=shlex.quote(python), hook=hook))
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        written.append(path)
    return written


# --------------------------------------------------------------------------- pre-receive

def pre_receive(repo: Path, updates: list[RefUpdate], out: TextIO,
                env: Mapping[str, str] | None = None) -> int:
    """0 to accept the push, 1 to refuse it (with the reasons written to ``out``).

    ``env`` is the environment git runs with to read the pushed objects (see
    ``judge_push``); by default this process's, which inside the hook holds git's
    quarantine variables."""
    env = hook_env() if env is None else env
    policy = settings.read_settings(repo)
    branch_ref = f"refs/heads/{policy.branch}"
    refused = False
    for update in updates:
        reasons = _judge(repo, policy, branch_ref, update, env)
        if reasons:
            refused = True
            out.write(f"gitkube: refusing the push to {update.ref}:\n")
            out.writelines(f"  {reason}\n" for reason in reasons)
    if refused:
        out.write("gitkube: nothing of this push was accepted; the cluster is unchanged.\n")
        return 1
    return 0


def judge_push(repo: Path, updates: list[RefUpdate], env: Mapping[str, str]) -> tuple[int, str]:
    """The hook's exit code and the text it prints, whoever judges: the hook itself or
    ``gitkube serve`` on its behalf (``judge``), so the pusher sees the same either way."""
    out = io.StringIO()
    try:
        code = pre_receive(repo, updates, out, env)
    except errors.GitkubeError as exc:
        out.write(f"gitkube: {exc}\n")
        code = 1
    return code, out.getvalue()


def hook_env() -> dict[str, str]:
    """This process's environment for reading the repository from inside a hook."""
    # The quarantine variables stay: they are how pre-receive sees the pushed objects.
    return {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}


def _judge(repo: Path, policy: settings.Settings, branch_ref: str, update: RefUpdate,
           env: Mapping[str, str]) -> list[str]:
    if update.ref == STATUS_REF:
        return _judge_status(repo, policy, branch_ref, update, env)
    if update.deletes:
        if update.ref.startswith("refs/heads/") and not policy.allow_branch_deletion:
            return [f"Deleting {update.ref} is refused; set `git config "
                    "gitkube.allowBranchDeletion true` in the cluster repository to allow it."]
        return []
    if update.ref != branch_ref:
        return []
    if not update.creates and not policy.allow_force_push and not _is_ancestor(
            repo, update.old, update.new, env):
        return [f"This push rewrites {update.ref} ({update.old[:12]} is not an ancestor of "
                f"{update.new[:12]}); pull, rebase or merge, then push again. (`git config "
                "gitkube.allowForcePush true` allows rewrites.)"]
    reasons = [str(r) + "." for r in signatures.check_range(
        repo, policy, update.new, [] if update.creates else [update.old], env=env)]
    from gitkube.source import repo as source_repo  # GitPython: only when a revision is read

    state = settings.state_dir(repo, policy)
    with source_repo.SourceRepo(repo, state_dir=state, env=env) as reader:
        revision = reader.read_revision(update.new)
    if revision.problems:
        count = len(revision.problems)
        reasons.append(f"The manifests at {update.new[:12]} have {count} "
                       f"problem{'s' if count != 1 else ''}; nothing of this revision is used:")
        reasons.extend(f"  {problem}" for problem in revision.problems)
    return reasons


def _judge_status(repo: Path, policy: settings.Settings, branch_ref: str, update: RefUpdate,
                  env: Mapping[str, str]) -> list[str]:
    """Only the cluster writes its ledger. With several control machines (an etcd store) the
    leader pushes it here, as fast-forwards of commits that carry its term (``publish``)."""
    refusal = ["gitkube/status is written by the cluster itself; push to "
               f"{branch_ref.removeprefix('refs/heads/')} instead."]
    if not policy.store.startswith("etcd://") or update.deletes:
        return refusal
    if not update.creates and not _is_ancestor(repo, update.old, update.new, env):
        return ["gitkube/status only moves forward (the leader never forces it)."]
    # A new ledger may start from a lone machine's history; what the leader adds carries terms.
    span = ["-1", update.new] if update.creates else [f"{update.old}..{update.new}"]
    done = subprocess.run(["git", "-C", str(repo), "log", "--format=%(trailers:key=Gitkube-Term,"
                           "valueonly,separator=)%x00", *span], capture_output=True,
                          env=dict(env), check=False)
    terms = done.stdout.decode("utf-8", "replace").split("\0")[:-1]
    if done.returncode != 0 or not all(term.strip().isdigit() for term in terms):
        return refusal
    return []


def _is_ancestor(repo: Path, old: str, new: str, env: Mapping[str, str]) -> bool:
    done = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", old, new],
                          capture_output=True, env=dict(env), check=False)
    return done.returncode == 0


# --------------------------------------------------------------------------- post-receive

def post_receive(repo: Path, updates: list[RefUpdate], out: TextIO) -> int:
    policy = settings.read_settings(repo)
    branch_ref = f"refs/heads/{policy.branch}"
    if not any(u.ref == branch_ref and not u.deletes for u in updates):
        return 0
    state = settings.state_dir(repo, policy)
    watch = f"gitkube --repo {shlex.quote(str(repo))} status --watch"
    if wake(state):
        out.write(f"gitkube: woke `gitkube serve`; the cluster applies this push now.\n"
                  f"gitkube: watch it with `{watch}`\n")
        return 0
    try:
        pid = start_pass(repo, state)
    except OSError as exc:
        out.write(f"gitkube: could not start a pass ({exc}); run `gitkube reconcile` in "
                  f"{repo}.\n")
        return 0  # the push itself is done; a failing post-receive cannot undo it
    out.write(f"gitkube: no `gitkube serve` runs; started one pass (process {pid}), "
              f"its log is {state / PASS_LOG}\n"
              f"gitkube: watch it with `{watch}`\n")
    return 0


def wake(state: Path) -> bool:
    """Wake a running ``gitkube serve``; False when none listens."""
    try:
        fd = os.open(state / WAKE_FIFO, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENOENT):  # no reader, or no FIFO at all
            return False
        raise
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        os.write(fd, b"\n")
    except BlockingIOError:
        pass  # the FIFO is full of wake-ups already: the daemon will look anyway
    finally:
        os.close(fd)
    return True


def start_pass(repo: Path, state: Path) -> int:
    """Start ``gitkube reconcile --wait`` detached from the push; returns its pid."""
    state.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    with (state / PASS_LOG).open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", "gitkube", "--repo", str(repo), "reconcile", "--wait"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            cwd=str(repo), start_new_session=True, close_fds=True,
        )
    return process.pid


# --------------------------------------------------------------------------- entry point

def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in HOOKS:
        sys.stderr.write(f"usage: python -m gitkube.source.hooks {{{','.join(HOOKS)}}}\n")
        return 2
    repo = Path(os.environ.get("GIT_DIR", ".")).resolve()
    updates = parse_updates(sys.stdin)
    if argv[0] == "pre-receive":
        code, text = _pre_receive_verdict(repo, updates)
        sys.stdout.write(text)
        return code
    try:
        return post_receive(repo, updates, sys.stdout)
    except errors.GitkubeError as exc:
        sys.stdout.write(f"gitkube: {exc}\n")
        return 0


def _pre_receive_verdict(repo: Path, updates: list[RefUpdate]) -> tuple[int, str]:
    # A running `gitkube serve` has GitPython and every model imported already: asking it
    # saves this process most of its start-up. When none answers, judge here, the same way.
    env = hook_env()
    state = settings.state_dir(repo)
    answer = judge.ask(state, repo, [(u.old, u.new, u.ref) for u in updates], env)
    return answer if answer is not None else judge_push(repo, updates, env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
