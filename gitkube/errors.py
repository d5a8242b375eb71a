"""Every error gitkube raises on purpose, in one tree.

The CLI maps these classes to exit codes; everything else is a bug. Errors that
crossed a boundary (git, sqlite, paramiko, podman) are translated at that
boundary with ``raise ... from exc`` so the cause stays visible.

    GitkubeError
    ├── PermanentError            retrying will not help until someone changes something
    │   ├── ConfigError           inventory.yaml, cluster settings, CLI arguments
    │   ├── ManifestError         manifests of a revision are invalid (carries .problems)
    │   ├── SourceError           the Git repository cannot be read or written as needed
    │   ├── PlanStale             a saved plan no longer matches Git or the store
    │   └── HostKeyRejected       a node's SSH host key is unknown or changed
    └── TemporaryError            try again later (``.retry_after`` seconds, when known)
        ├── StoreConflict         a compare-and-swap lost against a concurrent writer
        ├── StoreUnavailable      the store cannot be reached or has no quorum (etcd)
        ├── NotLeader             another control machine leads the cluster (or took over)
        ├── NodeUnreachable       the transport could not reach a node or timed out
        ├── AgentError            the node agent answered with an error or garbage
        └── LockHeld              another gitkube process holds the cluster lock
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class GitkubeError(Exception):
    """Root of gitkube's errors. The message is a sentence meant for a person."""


class PermanentError(GitkubeError):
    """Retrying will not help until someone changes the input."""


class TemporaryError(GitkubeError):
    """Retrying later may help."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one manifest, pointing at where it is.

    ``path`` is the file inside the repository, ``line`` is 1-based (0 when
    unknown) and ``field`` is the dotted field path inside the document
    (``spec.template.spec.containers[0].image``), empty for the whole document.
    """

    path: str
    line: int
    message: str
    field: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class ConfigError(PermanentError):
    """The cluster's configuration (inventory.yaml, settings, arguments) is wrong."""


class ManifestError(PermanentError):
    """A revision's manifests are invalid; nothing of that revision is used."""

    def __init__(self, problems: Sequence[Problem], *, revision: str = "") -> None:
        self.problems = list(problems)
        self.revision = revision
        at = f" at {revision[:12]}" if revision else ""
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"The manifests{at} have {count} {noun}; nothing of this revision was applied:\n{lines}"
        )


class SourceError(PermanentError):
    """The Git repository cannot be read or written as gitkube needs."""


class PlanStale(PermanentError):
    """A saved plan was made against a Git or store revision that has moved on."""


class HostKeyRejected(PermanentError):
    """A node's SSH host key is unknown or does not match known_hosts."""


class StoreConflict(TemporaryError):
    """A compare-and-swap lost against a concurrent writer; re-read and retry."""


class StoreUnavailable(TemporaryError):
    """The store cannot serve: no etcd member answers, or they have no quorum."""


class NotLeader(TemporaryError):
    """Another control machine leads the cluster, or took over: this one writes nothing.

    ``leader`` names the one that leads, when known."""

    def __init__(self, message: str, *, leader: str = "", retry_after: float | None = None
                 ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.leader = leader


class NodeUnreachable(TemporaryError):
    """A node could not be reached, or did not answer in time."""


class SessionLost(NodeUnreachable):
    """A long-lived agent session ended before it answered (it may be started again).

    ``exit_code`` is the command's when it ended by itself (None when the connection was
    cut), ``stderr`` the end of what it wrote there.
    """

    def __init__(self, message: str, *, exit_code: int | None = None, stderr: bytes = b"",
                 retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.exit_code = exit_code
        self.stderr = stderr


class AgentError(TemporaryError):
    """The node agent answered with an error or with something that is not its protocol."""


class LockHeld(TemporaryError):
    """Another gitkube process holds the cluster lock."""
