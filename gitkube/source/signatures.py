"""Signed commits: who may change the cluster, checked with SSH signatures.

Part of the source layer, used twice: by the pre-receive hook (a push whose new
commits are unsigned, or signed by a key not allowed, is refused before any ref
moves) and by the engine (a revision that reached the repository some other way
— a local commit, a fetch — is never applied unverified). The policy comes from
git config (see ``settings``): ``gitkube.allowedSigners`` names an OpenSSH
allowed-signers file every new commit must satisfy; each ``gitkube.pathSigners``
rule (``prod/ FILE``) adds a second file that commits touching ``prod/`` must
satisfy too.

Verification is git's own (``%G?`` with ``gpg.ssh.allowedSignersFile``), which runs
``ssh-keygen -Y verify``: "G" is a good signature by an allowed key; "U" (a good
signature by a key not in the file), "N" (none), "B" (bad) and the rest are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from gitkube import errors
from gitkube.source import plumbing, settings

_FIELDS = "%H%x1f%G?%x1f%GS%x1f%GK%x1f%s%x1e"
_VERDICTS = {
    "N": "is not signed",
    "U": "is signed by a key that is not allowed",
    "B": "has a bad signature",
    "X": "has an expired signature",
    "Y": "is signed by an expired key",
    "R": "is signed by a revoked key",
    "E": "has a signature that cannot be checked",
}


@dataclasses.dataclass(frozen=True)
class Refusal:
    """One commit the policy refuses, and why, as a sentence."""

    sha: str
    subject: str
    reason: str

    def __str__(self) -> str:
        return f"commit {self.sha[:12]} ({self.subject}) {self.reason}"

    def problem(self) -> errors.Problem:
        return errors.Problem(f"commit {self.sha[:12]}", 0, f"{self.reason}.")


def check_range(
    repo: Path, policy: settings.Settings, new: str, exclude: list[str],
    *, env: Mapping[str, str] | None = None,
) -> list[Refusal]:
    """Commits reachable from ``new`` but not from ``exclude`` that the policy refuses.

    ``env`` is the environment git runs with (a pre-receive hook's, whose quarantine
    variables make the pushed commits visible); by default ``plumbing.environment()``."""
    if not policy.signing_required:
        return []
    revs = [new, *(f"^{sha}" for sha in exclude)]
    refusals: dict[str, Refusal] = {}
    if policy.allowed_signers is not None:
        for refusal in _unverified(repo, policy.allowed_signers, revs, [], "every commit", env):
            refusals.setdefault(refusal.sha, refusal)
    for rule in policy.path_signers:
        scope = f"changes to {rule.prefix}"
        for refusal in _unverified(repo, rule.signers, revs, [rule.prefix], scope, env):
            refusals.setdefault(refusal.sha, refusal)
    return list(refusals.values())


def _unverified(
    repo: Path, signers: Path, revs: list[str], paths: list[str], scope: str,
    env: Mapping[str, str] | None,
) -> list[Refusal]:
    if not signers.is_file():
        raise errors.ConfigError(
            f"The allowed signers file {signers} (git config gitkube.allowedSigners or "
            "gitkube.pathSigners) does not exist; create it or remove the setting."
        )
    out = plumbing.run(
        repo, "-c", f"gpg.ssh.allowedSignersFile={signers}", "log", "--full-history",
        f"--format={_FIELDS}", *revs, "--", *paths, env=env,
    ).decode("utf-8", "replace")  # fmt: skip
    refused = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, verdict, _signer, key, subject = record.split("\x1f", 4)
        if verdict == "G":
            continue
        said = _VERDICTS.get(verdict, f"has a signature git rates {verdict!r}")
        by = f" ({key})" if key and verdict == "U" else ""
        refused.append(Refusal(
            sha, subject,
            f"{said}{by}; {scope} must be signed by a key listed in {signers}",
        ))
    return refused
