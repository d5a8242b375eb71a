"""``gitkube init``: make a new cluster repository with its first commit.

The repository is the cluster's API, so it starts with what a person already has
(a folder of manifests) plus the ``inventory.yaml`` naming the machines, in one
commit made by gitkube's own identity. The commit is built with plumbing (see
``plumbing``), so the same code makes bare repositories (to push to) and
ordinary ones (to edit in place).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from gitkube import errors
from gitkube.source import manifests, plumbing, yamlload

INITIAL_MESSAGE = "Initial cluster manifests"


def init_repository(
    directory: str | Path,
    from_folder: Path | None,
    inventory_yaml: str,
    branch: str = "main",
    bare: bool = False,
) -> str:
    """Create the repository at ``directory`` and return the sha of its first commit.

    ``inventory_yaml`` is the inventory of a folder that has none: a folder's own
    ``inventory.yaml`` is its cluster's, and is committed as it is (once it is valid).
    """
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise errors.SourceError(
            f"{directory} already exists and is not empty; choose a new directory."
        )
    files, executable = _read_folder(from_folder) if from_folder is not None else ({}, set())
    own = files.get(manifests.INVENTORY_PATH)
    if own is None:
        _check_inventory(inventory_yaml, "The inventory given to init")
        files[manifests.INVENTORY_PATH] = inventory_yaml.encode()
    else:
        _check_inventory(own, f"{from_folder}/{manifests.INVENTORY_PATH}")
    created = not directory.exists()
    try:
        return _create(directory, files, executable, branch, bare)
    except BaseException:
        _undo(directory, created)
        raise


def _create(
    directory: Path, files: dict[str, bytes], executable: set[str], branch: str, bare: bool
) -> str:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.SourceError(
            f"{directory} cannot be made: {exc.strerror}; choose a directory gitkube may "
            "create.") from exc
    init = ["init", "--quiet", f"--initial-branch={branch}"]
    plumbing.run(directory, *init, *(["--bare"] if bare else []), ".")
    tree = plumbing.write_tree(directory, files, executable)
    sha = plumbing.commit_tree(directory, tree, [], INITIAL_MESSAGE)
    plumbing.update_ref(directory, f"refs/heads/{branch}", sha, plumbing.ZERO_ID, INITIAL_MESSAGE)
    if not bare:
        for path, data in files.items():
            target = directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            if path in executable:
                target.chmod(0o755)
        plumbing.run(directory, "reset", "--quiet")  # the index now matches the commit
    return sha


def _check_inventory(inventory_yaml: str | bytes, what: str) -> None:
    documents, problems = yamlload.parse_documents(inventory_yaml, manifests.INVENTORY_PATH)
    if not problems:
        _, problems = manifests.validate_inventory(documents)
    if problems:
        listed = "\n".join(f"  {problem}" for problem in problems)
        raise errors.ConfigError(f"{what} is not valid:\n{listed}")


def _read_folder(folder: Path) -> tuple[dict[str, bytes], set[str]]:
    if not folder.is_dir():
        raise errors.SourceError(f"{folder} is not a directory of manifests.")
    files: dict[str, bytes] = {}
    executable: set[str] = set()
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(names):
            source = Path(root, name)
            try:
                mode = source.stat().st_mode
            except FileNotFoundError:
                continue  # a dangling symbolic link
            if not stat.S_ISREG(mode):
                continue
            path = source.relative_to(folder).as_posix()
            files[path] = source.read_bytes()
            if mode & stat.S_IXUSR:
                executable.add(path)
    return files, executable


def _undo(directory: Path, created: bool) -> None:
    if created:
        shutil.rmtree(directory, ignore_errors=True)
    elif directory.is_dir():
        for child in directory.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
