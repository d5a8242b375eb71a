"""What `gitkube plan` costs for a Deployment far larger than its cluster (issue 17.2).

A one-node cluster (a simulated node of 4 CPUs and 110 pods, so no podman is needed) and a
Deployment of N replicas (default 100,000) asking 50m CPU each: 80 fit. The whole command
is timed in a child process (Python start-up, Git, planning, rendering), with the child's
peak resident memory. Before the slow-start batches the plan took more than 120 s and
1.4 GB; it should cost what the node can run, not N.

The last line is `plan_seconds=<s> peak_mib=<n> replicas=<n>`.
Run: .venv/bin/python bench/huge_replicas.py [--replicas 100000]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GITKUBE = str(Path(sys.executable).with_name("gitkube"))
IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]

INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: bench-huge
nodes:
  - name: node-1
    transport: sim
    capacity: {cpu: "4", memory: 8Gi, pods: "110"}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: httpd
          image: busybox:1.36
          resources:
            requests: {{cpu: 50m, memory: 32Mi}}
"""


def make_repo(base: Path, replicas: int) -> Path:
    repo = base / "cluster"
    subprocess.run([GITKUBE, "init", str(repo)], check=True, capture_output=True)
    (repo / "inventory.yaml").write_text(INVENTORY)
    (repo / "web.yaml").write_text(DEPLOYMENT.format(replicas=replicas))
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), *IDENTITY, "commit", "-qm", f"{replicas} replicas"],
                   check=True)
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gk-bench-huge-") as base:
        repo = make_repo(Path(base), args.replicas)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        began = time.perf_counter()
        done = subprocess.run([GITKUBE, "--repo", str(repo), "plan"], capture_output=True,
                              text=True, env=env)
        seconds = time.perf_counter() - began
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    if done.returncode != 0:
        sys.exit(f"gitkube plan failed:\n{done.stdout}\n{done.stderr}")
    print(done.stdout.rstrip().splitlines()[-1])
    print(f"{args.replicas} replicas on one node of 110 pods: `gitkube plan` took "
          f"{seconds:.2f} s, peak {peak_mib} MiB (the child processes' largest)")
    print(f"plan_seconds={seconds:.2f} peak_mib={peak_mib} replicas={args.replicas}")


if __name__ == "__main__":
    main()
