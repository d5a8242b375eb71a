"""Store benchmark (not a test): how fast a batch write and a prefix range are.

A reconcile pass writes a whole revision's objects in one transaction and reads
a kind's keys with one range, so these two numbers bound a pass's store time.

    .venv/bin/python bench/store.py [--keys 10000]

The last line is machine-readable and measures the SQLite store (the default):
``store_txn_puts_per_second=<n> range_10k_ms=<n>``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from gitkube.store import base, memory, sqlite


def measure(store: base.Store, keys: int) -> tuple[float, float]:
    """Puts per second of one ``keys``-put txn, and milliseconds of ranging them back."""
    ops = [
        base.Put(
            f"/registry/pods/default/web-{n:06}",
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"web-{n:06}"}},
        )
        for n in range(keys)
    ]
    store.txn([], [base.Put("/registry/nodes/node-1", {})])  # a neighbour outside the prefix
    started = time.perf_counter()
    store.txn([], ops)
    txn_seconds = time.perf_counter() - started
    started = time.perf_counter()
    found, _ = store.range("/registry/pods/")
    range_ms = (time.perf_counter() - started) * 1000
    assert len(found) == keys
    return keys / txn_seconds, range_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    keys = parser.parse_args().keys
    mem_puts, mem_range = measure(memory.MemoryStore(), keys)
    print(f"memory: {mem_puts:,.0f} puts/s in one txn, range of {keys:,} keys {mem_range:.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        store = sqlite.SQLiteStore(Path(tmp) / "bench.db")
        puts, range_ms = measure(store, keys)
        store.close()
    print(f"sqlite: {puts:,.0f} puts/s in one txn, range of {keys:,} keys {range_ms:.1f} ms")
    print(f"store_txn_puts_per_second={puts:.0f} range_10k_ms={range_ms:.1f}")


if __name__ == "__main__":
    main()
