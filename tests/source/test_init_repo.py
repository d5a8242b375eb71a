"""`gitkube init`: a new cluster repository with one first commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.source import init

from .source_helpers import INVENTORY, POD


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "manifests"
    (folder / "apps").mkdir(parents=True)
    (folder / "apps" / "web.yaml").write_text(POD.format(name="web"))
    (folder / "README.md").write_text("my cluster\n")
    (folder / "hook.sh").write_text("#!/bin/sh\n")
    (folder / "hook.sh").chmod(0o755)
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("not copied\n")
    return folder


def test_init_commits_the_folder_and_the_inventory(tmp_path: Path, folder: Path) -> None:
    target = tmp_path / "cluster"
    sha = init.init_repository(target, folder, INVENTORY)
    assert git(target, "rev-parse", "main") == sha
    assert git(target, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert git(target, "log", "--format=%an <%ae>|%s") == (
        "gitkube <gitkube@localhost>|Initial cluster manifests"
    )
    assert git(target, "ls-tree", "-r", "--format=%(objectmode) %(path)", sha).splitlines() == [
        "100644 README.md",
        "100644 apps/web.yaml",
        "100755 hook.sh",
        "100644 inventory.yaml",
    ]
    assert git(target, "show", f"{sha}:inventory.yaml") + "\n" == INVENTORY
    assert git(target, "status", "--porcelain") == ""  # working tree and index match
    assert (target / "apps" / "web.yaml").read_text() == POD.format(name="web")


def test_init_bare_without_a_folder(tmp_path: Path) -> None:
    target = tmp_path / "cluster.git"
    sha = init.init_repository(target, None, INVENTORY, branch="prod", bare=True)
    assert git(target, "rev-parse", "--is-bare-repository") == "true"
    assert git(target, "rev-parse", "prod") == sha
    assert git(target, "ls-tree", "--name-only", sha) == "inventory.yaml"


def test_init_refuses_a_non_empty_directory(tmp_path: Path, folder: Path) -> None:
    with pytest.raises(errors.SourceError, match="not empty"):
        init.init_repository(folder, None, INVENTORY)
    assert (folder / "apps" / "web.yaml").exists()


def test_init_accepts_an_existing_empty_directory(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    init.init_repository(target, None, INVENTORY)
    assert git(target, "ls-files") == "inventory.yaml"


def test_an_invalid_inventory_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    target = tmp_path / "cluster"
    bad = INVENTORY.replace("transport: local", "transport: telnet")
    with pytest.raises(errors.ConfigError, match=r"inventory.yaml:6: nodes\[0\].transport"):
        init.init_repository(target, None, bad)
    assert not target.exists()


def test_the_folders_own_inventory_is_the_clusters(tmp_path: Path, folder: Path) -> None:
    own = "# our three machines\n" + INVENTORY.replace("cluster: test", "cluster: other")
    (folder / "inventory.yaml").write_text(own)
    target = tmp_path / "cluster"
    sha = init.init_repository(target, folder, INVENTORY)
    assert git(target, "show", f"{sha}:inventory.yaml") == own.rstrip("\n")
    assert (target / "inventory.yaml").read_text() == own


def test_an_invalid_inventory_in_the_folder_is_refused_at_its_line(tmp_path: Path,
                                                                    folder: Path) -> None:
    (folder / "inventory.yaml").write_text(INVENTORY.replace("transport: local",
                                                             "transport: telnet"))
    with pytest.raises(errors.ConfigError) as refused:
        init.init_repository(tmp_path / "cluster", folder, INVENTORY)
    assert str(refused.value).startswith(f"{folder}/inventory.yaml is not valid:\n  "
                                         "inventory.yaml:6: nodes[0].transport:")
    assert not (tmp_path / "cluster").exists()
