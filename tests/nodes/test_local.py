"""LocalTransport: commands and files on the control machine, with bounded waits."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.nodes import local


@pytest.fixture
def machine() -> local.LocalTransport:
    return local.LocalTransport("here")


def test_run_feeds_stdin_and_keeps_both_outputs(machine: local.LocalTransport) -> None:
    result = machine.run(["sh", "-c", "tr a-z A-Z; echo oops >&2; exit 3"], stdin=b"hello")

    assert (result.exit_code, result.stdout, result.stderr) == (3, b"HELLO", b"oops\n")
    assert not result.ok


def test_run_passes_arguments_without_a_shell(machine: local.LocalTransport) -> None:
    result = machine.run(["echo", "$HOME; rm -rf /", "'quoted'"])

    assert result.stdout == b"$HOME; rm -rf / 'quoted'\n"


def test_a_missing_command_answers_like_a_shell(machine: local.LocalTransport) -> None:
    result = machine.run(["gitkube-no-such-command"])

    assert result.exit_code == local.COMMAND_NOT_FOUND
    assert b"gitkube-no-such-command: command not found" in result.stderr


def test_a_hung_command_is_killed_and_reported(machine: local.LocalTransport) -> None:
    started = time.monotonic()
    # The child keeps the pipes open too: the whole session must go, not just `sh`.
    with pytest.raises(errors.NodeUnreachable, match=r"Node here did not finish `sh -c") as caught:
        machine.run(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.5)

    assert time.monotonic() - started < 10
    assert "raise the timeout" in str(caught.value)


def test_put_writes_bytes_and_files_with_mode(
    machine: local.LocalTransport, tmp_path: Path
) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(3 << 20))

    machine.put(b"#!/bin/sh\necho hi\n", str(tmp_path / "a" / "b" / "hello"), mode=0o755)
    machine.put(source, str(tmp_path / "copy.bin"))

    assert machine.run([str(tmp_path / "a" / "b" / "hello")]).stdout == b"hi\n"
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()
    assert (tmp_path / "copy.bin").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["hello"]


def test_put_into_an_unwritable_place_names_the_node(
    machine: local.LocalTransport, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("not a directory")

    with pytest.raises(errors.NodeUnreachable, match=r"Node here could not write .*file/x"):
        machine.put(b"x", str(tmp_path / "file" / "x"))
