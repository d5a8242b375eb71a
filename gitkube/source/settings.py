"""The cluster's own settings, kept in the repository's git config (``gitkube.*``).

Read by the engine (which branch, where the store lives, whether a force-pushed
branch may be applied, which keys must sign) and by the push hooks (the same
policy, enforced before a ref moves). Git config rather than a file in the tree
because a policy that lives in the tree could be changed by the very push it is
meant to judge; git config is written only by whoever administers the
repository (``git config gitkube.allowedSigners /etc/gitkube/allowed_signers``)::

    [gitkube]
        branch = main                    # the branch the cluster runs
        state = /var/lib/gitkube/demo    # store and locks (default: <git dir>/gitkube)
        store = etcd://cp1:2379,cp2:2379,cp3:2379   # (default: SQLite in the state dir)
        storeCACert = /etc/gitkube/etcd-ca.pem   # etcd over TLS, as etcdctl --cacert
        storeCert = /etc/gitkube/etcd-client.pem #   and --cert/--key when the members
        storeKey = /etc/gitkube/etcd-client-key.pem  # check client certificates
        encryptionKey = /etc/gitkube/encryption.key  # Secrets' key (default: <state>/...)
        leaseDuration = 15               # leader election with an etcd store (seconds,
        renewDeadline = 10               #   client-go's defaults)
        retryPeriod = 2
        allowForcePush = false           # hooks refuse non-fast-forward pushes; the engine
                                         # refuses to apply a branch that was rewritten
        allowBranchDeletion = false      # hooks refuse deleting branches
        allowedSigners = /etc/gitkube/allowed_signers   # every new commit must be signed
        pathSigners = prod/ /etc/gitkube/prod_signers    # (repeatable) who may change prod/
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from gitkube import errors
from gitkube.source import plumbing

DEFAULT_BRANCH = "main"
STATE_DIR_NAME = "gitkube"


@dataclasses.dataclass(frozen=True)
class PathRule:
    """Commits that change files under ``prefix`` must be signed by a key of ``signers``."""

    prefix: str
    signers: Path


@dataclasses.dataclass(frozen=True)
class Settings:
    branch: str = DEFAULT_BRANCH
    state: Path | None = None
    allow_force_push: bool = False
    allow_branch_deletion: bool = False
    allowed_signers: Path | None = None
    path_signers: tuple[PathRule, ...] = ()
    #: The store's URL or path ("": SQLite in the state directory).
    store: str = ""
    store_ca_cert: Path | None = None
    store_cert: Path | None = None
    store_key: Path | None = None
    encryption_key: Path | None = None
    #: Leader election among control machines (client-go's defaults), in seconds.
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    @property
    def shared_store(self) -> bool:
        """Whether several control machines may share this cluster's store (etcd)."""
        return self.store.startswith("etcd://")

    @property
    def signing_required(self) -> bool:
        return self.allowed_signers is not None or bool(self.path_signers)


def read_settings(repo: Path) -> Settings:
    """The ``gitkube.*`` settings of ``repo`` (one ``git config`` call)."""
    env = plumbing.environment(GIT_CEILING_DIRECTORIES=str(repo.resolve().parent))
    done = subprocess.run(["git", "-C", str(repo), "config", "--null", "--get-regexp",
                           r"^gitkube\."], capture_output=True, env=env, check=False)
    values: dict[str, list[str]] = {}
    for record in done.stdout.decode("utf-8", "replace").split("\0"):
        if not record:
            continue
        name, _, value = record.partition("\n")
        values.setdefault(name.lower(), []).append(value)

    def last(name: str) -> str:
        found = values.get(f"gitkube.{name.lower()}")
        return found[-1].strip() if found else ""

    def path(name: str) -> Path | None:
        return _path(repo, last(name)) if last(name) else None

    rules = []
    for value in values.get("gitkube.pathsigners", []):
        prefix, _, file = value.strip().partition(" ")
        if prefix and file.strip():
            rules.append(PathRule(prefix.strip(), _path(repo, file.strip())))
    return Settings(
        branch=last("branch") or DEFAULT_BRANCH,
        state=_path(repo, last("state")) if last("state") else None,
        allow_force_push=_true(last("allowForcePush")),
        allow_branch_deletion=_true(last("allowBranchDeletion")),
        allowed_signers=path("allowedSigners"),
        path_signers=tuple(rules),
        store=last("store"),
        store_ca_cert=path("storeCACert"),
        store_cert=path("storeCert"),
        store_key=path("storeKey"),
        encryption_key=path("encryptionKey"),
        lease_duration=_seconds("leaseDuration", last("leaseDuration"), 15.0),
        renew_deadline=_seconds("renewDeadline", last("renewDeadline"), 10.0),
        retry_period=_seconds("retryPeriod", last("retryPeriod"), 2.0),
    )


def state_dir(repo: Path, settings: Settings | None = None) -> Path:
    """Where the cluster's store, locks and daemon wake-up live."""
    chosen = (settings or read_settings(repo)).state
    return chosen if chosen is not None else git_dir(repo) / STATE_DIR_NAME


def keep_state_in(repo: Path, state: Path) -> None:
    """Record ``gitkube.state``: the cluster's store and locks live in ``state``."""
    plumbing.run(repo, "config", "gitkube.state", str(state.resolve()))


def git_dir(repo: Path) -> Path:
    dot_git = repo / ".git"
    if dot_git.is_dir():
        return dot_git
    if dot_git.is_file():  # a worktree: "gitdir: <path>"
        return Path(dot_git.read_text().split(":", 1)[1].strip())
    return repo


def _path(repo: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (repo / path).resolve()


def _seconds(name: str, value: str, default: float) -> float:
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise errors.ConfigError(f"git config gitkube.{name} is {value!r}; it is a number of "
                                 "seconds greater than 0.")
    return seconds


def _true(value: str) -> bool:
    return value.lower() in ("true", "yes", "on", "1")
