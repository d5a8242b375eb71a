"""From `git push` to pods Running, with `gitkube serve` running: the push-to-deploy latency.

One local node (this machine, podman in a throwaway storage root), a bare cluster repository
made by `gitkube init --bare`, `gitkube serve` in the background and a clone that pushes.
Each run commits `replicas: N` (default 3) for a Deployment at 0, starts the clock, runs
`git push` (pre-receive validation, post-receive wake-up included) and stops the clock when
the store shows N pods Running — what `gitkube get pods` would show. Then it scales back to 0
(untimed) and waits for the daemon to finish that pass, so every run starts with the daemon idle,
as a push usually finds it.

The last line is `push_to_running_p50_s=<x> p90_s=<y> runs=<n>` (goal: p50 ≤ 1.5 s for 3 pods;
Flux polls every minute by default, Argo CD every three).
Run: .venv/bin/python bench/push_latency.py [--runs 10] [--pods 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gitkube.reconcile import face  # noqa: E402
from tests.fixtures import podman as podman_fixtures  # noqa: E402
from tests.gitops import harness  # noqa: E402


def running_pods(cluster: face.Cluster) -> int:
    return sum(1 for pod in cluster.objects("pods")
               if pod.to_dict().get("status", {}).get("phase") == "Running"
               and not pod.metadata.deletion_timestamp)


def wait(cluster: face.Cluster, want: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while running_pods(cluster) != want or len(cluster.objects("pods")) != want:
        if time.monotonic() > deadline:
            raise SystemExit(f"the cluster did not reach {want} running pods in {timeout:g}s")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pods", type=int, default=3)
    parser.add_argument("--log", action="store_true", help="print the daemon's log at the end")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitkube-push-bench-") as scratch:
        base = Path(scratch)
        conf = base / "containers.conf"
        conf.write_text(podman_fixtures.CONTAINERS_CONF)
        import os

        os.environ["CONTAINERS_CONF"] = str(conf)
        node = harness.local_node(base / "node", conf)
        image = podman_fixtures.build_busybox_image(root=node.runtime.root,
                                                    runroot=node.runtime.runroot)
        try:
            repo = harness.PushRepo(base / "repo", "bench-push", [node])
            repo.settle()
            repo.write("web.yaml", harness.deployment("web", 0, image))
            repo.commit("Add web at 0")
            repo.push()
            repo.settle()
            times: list[float] = []
            with repo.serving("--interval", "600"), face.open_cluster(repo.server) as cluster:
                for run in range(1, args.runs + 1):
                    repo.write("web.yaml", harness.deployment("web", args.pods, image))
                    repo.commit(f"Scale web to {args.pods} (run {run})")
                    began = time.monotonic()
                    pushed = repo.push()
                    if pushed.returncode != 0:
                        raise SystemExit(f"git push failed:\n{pushed.stderr}")
                    pushed_at = time.monotonic() - began
                    try:
                        wait(cluster, args.pods)
                    except SystemExit:
                        print(repo.serve_log(), file=sys.stderr)
                        raise
                    took = time.monotonic() - began
                    times.append(took)
                    print(f"run {run}: git push {pushed_at:.2f}s, {args.pods} pods Running after "
                          f"{took:.2f}s", flush=True)
                    repo.write("web.yaml", harness.deployment("web", 0, image))
                    repo.commit(f"Scale web to 0 (run {run})")
                    repo.push()
                    wait(cluster, 0)
                    repo.settle()  # the daemon finishes that pass: each run starts at rest
            repo.settle()
            if args.log:
                print(repo.serve_log(), file=sys.stderr)
        finally:
            harness.clean_node(node)
    times.sort()
    p50 = statistics.median(times)
    p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
    print(f"push_to_running_p50_s={p50:.2f} p90_s={p90:.2f} runs={len(times)}")


if __name__ == "__main__":
    main()
