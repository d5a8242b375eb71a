"""Pass benchmark (not a test): the CPU seconds of a whole pass that has nothing to change.

    .venv/bin/python bench/steady_pass.py [--pods 1000] [--nodes 20] [--passes 4]

A Deployment of ``--pods`` replicas on ``--nodes`` simulated nodes (in this process, no
podman): the first pass starts every pod, the second records them ready, and the rest
find nothing to do — the pass a daemon runs every resync. Each is timed in CPU seconds of
this process (the simulated nodes answer on its threads), which a busy machine disturbs
less than wall time. The pass reads the store once and plans once (reconcile/passes.py).

The last line is ``steady_pass_cpu_s=<x> pods=<n>`` (x: the fastest steady pass).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gitkube.reconcile import face

INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: steady
nodes:
  - name: sim-{{i}}
    count: {nodes}
    transport: sim
    stateDir: {state}/n{{i}}
    capacity: {{cpu: "64", memory: 256Gi, pods: "500"}}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {pods}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: main, image: "web:1", resources: {{requests: {{cpu: 10m}}}}}}]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--passes", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=f"gkbench{os.getpid()}") as scratch:
        repo = Path(scratch) / "cluster"
        face.init_cluster(repo)
        (repo / "inventory.yaml").write_text(INVENTORY.format(nodes=args.nodes, state=scratch))
        (repo / "web.yaml").write_text(DEPLOYMENT.format(pods=args.pods))
        env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
        for git in (["add", "-A"], ["commit", "-qm", "web"]):
            subprocess.run(["git", "-C", str(repo), *git], env=env, check=True)
        seconds = []
        for number in range(max(args.passes, 3)):
            with face.open_cluster(repo) as cluster:
                began = time.process_time()
                result = cluster.apply()
                seconds.append(time.process_time() - began)
            if not result.ok:
                raise SystemExit(f"pass {number + 1} failed: {result.errors}")
            print(f"pass {number + 1}: {seconds[-1]:.2f} CPU s ({result.summary})")
    print(f"steady_pass_cpu_s={min(seconds[2:]):.2f} pods={args.pods}")


if __name__ == "__main__":
    main()
