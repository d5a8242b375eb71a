"""The cluster repository as gitkube reads it: one commit in, one ``Revision`` out.

Top of the source layer: the engine asks for the revision at ``main``; this
module reads every committed ``*.yaml``/``*.yml`` file straight from Git's
objects (never the working tree, which may hold half-edited files), has
``yamlload`` and ``manifests`` turn them into objects (``secrets`` decrypting
age-encrypted Secrets in between, with the cluster's key), and reads the root
``inventory.yaml`` as the list of machines. A revision is used as a whole or not
at all: ``require_valid`` raises ``ManifestError`` when anything is wrong, and the
engine keeps the last good revision.

Git failures are translated into ``SourceError`` here, at the boundary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import git

from gitkube import errors
from gitkube.api import inventory as api_inventory
from gitkube.api import meta
from gitkube.source import manifests, networkcheck, secrets, yamlload

MANIFEST_SUFFIXES = (".yaml", ".yml")
#: Kubernetes refuses objects above 1.5 MiB; a larger file is a mistake (a dump, a binary).
MAX_FILE_BYTES = 4 * 1024 * 1024
_SYMLINK_MODE = 0o120000
_GIT_ERRORS = (git.BadName, git.BadObject, ValueError, git.GitCommandError)


@dataclasses.dataclass
class Revision:
    """Everything read from one commit: the objects, the inventory and what is wrong."""

    sha: str
    objects: list[meta.KubeObject]
    inventory: api_inventory.Inventory | None
    problems: list[errors.Problem]
    #: The commit's subject line.
    message: str
    #: How many YAML files were read, ``inventory.yaml`` included.
    files: int

    @property
    def valid(self) -> bool:
        return not self.problems


class SourceRepo:
    """A Git repository (bare or not) holding a cluster's manifests."""

    def __init__(self, path: str | Path, *, state_dir: Path | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        """``env``: variables for the git commands that read objects, on top of this
        process's environment — a pre-receive hook's quarantine variables, under which
        the pushed objects are visible (``hooks``)."""
        self.path = Path(path)
        #: Where the cluster's age key lives (``secrets.Keyring``); read at each revision.
        self.state_dir = state_dir
        try:
            self._repo = git.Repo(self.path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise errors.SourceError(
                f"{self.path} is not a Git repository; run `gitkube init` or give the path "
                "of the cluster repository."
            ) from exc
        if env is not None:
            # Before any object is read: GitPython's `cat-file --batch` processes start
            # lazily and keep the environment they started with.
            self._repo.git.update_environment(**env)
        # Parsed files by (path, blob sha): blobs are content-addressed, so a file that did
        # not change between two revisions is parsed once. Pruned to the last revision read.
        self._parsed: dict[tuple[str, str], Parsed] = {}

    def close(self) -> None:
        """Stop the ``git cat-file`` processes GitPython keeps open."""
        self._repo.close()

    def __enter__(self) -> SourceRepo:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def resolve(self, ref: str = "main") -> str:
        """The commit sha ``ref`` (a branch, tag or sha) names."""
        try:
            return str(self._repo.commit(ref).hexsha)
        except _GIT_ERRORS as exc:
            raise errors.SourceError(
                f"{ref!r} does not name a commit in {self.path}; push the branch first or "
                "check the name."
            ) from exc

    def head_of(self, branch: str) -> str | None:
        """The commit at the tip of ``branch``, or None when the branch does not exist."""
        try:
            return str(self._repo.commit(f"refs/heads/{branch}").hexsha)
        except _GIT_ERRORS:
            return None

    def commit_subject(self, sha: str) -> str:
        commit = self._commit(sha)
        return _text(commit.summary)

    def parents(self, sha: str) -> list[str]:
        """The parents of commit ``sha`` (none for a root commit or an unknown sha)."""
        try:
            return [str(parent.hexsha) for parent in self._commit(sha).parents]
        except errors.SourceError:
            return []

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when ``descendant`` contains ``ancestor`` (or is it): a fast-forward."""
        try:
            return self._repo.is_ancestor(self._commit(ancestor), self._commit(descendant))
        except _GIT_ERRORS as exc:
            raise errors.SourceError(
                f"Cannot compare commits {ancestor[:12]} and {descendant[:12]} in {self.path}: "
                f"{exc}."
            ) from exc

    def read_revision(self, sha: str) -> Revision:
        """Read and validate every manifest committed at ``sha``; problems are collected."""
        commit = self._commit(sha)
        problems: list[errors.Problem] = []
        files: list[tuple[str, Parsed]] = []
        cache: dict[tuple[str, str], Parsed] = {}
        blobs = sorted(_manifest_blobs(commit.tree), key=lambda blob: str(blob.path))
        for blob in blobs:
            path = str(blob.path)
            if blob.mode == _SYMLINK_MODE:
                problems.append(
                    errors.Problem(
                        path,
                        0,
                        "The file is a symbolic link; gitkube reads only files committed as "
                        "they are. Commit the file itself.",
                    )
                )
                continue
            key = (path, str(blob.hexsha))
            cache[key] = self._parsed.get(key) or _parse_blob(blob, path)
            files.append((path, cache[key]))
        self._parsed = cache
        keyring = secrets.Keyring.load(self.state_dir) if self.state_dir else None
        objects, inventory, found = validate_parsed(
            files, keyring=keyring, host_networks=networkcheck.read_host_networks())
        problems = sorted([*problems, *found], key=lambda p: (p.path, p.line))
        return Revision(
            sha=str(commit.hexsha),
            objects=objects,
            inventory=inventory,
            problems=problems,
            message=_text(commit.summary),
            files=len(blobs),
        )

    def _commit(self, sha: str) -> Any:
        try:
            return self._repo.commit(sha)
        except _GIT_ERRORS as exc:
            raise errors.SourceError(
                f"Commit {sha[:12]} is not in {self.path}; it may have been removed by a "
                "force-push or garbage collection."
            ) from exc


#: One file as ``yamlload`` read it: its documents, and what is wrong with its text.
Parsed = tuple[list[yamlload.Document], list[errors.Problem]]


def validate_files(
    files: Mapping[str, bytes], *, keyring: secrets.Keyring | None = None,
    host_networks: Iterable[tuple[str, str]] = (),
) -> tuple[list[meta.KubeObject], api_inventory.Inventory | None, list[errors.Problem]]:
    """The objects, inventory and problems of a revision's files (path → content), as
    ``read_revision`` finds them in a commit: the whole of validate without Git."""
    parsed = [(path, _parse_bytes(data, path)) for path, data in sorted(files.items())]
    objects, inventory, problems = validate_parsed(parsed, keyring=keyring,
                                                   host_networks=host_networks)
    return objects, inventory, sorted(problems, key=lambda p: (p.path, p.line))


def validate_parsed(
    files: Iterable[tuple[str, Parsed]], *, keyring: secrets.Keyring | None,
    host_networks: Iterable[tuple[str, str]],
) -> tuple[list[meta.KubeObject], api_inventory.Inventory | None, list[errors.Problem]]:
    """Parsed files → objects, the inventory (None unless valid) and every problem."""
    documents: list[yamlload.Document] = []
    problems: list[errors.Problem] = []
    inventory: api_inventory.Inventory | None = None
    inventory_docs: list[yamlload.Document] = []
    has_inventory = False
    for path, (file_docs, file_problems) in files:
        has_inventory = has_inventory or path == manifests.INVENTORY_PATH
        problems.extend(file_problems)
        if file_problems:
            continue
        if path == manifests.INVENTORY_PATH:
            inventory, inventory_problems = manifests.validate_inventory(file_docs, path)
            problems.extend(inventory_problems)
            inventory_docs = file_docs
        else:
            documents.extend(file_docs)
    if not has_inventory:
        problems.append(errors.Problem(manifests.INVENTORY_PATH, 0, (
            "The revision has no inventory.yaml, so it names no nodes: applying it would "
            "stop every pod. Restore the file (an inventory with `nodes: []` is how to "
            "say there are none).")))
    documents, list_problems = manifests.unwrap_lists(documents)
    problems.extend(list_problems)
    required = inventory is not None and inventory.settings.require_encrypted_secrets
    documents, secret_problems = secrets.decrypt_documents(
        documents, keyring, require_encrypted=required)
    problems.extend(secret_problems)
    objects, object_problems = manifests.validate_documents(documents)
    problems.extend(object_problems)
    problems.extend(networkcheck.check_revision(
        objects, documents, inventory, inventory_docs, host_networks))
    return objects, inventory, problems


def load_revision(repo: SourceRepo | str | Path, ref: str = "main") -> Revision:
    """Resolve ``ref`` and read that revision (opening the repository when given a path)."""
    if isinstance(repo, SourceRepo):
        return repo.read_revision(repo.resolve(ref))
    with SourceRepo(repo) as opened:
        return opened.read_revision(opened.resolve(ref))


def require_valid(revision: Revision) -> Revision:
    """``revision`` itself when it has no problems; otherwise ``ManifestError``."""
    if revision.problems:
        raise errors.ManifestError(revision.problems, revision=revision.sha)
    return revision


def _parse_blob(blob: Any, path: str) -> Parsed:
    # One `cat-file --batch` round trip per file: the stream knows the size, so asking
    # `blob.size` first (a second round trip) is not needed.
    stream = blob.data_stream
    if stream.size > MAX_FILE_BYTES:
        return _too_large(path)
    return yamlload.parse_documents(stream.read(), path)


def _parse_bytes(data: bytes, path: str) -> Parsed:
    return _too_large(path) if len(data) > MAX_FILE_BYTES else yamlload.parse_documents(data, path)


def _too_large(path: str) -> Parsed:
    return [], [errors.Problem(path, 0,
                               f"The file is larger than {MAX_FILE_BYTES} bytes; split it.")]


def _manifest_blobs(tree: Any) -> list[Any]:
    def hidden(item: Any, _depth: int) -> bool:
        return str(item.name).startswith(".")

    def manifest(item: Any, _depth: int) -> bool:
        return item.type == "blob" and str(item.name).endswith(MANIFEST_SUFFIXES)

    return list(tree.traverse(predicate=manifest, prune=hidden))


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
