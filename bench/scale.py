"""Scale benchmark (issue 13): what each command costs with N simulated nodes and M pods.

    .venv/bin/python bench/scale.py --nodes 1000 --pods 100000 [--keep DIR]

A cluster repository with ``--nodes`` simulated nodes (``transport: sim``: the agent and
its ``sim`` runtime answer in the gitkube process, state in each node's state dir) in
three zones, and Deployments of equal size (100 replicas each up to 10,000 pods, 1,000
above; ``--replicas`` sets it) spread over the zones by a topology spread constraint.
Each step is a separate ``gitkube`` process, as a user or cron runs it, timed whole
(Python start-up, Git, the store, the nodes, the ledger):

    first_apply       ``gitkube apply --yes``: every pod created, bound and started
    (settle)          ``gitkube reconcile`` until it changes nothing (untimed; said when > 0)
    noop_reconcile    ``gitkube reconcile`` with nothing to do (cron's every minute)
    noop_plan         ``gitkube plan`` with nothing to do
    one_change        one Deployment scaled by one, committed, then ``gitkube reconcile``
    get_pods          ``gitkube get pods -A -o json`` (written to a file)

Python's bytecode cache is used (``PYTHONDONTWRITEBYTECODE`` is removed from the
children's environment: users have it). ``peak_mib`` is the largest resident set of any
child. The last line is ``first_apply_s=<a> noop_reconcile_s=<b> noop_plan_s=<c>
one_change_reconcile_s=<d> get_pods_s=<e> peak_mib=<f> nodes=<n> pods=<m>``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GITKUBE = str(Path(sys.executable).with_name("gitkube"))
IDENTITY = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
ZONES = 3

INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: scale
settings: {{parallelism: 16}}
nodes:
  - name: sim-{{i:04d}}
    count: {nodes}
    transport: sim
    stateDir: {state}/sim-{{i:04d}}
    labels: {{topology.kubernetes.io/zone: "zone-{{i % {zones}}}"}}
    capacity: {{cpu: "64", memory: 256Gi, pods: "{pods_per_node}"}}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: DoNotSchedule
          labelSelector: {{matchLabels: {{app: {name}}}}}
      containers:
        - name: main
          image: "registry.local/{name}:1"
          resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}
"""


class Bench:
    def __init__(self, base: Path, nodes: int, pods: int, replicas: int) -> None:
        self.repo = base / "cluster"
        self.state = base / "nodes"
        self.nodes, self.pods, self.replicas = nodes, pods, replicas
        self.deployments = max(1, pods // replicas)
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.env.update(IDENTITY)
        self.cpu = 0.0

    def make_repo(self) -> None:
        subprocess.run([GITKUBE, "init", str(self.repo)], check=True, capture_output=True,
                       env=self.env)
        per_node = -(-self.pods // self.nodes) * 2 + 10
        (self.repo / "inventory.yaml").write_text(INVENTORY.format(
            nodes=self.nodes, state=self.state, zones=ZONES, pods_per_node=per_node))
        for number in range(self.deployments):
            self.write_deployment(number, self.replicas)
        self.commit(f"{self.deployments} Deployments of {self.replicas}")

    def write_deployment(self, number: int, replicas: int) -> None:
        name = f"web-{number:03d}"
        (self.repo / f"{name}.yaml").write_text(DEPLOYMENT.format(name=name, replicas=replicas))

    def commit(self, message: str) -> None:
        for args in (["add", "-A"], ["commit", "-qm", message]):
            subprocess.run(["git", "-C", str(self.repo), *args], check=True, env=self.env)

    def gitkube(self, *args: str, ok: tuple[int, ...] = (0,), out: Path | None = None,
                ) -> tuple[float, int, str]:
        """Run one gitkube command; (wall seconds, exit code, its last line)."""
        began = time.perf_counter()
        cpu = _children_cpu()
        with open(out or os.devnull, "wb") as sink:
            done = subprocess.run([GITKUBE, "--repo", str(self.repo), *args], stdout=sink,
                                  stderr=subprocess.PIPE, env=self.env)
        seconds = time.perf_counter() - began
        self.cpu = _children_cpu() - cpu
        if done.returncode not in ok:
            sys.exit(f"gitkube {' '.join(args)} failed ({done.returncode}):\n"
                     f"{done.stderr.decode(errors='replace')[-3000:]}")
        said = done.stderr.decode(errors="replace").strip().splitlines()
        return seconds, done.returncode, said[-1] if said else ""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} {five:.1f} {fifteen:.1f}"


def run(bench: Bench) -> dict[str, float]:
    figures: dict[str, float] = {}

    def step(name: str, *args: str, ok: tuple[int, ...] = (0,), out: Path | None = None,
             ) -> int:
        before = load()
        seconds, code, _ = bench.gitkube(*args, ok=ok, out=out)
        figures[name] = seconds
        print(f"{name:<24} {seconds:8.2f} s  {bench.cpu:8.2f} CPU s  ({before})", flush=True)
        return code

    step("first_apply_s", "apply", "--yes")
    settles = 0
    while bench.gitkube("reconcile", "--detailed-exitcode", ok=(0, 2))[1] == 2:
        settles += 1
        if settles == 5:
            sys.exit("the cluster did not settle after 5 reconciles")
    if settles:
        print(f"(settled after {settles} more reconcile(s))")
    step("noop_reconcile_s", "reconcile")
    step("noop_plan_s", "plan", ok=(0,))
    bench.write_deployment(0, bench.replicas + 1)
    bench.commit("web-000: one more replica")
    step("one_change_reconcile_s", "reconcile")
    listing = bench.repo.parent / "pods.json"
    step("get_pods_s", "get", "pods", "-A", "-o", "json", out=listing)
    print(f"(get pods -o json wrote {listing.stat().st_size / 2**20:.1f} MiB)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=0,
                        help="replicas per Deployment (default 100, 1000 past 10,000 pods)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the cluster in this (new) directory and leave it there")
    args = parser.parse_args()
    replicas = args.replicas or (100 if args.pods <= 10_000 else 1000)
    base = args.keep or Path(tempfile.mkdtemp(prefix=f"gkscale{os.getpid()}-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        bench = Bench(base, args.nodes, args.pods, replicas)
        bench.make_repo()
        print(f"{args.nodes} simulated nodes, {bench.deployments} Deployments of {replicas} "
              f"({bench.deployments * replicas} pods) in {base}")
        figures = run(bench)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(" ".join(f"{key}={value:.2f}" for key, value in figures.items())
          + f" peak_mib={peak} nodes={args.nodes} pods={bench.deployments * replicas}")


if __name__ == "__main__":
    main()
