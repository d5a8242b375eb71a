"""The cluster lock: one pass at a time, and a dead holder never blocks the next pass."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.source import locks

HOLDER = """
import sys, time
from pathlib import Path
from gitkube.source import locks
with locks.cluster_lock(Path(sys.argv[1]), wait=False):
    print("locked", flush=True)
    time.sleep(300)
"""


def test_a_second_pass_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    with locks.cluster_lock(tmp_path / "state", wait=False) as path:
        assert path == tmp_path / "state" / "pass.lock"
        with (
            pytest.raises(errors.LockHeld, match=r"Another gitkube pass \(process \d+\) holds"),
            locks.cluster_lock(tmp_path / "state", wait=False),
        ):
            pass  # pragma: no cover - never entered
    with locks.cluster_lock(tmp_path / "state", wait=False):
        pass


def test_waiting_gets_the_lock_once_it_is_released(tmp_path: Path) -> None:
    got_it = threading.Event()

    def second_pass() -> None:
        with locks.cluster_lock(tmp_path, wait=True):
            got_it.set()

    with locks.cluster_lock(tmp_path, wait=False):
        waiter = threading.Thread(target=second_pass)
        waiter.start()
        assert not got_it.is_set()
    waiter.join(timeout=30)
    assert got_it.is_set()


def test_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        with (
            pytest.raises(errors.LockHeld, match=f"process {holder.pid}"),
            locks.cluster_lock(tmp_path, wait=False),
        ):
            pass  # pragma: no cover - never entered
    finally:
        holder.kill()
        holder.wait()
    with locks.cluster_lock(tmp_path, wait=False):
        pass
