"""Mistakes on the command line end in one sentence and exit 1, never in a traceback.

Each case is something a person can type: a state directory that cannot be made, a
repository path that cannot be created, a file too deeply nested to be a manifest. The
command runs in-process (``main.main``) against a real repository made by ``gitkube init``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gitkube.cli import main
from tests.cli import objects as o

#: An age public key nobody holds: ``secret encrypt`` needs a recipient, not a secret.
RECIPIENT = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sentences") / "cluster"
    assert main.main(["init", str(path)], out=o.console(), err=o.console()) == 0
    return path


def _run(*argv: str) -> tuple[int, str]:
    out, err = o.console(), o.console()
    code = main.main(list(argv), out=out, err=err)
    text = o.text_of(out) + o.text_of(err)
    assert "Traceback" not in text and "bug in gitkube" not in text, text
    return code, " ".join(text.split())


def test_a_state_directory_that_cannot_be_made(repo: Path) -> None:
    assert _run("--repo", str(repo), "--state", "/proc/gitkube-x", "plan") == (1, (
        "Error: The state directory /proc/gitkube-x cannot be made: No such file or directory. "
        "Give --state a directory gitkube may create and write (or leave it out to keep the "
        "state in the repository's git dir)."))


def test_a_state_directory_that_is_a_file(repo: Path, tmp_path: Path) -> None:
    afile = tmp_path / "state"
    afile.write_text("")
    code, text = _run("--repo", str(repo), "--state", str(afile), "status")
    assert code == 1
    assert text.startswith(f"Error: The state directory {afile} cannot be made: it is a file.")


def test_init_where_no_directory_can_be_made() -> None:
    assert _run("init", "/proc/gitkube-x/cluster") == (1, (
        "Error: /proc/gitkube-x/cluster cannot be made: No such file or directory; choose a "
        "directory gitkube may create."))


@pytest.mark.parametrize("name", ["no", "1e3"])
def test_init_of_a_directory_whose_name_yaml_would_read_as_another_type(
        tmp_path: Path, name: str) -> None:
    code, _ = _run("init", str(tmp_path / name))
    assert code == 0
    assert _run("--repo", str(tmp_path / name), "validate")[0] == 0


def test_secret_encrypt_of_a_file_nested_too_deeply(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert _run("secret", "encrypt", str(deep), "--recipient", RECIPIENT) == (1, (
        f"Error: {deep} cannot be read as manifests: line 1: Mappings and lists are nested more "
        "than 100 levels deep here; gitkube reads at most that many (no manifest needs more)."))
