"""A compare-and-swap race between processes, for every backend that processes share."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from gitkube.store import base, open_store

REPO = Path(__file__).resolve().parents[2]

# A worker process: waits for the start signal, then increments /counter with
# compare-and-swap until it has won ``wins`` times; prints its wins and losses.
WORKER = """
import os, sys, time, pathlib
from gitkube import errors
from gitkube.store import open_store
from gitkube.store.base import Compare, Put

location, go, wanted = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])
store = open_store(location)
go.with_name(f"ready-{os.getpid()}").touch()
while not go.exists():
    time.sleep(0.005)
wins = losses = 0
while wins < wanted:
    kv = store.get("/counter")
    n, rev = (kv.value["n"], kv.mod_revision) if kv else (0, 0)
    try:
        result = store.txn([Compare("/counter", rev)], [Put("/counter", {"n": n + 1})])
    except errors.StoreConflict:
        losses += 1
        continue
    if result.succeeded:
        wins += 1
    else:
        losses += 1
print(wins, losses)
"""


def race(location: str, directory: Path, *, processes: int, wins_each: int) -> int:
    """Run ``processes`` workers against the store at ``location``, released at once; check
    that no increment was lost and return the store revision the race started from."""
    go = directory / "go"
    start = _revision(location)
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, location, str(go), str(wins_each)],
                         cwd=REPO, stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    deadline = time.monotonic() + 60
    while len(list(directory.glob("ready-*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # all of them at once, so that they really race
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * processes

    wins = sum(int(out.split()[0]) for out in outputs)
    store = open_store(location)
    try:
        assert wins == processes * wins_each
        assert store.get("/counter").value == {"n": wins}  # type: ignore[union-attr]
        # Every successful txn saw the value the one before it wrote: 1, 2, 3, ... no gap.
        counted = [e.kv.value["n"] for e in store.watch("/counter", start)]
        assert counted == list(range(1, wins + 1))
        assert store.revision() == start + wins
    finally:
        store.close()
    return start


def _revision(location: str) -> int:
    store: base.Store = open_store(location)
    try:
        return store.revision()
    finally:
        store.close()
