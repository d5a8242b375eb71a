"""How long `gitkube apply` takes to start N pods, against raw podman (or ctr) doing the same.

For each N (default 10 and 30) in one run, on this machine, in a throwaway podman storage
(``--runtime containerd``: a containerd of the bench's own, started and stopped by it):
  raw      podman: `podman pod create` + `podman run -d` per pod, one after the other, as a
           script would; containerd: `ctr run -d` per pod (a container in a network namespace
           of its own, what ctr gives);
  gitkube  `gitkube apply --yes` of a Deployment with N replicas on a one-node local cluster
           (the whole command: Python start-up, reading Git, planning, the agent, status commit).
Both start the same busybox httpd container with the same labels and limits.

The last line is `apply_vs_podman_ratio=<x> pods=<n>` for the largest N on podman,
`apply_vs_raw_ratio=<x> runtime=containerd pods=<n>` on containerd (goal: ≤ 1.3).
Run: .venv/bin/python bench/apply.py [--pods 10 30] [--runtime containerd]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gitkube.agent import daemons, supervisor
from gitkube.agent.runtimes import podman_hostconf
from gitkube.api.inventory import RuntimeSettings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures import containerd as containerd_fixtures  # noqa: E402
from tests.fixtures import images  # noqa: E402

IMAGE = "localhost/gitkube-bench/busybox:v1"
GITKUBE = str(Path(sys.executable).with_name("gitkube"))

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bench
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: bench}}
  template:
    metadata:
      labels: {{app: bench}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: httpd
          image: {image}
          command: ["/bin/httpd", "-f", "-p", "8080"]
          resources:
            limits: {{cpu: 50m, memory: 32Mi}}
"""


def podman(storage: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Raw podman, with the same host settings the gitkube agent works out for this machine."""
    argv = ["podman", "--root", str(storage / "root"), "--runroot", str(storage / "run"), *args]
    env = dict(os.environ)
    conf = podman_hostconf.ensure_conf(storage / "raw-state", env)
    if conf:
        env["CONTAINERS_CONF"] = conf
    return subprocess.run(argv, check=True, capture_output=True, text=True, env=env)


def build_image(storage: Path) -> None:
    tree = storage / "image"
    (tree / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", tree / "bin" / "busybox")
    for applet in ("sh", "httpd", "sleep"):
        (tree / "bin" / applet).symlink_to("busybox")
    tar = subprocess.run(["tar", "-C", str(tree), "-c", "."], check=True, capture_output=True)
    argv = ["podman", "--root", str(storage / "root"), "--runroot", str(storage / "run"),
            "import", "-q", "-", IMAGE]
    subprocess.run(argv, input=tar.stdout, check=True, capture_output=True)


def raw_podman(storage: Path, count: int) -> float:
    began = time.perf_counter()
    for i in range(count):
        pod = f"raw-{i}"
        podman(storage, "pod", "create", "--name", pod, "--label", "io.gitkube.cluster=bench-raw")
        podman(storage, "run", "-d", "--pod", pod, "--name", f"{pod}-httpd",
               "--label", "io.gitkube.cluster=bench-raw", "--restart", "always",
               "--cpus", "0.05", "--memory", "32m", IMAGE, "/bin/httpd", "-f", "-p", "8080")
    elapsed = time.perf_counter() - began
    podman(storage, "pod", "rm", "-f", "-t", "0", "-a")
    return elapsed


def raw_ctr(daemon: containerd_fixtures.Containerd, count: int) -> float:
    began = time.perf_counter()
    for i in range(count):
        daemon.ctr("run", "-d", "--label", "io.gitkube.cluster=bench-raw", "--cpus", "0.05",
                   "--memory-limit", str(32 * 2**20), "--cgroup",
                   f"/{daemon.cgroup_parent}/raw-{i}", IMAGE, f"raw-{i}", "/bin/httpd", "-f",
                   "-p", "8080")
    elapsed = time.perf_counter() - began
    clear_ctr(daemon)
    return elapsed


def clear_ctr(daemon: containerd_fixtures.Containerd) -> None:
    for task in daemon.ctr("tasks", "ls", "-q").stdout.split():
        daemon.ctr("tasks", "kill", "-s", "SIGKILL", task, check=False)
        daemon.ctr("tasks", "delete", "-f", task, check=False)
    containers = daemon.ctr("containers", "ls", "-q").stdout.split()
    if containers:
        daemon.ctr("containers", "delete", *containers)


def gitkube_apply(storage: Path, count: int,
                  daemon: containerd_fixtures.Containerd | None = None) -> float:
    repo = storage / f"cluster-{count}"
    subprocess.run([GITKUBE, "init", str(repo)], check=True, capture_output=True)
    (repo / "bench.yaml").write_text(DEPLOYMENT.format(replicas=count, image=IMAGE))
    inventory = (repo / "inventory.yaml").read_text()
    if daemon is None:
        inventory += f"      root: {storage / 'root'}\n      runroot: {storage / 'run'}\n"
    else:
        # The agent's state beside the daemon's (its pods' namespaces are mounted there).
        inventory = inventory.replace("    runtime:\n", f"    stateDir: {storage}/state-{count}\n"
                                      "    runtime:\n")
        inventory = inventory.replace("kind: podman", "kind: containerd")
        settings = RuntimeSettings.model_validate(daemon.runtime())
        inventory += "".join(f"      {key}: {value}\n" for key, value in settings.model_dump(
            by_alias=True, exclude_none=True).items() if key != "kind")
    # Raw podman sets up no cluster network either, and the bench leaves nothing behind.
    inventory += "settings:\n  podNetwork: none\n"
    (repo / "inventory.yaml").write_text(inventory)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench", "-c", "user.email=b@x",
                    "commit", "-qm", f"bench {count}"], check=True)
    began = time.perf_counter()
    done = subprocess.run([GITKUBE, "--repo", str(repo), "apply", "--yes"],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"gitkube apply failed:\n{done.stdout}\n{done.stderr}")
    if daemon is not None:
        workload = [line for line in daemon.ctr("tasks", "ls").stdout.splitlines()
                    if line.endswith("RUNNING")]
    else:
        running = podman(storage, "ps", "--filter", "label=io.gitkube.cluster",
                         "--filter", "status=running", "--format", "{{.Names}}").stdout.split()
        workload = [n for n in running if not n.endswith("-infra")]
    if len(workload) != count:
        sys.exit(f"expected {count} running containers after apply, found {len(workload)}:\n"
                 f"{done.stdout}")
    if daemon is not None:
        (repo / "bench.yaml").unlink()
        subprocess.run(["git", "-C", str(repo), "commit", "-qam", "gone"], check=True)
        subprocess.run([GITKUBE, "--repo", str(repo), "apply", "--yes"], capture_output=True)
    else:
        podman(storage, "pod", "rm", "-f", "-t", "0", "-a")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--runtime", choices=["podman", "containerd"], default="podman")
    args = parser.parse_args()
    storage = Path(tempfile.mkdtemp(prefix="gitkube-bench-"))
    daemon = None
    try:
        if args.runtime == "containerd":
            daemon = containerd_fixtures.start("bench")
            images.oci_archive(storage / "image.tar", IMAGE)
            daemon.ctr("images", "import", str(storage / "image.tar"))
        else:
            build_image(storage)
        ratio = 0.0
        for count in args.pods:
            raw = raw_podman(storage, count) if daemon is None else raw_ctr(daemon, count)
            ours = gitkube_apply(storage, count, daemon)
            ratio = ours / raw
            print(f"pods={count} raw_{args.runtime}_s={raw:.2f} gitkube_apply_s={ours:.2f} "
                  f"ratio={ratio:.2f}", flush=True)
        if daemon is None:
            print(f"apply_vs_podman_ratio={ratio:.2f} pods={args.pods[-1]}")
        else:
            print(f"apply_vs_raw_ratio={ratio:.2f} runtime=containerd pods={args.pods[-1]}")
    finally:
        if daemon is not None:
            for state in storage.glob("state-*"):
                daemons.stop(state, supervisor.NAME)
            daemon.stop()
            containerd_fixtures.unmount_under(storage)
        subprocess.run(["podman", "--root", str(storage / "root"), "--runroot",
                        str(storage / "run"), "pod", "rm", "-f", "-t", "0", "-a"],
                       capture_output=True)
        subprocess.run(["podman", "--root", str(storage / "root"), "--runroot",
                        str(storage / "run"), "rmi", "-a", "-f"], capture_output=True)
        shutil.rmtree(storage, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
    main()
