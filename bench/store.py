"""Store benchmark (not a test): SQLite beside etcd, a whole pass on each, and a failover.

    .venv/bin/python bench/store.py [--keys 10000] [--pass-pods 10000] [--failovers 3]

1. One transaction of ``--keys`` puts and a range reading them back, on the memory, SQLite and
   etcd stores (etcd: Debian's etcd-server, one member on loopback, started here).
2. A first pass at ``--pass-pods`` pods (a Deployment on 200 simulated nodes) through the whole
   engine — Git, planners, the store, the sim nodes, the status ledger — once on SQLite and
   once on etcd; the goal is etcd within 2x of SQLite.
3. Failover: three members, two campaigners (separate processes, client-go's timing: lease
   15 s, renew deadline 10 s, retry 2 s); the leader is killed with SIGKILL at a random moment
   and the time until the standby leads is measured, ``--failovers`` times (goal <= 17 s).

The last line is ``etcd_txn_puts_per_second=<x> sqlite_txn_puts_per_second=<y>
failover_s=<z>`` (z: the slowest failover). Figures taken while other work runs are noisy.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gitkube.reconcile import face
from gitkube.store import base, memory, sqlite
from tests.e2e.harness import ClusterRepo, deployment
from tests.fixtures import etcd as etcd_fixtures

INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: bench
nodes:
  - name: sim-{{i:03d}}
    count: 200
    transport: sim
    stateDir: {state}/sim-{{i:03d}}
    capacity: {{cpu: "64", memory: 256Gi, pods: "110"}}
"""

CAMPAIGNER = """
import sys, threading
from gitkube.reconcile import leader
from gitkube.store import open_store
elector = leader.Elector(open_store(sys.argv[1]), identity=sys.argv[2],
                         log=lambda line: print(line, flush=True))
elector.run(threading.Event())
"""


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


def first_pass(directory: Path, pods: int, store_url: str | None) -> float:
    """Seconds of the first pass that starts ``pods`` pods (the repository is made untimed)."""
    directory.mkdir(parents=True)
    repo = ClusterRepo(directory / "cluster", "bench", [])
    (repo.path / "inventory.yaml").write_text(INVENTORY.format(state=directory / "nodes"))
    repo.write("web.yaml", deployment("web", pods, "busybox", cpu="10m"))
    repo.commit("web")
    if store_url:
        repo.git("config", "gitkube.store", store_url)
    with face.open_cluster(repo.path) as cluster:
        started = time.perf_counter()
        result = cluster.apply()
        seconds = time.perf_counter() - started
        running = len(cluster.objects("pods"))
    assert result.ok and running == pods, (result.errors, running)
    return seconds


def failovers(directory: Path, count: int) -> list[float]:
    """Seconds from SIGKILL of the leader to the standby leading, ``count`` times."""
    cluster = etcd_fixtures.Cluster(directory, ["127.0.0.11", "127.0.0.12", "127.0.0.13"],
                                    timing=(100, 1000))
    cluster.start()
    try:
        took = []
        for round_ in range(count):
            took.append(_failover(cluster, [directory / f"c{round_}-{n}.log" for n in range(2)]))
            cluster.wipe()
        return took
    finally:
        cluster.stop()


def _failover(cluster: etcd_fixtures.Cluster, logs: list[Path]) -> float:
    procs = [subprocess.Popen([sys.executable, "-c", CAMPAIGNER, cluster.url, f"c{n}"],
                              stdout=log.open("w"), stderr=subprocess.STDOUT)
             for n, log in enumerate(logs)]
    try:
        first = _wait_for(lambda: _leading(logs))[0]
        time.sleep(random.uniform(0, 2))  # a random moment of the leader's life
        os.kill(procs[first].pid, signal.SIGKILL)
        killed = time.monotonic()
        _wait_for(lambda: _leading([logs[1 - first]]))
        return time.monotonic() - killed
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def _leading(logs: list[Path]) -> list[int]:
    return [n for n, log in enumerate(logs) if "leads the cluster" in log.read_text()]


def _wait_for(check, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise RuntimeError("the campaigners never got there")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--pass-pods", type=int, default=10_000)
    parser.add_argument("--failovers", type=int, default=3)
    args = parser.parse_args()
    keys = args.keys
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        figures = {"memory": measure(memory.MemoryStore(), keys)}
        store = sqlite.SQLiteStore(root / "bench.db")
        figures["sqlite"] = measure(store, keys)
        store.close()
        server = etcd_fixtures.Cluster(root / "etcd", ["127.0.0.1"], timing=(100, 1000))
        server.start()
        try:
            store = server.store()
            figures["etcd"] = measure(store, keys)
            store.close()
            for name, (puts, range_ms) in figures.items():
                print(f"{name}: {puts:,.0f} puts/s in one txn, range of {keys:,} keys "
                      f"{range_ms:.1f} ms")
            if args.pass_pods:
                server.wipe()
                on_sqlite = first_pass(root / "pass-sqlite", args.pass_pods, None)
                on_etcd = first_pass(root / "pass-etcd", args.pass_pods, server.url)
                print(f"first pass at {args.pass_pods:,} pods: sqlite {on_sqlite:.1f} s, "
                      f"etcd {on_etcd:.1f} s (etcd/sqlite {on_etcd / on_sqlite:.2f}, goal <= 2)")
        finally:
            server.stop()
        took = failovers(root / "etcd3", args.failovers) if args.failovers else [0.0]
        print("failovers: " + ", ".join(f"{t:.1f} s" for t in took) + " (goal <= 17 s)")
    print(f"etcd_txn_puts_per_second={figures['etcd'][0]:.0f} "
          f"sqlite_txn_puts_per_second={figures['sqlite'][0]:.0f} failover_s={max(took):.1f}")


if __name__ == "__main__":
    main()
