"""The containerd runtime: gitkube pods on a node that runs containerd instead of podman.

Everything goes through the node's containerd (the socket the inventory names, default
``/run/containerd/containerd.sock``) in containerd's namespace ``gitkube``, never another:
its API (``containerd_api``) for containers, tasks, snapshots and the image store, ``ctr``
for what streams (``images import``/``pull``, ``tasks exec``).

- A pod's sandbox is a record in containerd (a container without a task, the pod's labels
  and ``SANDBOX_LABEL``, its address in ``IP_LABEL``) and the files of
  ``containerd_sandbox``: network and IPC namespaces shared by its containers, its
  ``/dev/shm``, Memory emptyDirs and ``/etc`` files. With the node's cluster network in
  force (``network.json``) the CNI plugins (``cni``) put it on the node's ``podCIDR`` and
  publish its hostPorts; without one it has loopback only (containerd has no default
  network as podman has).
- A container is a containerd container named ``identity.container_name`` and a digest of
  the pod's uid and hash (so a replaced pod's containers are new ones, and a repeated
  create finds its own), with gitkube's labels, a snapshot of its image and a whole OCI
  spec (``containerd_spec``); its task logs to ``logs/<id>.log`` in the state directory,
  which ``logs`` reads. containerd restarts nothing: the supervisor does, with
  ``start_container`` (a new task of the same container: same root file system, mounts
  and log), counted in ``RESTARTS_LABEL``; ``STARTED_LABEL`` keeps when the task started.
- Exit codes and times are containerd's (a stopped task is kept until the container
  starts again or goes); OOM kills, stats and limits are read from the task's cgroup.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import files, identity, initsteps, podnetwork, protocol, reports
from . import (
    base,
    cni,
    containerd_api,
    containerd_host,
    containerd_images,
    containerd_report,
    containerd_sandbox,
    containerd_spec,
    host,
)
from . import containerd_wire as wire

NAMESPACE = "gitkube"
DEFAULT_SOCKET = "/run/containerd/containerd.sock"
SCHEME = containerd_report.SCHEME
SANDBOX_LABEL = containerd_report.SANDBOX_LABEL
IP_LABEL = containerd_report.IP_LABEL
STARTED_LABEL = containerd_report.STARTED_LABEL
RESTARTS_LABEL = containerd_report.RESTARTS_LABEL
SIGTERM, SIGKILL = 15, 9


class ContainerdRuntime(base.Runtime):
    kind = "containerd"

    def __init__(self, config: protocol.RuntimeConfig, state_dir: Path, *,
                 node: str = "this node") -> None:
        super().__init__()
        self.state_dir = state_dir
        self.node = node
        self.socket = str(config.get("socket") or DEFAULT_SOCKET)
        self.snapshotter = str(config.get("snapshotter") or "overlayfs")
        self.runc_root = str(config.get("runc_root") or "")
        self.cgroup_parent = str(config.get("cgroup_parent") or NAMESPACE)
        self.cni_bin = str(config.get("cni_bin_dir") or "")
        #: One connection per thread (converge creates pods on several at once).
        self._local = threading.local()

    @property
    def conn(self) -> wire.Connection:
        made: wire.Connection | None = getattr(self._local, "conn", None)
        if made is None:
            made = self._local.conn = wire.Connection(self.socket, NAMESPACE)
        return made

    # -- talking to containerd ------------------------------------------------------------

    def _api(self, what: str) -> _Translated:
        return _Translated(self.node, what)

    def _ctr(self, args: Sequence[str], *, timeout: float = 300) -> str:
        argv = ["ctr", "--address", self.socket, "--namespace", NAMESPACE, *args]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except FileNotFoundError as exc:
            raise base.RuntimeFailure(f"ctr is not installed on {self.node}; install "
                                      "containerd there.", permanent=True) from exc
        except subprocess.TimeoutExpired as exc:
            raise base.RuntimeFailure(f"'ctr {' '.join(args[:2])}' on {self.node} did not "
                                      f"finish within {timeout:.0f} s.") from exc
        if done.returncode:
            said = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            raise base.RuntimeFailure(f"'ctr {' '.join(args[:2])}' failed on {self.node}: "
                                      f"{said.removeprefix('ctr: ')}")
        return done.stdout

    # -- observing ------------------------------------------------------------------------

    def facts(self) -> protocol.NodeFacts:
        with self._api("list its images"):
            images = containerd_api.list_images(self.conn)
            version = containerd_api.version(self.conn)
        return protocol.NodeFacts(
            hostname=platform.node(), cpus=os.cpu_count() or 1, memoryBytes=host.memory_bytes(),
            runtime=self.kind, runtimeVersion=version, kernel=platform.release(),
            os=host.os_name(), images=sorted(images), imageSizes={})

    def _listed(self, cluster: str, *filters: str) -> list[containerd_api.Container]:
        wanted = f'labels."{identity.LABEL_CLUSTER}"=={cluster}'
        with self._api("list its containers"):
            return containerd_api.list_containers(
                self.conn, ",".join([wanted, *filters]))

    def _seen(self, cluster: str, *filters: str) -> list[reports.Seen]:
        found = self._listed(cluster, *filters)
        with self._api("list its tasks"):
            tasks = containerd_api.list_tasks(self.conn) if found else {}
        return [containerd_report.seen(c, tasks.get(c.id)) for c in found]

    def list_pods(self, cluster: str, *, details: bool = True) -> list[protocol.PodReport]:
        found = self._listed(cluster)
        with self._api("list its tasks"):
            tasks = containerd_api.list_tasks(self.conn) if found else {}
        pods = reports.pods_from(containerd_report.seen(c, tasks.get(c.id)) for c in found)
        by_uid = {c.labels.get(identity.LABEL_POD_UID): c for c in found
                  if c.labels.get(SANDBOX_LABEL)}
        restarts = {SCHEME + c.id: int(c.labels.get(RESTARTS_LABEL, "0") or 0) for c in found}
        for pod in pods:
            sandbox = by_uid.get(pod["uid"])
            if sandbox is not None and sandbox.labels.get(IP_LABEL):
                pod["podIP"] = sandbox.labels[IP_LABEL]
            for container in [*pod.get("initContainers", []), *pod["containers"]]:
                cid = container.get("containerID", "")
                container["restartCount"] = restarts.get(cid, 0)
                if details and "exitCode" in container and self.was_oom_killed(cid):
                    container["reason"] = "OOMKilled"
        return pods

    def logs(self, cluster: str, uid: str, container: str, tail: int) -> str:
        found = self._listed(cluster, f'labels."{identity.LABEL_POD_UID}"=={uid}',
                             f'labels."{identity.LABEL_CONTAINER}"=={container}')
        if not found:
            raise base.RuntimeFailure(
                f"Pod {uid} has no container {container} on {self.node} in cluster {cluster}.",
                permanent=True)
        try:
            text = self._log_path(found[0].id).read_text(errors="replace")
        except OSError:
            return ""
        if tail < 0:
            return text
        lines = text.splitlines(keepends=True)
        return "".join(lines[-tail:]) if tail else ""

    def stats(self, cluster: str) -> dict[str, tuple[int, int]]:
        found = self._listed(cluster)
        with self._api("list its tasks"):
            tasks = containerd_api.list_tasks(self.conn)
        out: dict[str, tuple[int, int]] = {}
        for container in found:
            task = tasks.get(container.id)
            if task is not None and task.state == "running":
                started = float(container.labels.get(STARTED_LABEL, "0") or 0)
                out[SCHEME + container.id] = containerd_host.usage(
                    self._cgroup(container.id), time.time() - started)
        return out

    # -- changing ---------------------------------------------------------------------------

    def create_pod(self, cluster: str, pod: protocol.PodRun, *,
                   existing: protocol.PodReport | None = None) -> None:
        uid = pod.get("uid", "")
        where = containerd_sandbox.paths(self.state_dir, uid)
        sandbox = containerd_report.sandbox_id(cluster, pod)
        if existing is None or not existing.get("sandboxID"):
            ip = self._create_sandbox(cluster, pod, sandbox, where)
        else:
            ip = existing.get("podIP", "")
        containerd_sandbox.write_etc(where, pod, ip, self.state_dir)
        everyone = initsteps.all_containers(pod)
        binds = files.materialise(self.state_dir, pod)
        scratch = files.scratch_binds(self.state_dir, pod, everyone)
        shared = containerd_spec.Pod(
            hostname=pod.get("hostname") or pod.get("name", ""), netns=where.netns,
            ipcns=where.ipcns, sysctls=dict(pod.get("sysctls", {})),
            cgroup_parent=self.cgroup_parent, group=sandbox)
        for spec, labels in self.containers_to_create(cluster, pod, existing):
            name = spec.get("name", "")
            mounts = [(str(host), path, True) for host, path in binds.get(name, [])]
            mounts += scratch.get(name, [])
            mounts += containerd_sandbox.memory_binds(self.state_dir, pod, spec)
            mounts += containerd_sandbox.etc_binds(where)
            started = self._run_container(cluster, pod, spec, labels, shared, mounts)
            self.post_start(started, spec, identity.of(pod), identity.grace(pod))

    def _create_sandbox(self, cluster: str, pod: protocol.PodRun, sandbox: str,
                        where: containerd_sandbox.Paths) -> str:
        """The pod's namespaces, network and record; answers its IP ("" without a network)."""
        containerd_sandbox.make(where, pod, self.state_dir)
        run = podnetwork.in_force(self.state_dir)
        ip = ""
        chain: dict[str, Any] | None = None
        mappings = cni.port_mappings(pod)
        if run is not None:
            chain = self._conflist(cluster)
        elif mappings:
            raise base.RuntimeFailure(
                f"hostPort needs the cluster network on {self.node}: containerd has no default "
                "network as podman has.", permanent=True)
        if chain is not None:
            ip = cni.add(chain, sandbox, where.netns, cni.bin_dir(self.cni_bin),
                         mappings=mappings)
        labels = {**identity.pod_labels(cluster, pod), SANDBOX_LABEL: "true", IP_LABEL: ip}
        with self._api("record the pod"):
            try:
                containerd_api.create_container(self.conn, sandbox, labels=labels, image="",
                                                spec={"ociVersion": "1.0.2"})
            except wire.ApiError as exc:
                if exc.code != wire.ALREADY_EXISTS:
                    raise
                raise base.RuntimeFailure(
                    f"A containerd container named {sandbox} already exists on {self.node} but "
                    f"does not belong to this pod of cluster {cluster}; gitkube leaves it "
                    "alone: remove it by hand.", permanent=True) from exc
        return ip

    def _conflist(self, cluster: str) -> dict[str, Any]:
        path = self.state_dir / "containerd" / "cni" / f"{identity.network_name(cluster)}.json"
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise base.RuntimeFailure(f"{self.node} has no pod network yet ({path}); the next "
                                      "converge makes it.") from exc
        return loaded if isinstance(loaded, dict) else {}

    def _run_container(self, cluster: str, pod: protocol.PodRun,
                       container: protocol.ContainerRun, labels: identity.Labels,
                       shared: containerd_spec.Pod,
                       mounts: list[containerd_spec.Bind]) -> str:
        """Create and start one container of the pod; answers its ``containerID``."""
        cid = containerd_report.container_id(cluster, pod, container.get("name", ""))
        image_ref = protocol.normalize_image(container.get("image", ""))
        try:
            with self._api(f"create container {container.get('name')}"):
                resolved = containerd_images.resolve(self.conn, image_ref)
                rootfs = containerd_api.prepare_snapshot(self.conn, self.snapshotter, cid,
                                                         resolved.chain_id)
                user = containerd_images.user_of(resolved, pod, container, rootfs)
                env = dict(container.get("env", {}))
                if pod.get("enableServiceLinks", True):
                    env = {**podnetwork.service_env(podnetwork.in_force(self.state_dir),
                                                    pod.get("namespace", "default")), **env}
                document = containerd_spec.spec(container, shared, resolved.image, cid=cid,
                                                user=user, env=env, binds=mounts)
                labels = {**labels, containerd_report.IMAGE_ID_LABEL: resolved.image_id}
                containerd_api.create_container(
                    self.conn, cid, labels=labels,
                    image=image_ref, spec=document, snapshotter=self.snapshotter,
                    snapshot_key=cid, runc_root=self.runc_root)
                self._start_task(cid, rootfs, restarts=0)
        except base.RuntimeFailure as exc:
            self._remove_container(cid)  # a half-made one would block the retry
            exc.container = container.get("name", "")
            raise
        return SCHEME + cid

    def _start_task(self, cid: str, rootfs: list[containerd_api.Mount], restarts: int) -> None:
        log = self._log_path(cid)
        log.parent.mkdir(parents=True, exist_ok=True)
        containerd_api.create_task(self.conn, cid, rootfs, str(log))
        containerd_api.start_task(self.conn, cid)
        containerd_api.update_labels(self.conn, cid, {STARTED_LABEL: f"{time.time():.3f}",
                                                      RESTARTS_LABEL: str(restarts)})

    def remove_pod(self, cluster: str, uid: str, grace_seconds: int) -> None:
        found = self._seen(cluster, f'labels."{identity.LABEL_POD_UID}"=={uid}')
        running = [(e.id, e.labels) for e in found if e.state == "running" and not e.sandbox]
        if grace_seconds > 0 and running:
            grace_seconds = self.run_pre_stops(running, grace_seconds)
        self._stop_all([cid for cid, _ in running], grace_seconds)
        for entry in found:
            if not entry.sandbox:
                self._remove_container(entry.id.removeprefix(SCHEME))
        self.forget_pod(cluster, uid)

    def forget_pod(self, cluster: str, uid: str) -> None:
        """Detach and remove the pod's sandbox: its network, namespaces, tmpfs and record."""
        where = containerd_sandbox.paths(self.state_dir, uid)
        sandboxes = self._listed(cluster, f'labels."{identity.LABEL_POD_UID}"=={uid}',
                                 f'labels."{SANDBOX_LABEL}"==true')
        if containerd_sandbox.exists(where):
            plugins = cni.bin_dir(self.cni_bin)
            for sandbox in sandboxes:
                if sandbox.labels.get(IP_LABEL):
                    cni.delete(self._conflist(cluster), sandbox.id, where.netns, plugins)
        containerd_sandbox.remove(where, self.state_dir, uid)
        with self._api("remove the pod's record"):
            for sandbox in sandboxes:
                containerd_api.delete_container(self.conn, sandbox.id)

    def _remove_container(self, cid: str) -> None:
        with self._api(f"remove container {cid}"):
            containerd_api.kill_task(self.conn, cid, SIGKILL)
            self._wait_stopped([cid], 10)
            containerd_api.delete_task(self.conn, cid)
            containerd_api.delete_container(self.conn, cid)
            containerd_api.remove_snapshot(self.conn, self.snapshotter, cid)
        self._log_path(cid).unlink(missing_ok=True)

    def pod_network(self, cluster: str, subnet: str, gateway: str) -> list[str]:
        name = identity.network_name(cluster)
        chain = cni.conflist(name, subnet, gateway,
                             str(self.state_dir / "containerd" / "cni" / "ipam"))
        path = self.state_dir / "containerd" / "cni" / f"{name}.json"
        try:
            before = json.loads(path.read_text())
        except (OSError, ValueError):
            before = None
        if before is not None and before != chain:
            ranges = before["plugins"][0]["ipam"]["ranges"][0][0]["subnet"]
            if ranges != subnet:
                return [f"{self.node}'s pod network {name} is on {ranges}, not on its podCIDR "
                        f"{subnet}; remove the node's pods and {path} to move it."]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(chain, indent=1))
        return containerd_host.ensure_bridge(cni.bridge_name(name), gateway, subnet,
                                                self.node)

    # -- one container ------------------------------------------------------------------------

    def start_container(self, container_id: str) -> None:
        cid = container_id.removeprefix(SCHEME)
        with self._api(f"start container {cid}"):
            found = containerd_api.list_containers(self.conn, f"id=={cid}")
            if not found:
                raise base.RuntimeFailure(f"container {cid} is gone from {self.node}")
            containerd_api.delete_task(self.conn, cid)
            rootfs = containerd_api.snapshot_mounts(self.conn, self.snapshotter, cid)
            restarts = int(found[0].labels.get(RESTARTS_LABEL, "0") or 0) + 1
            self._start_task(cid, rootfs, restarts)

    def stop_container(self, container_id: str, grace_seconds: int) -> None:
        self._stop_all([container_id], grace_seconds)

    def _stop_all(self, container_ids: list[str], grace_seconds: int) -> None:
        """SIGTERM, SIGKILL to those still running after ``grace_seconds``."""
        ids = [cid.removeprefix(SCHEME) for cid in container_ids]
        if not ids:
            return
        with self._api("stop containers"):
            if grace_seconds > 0:
                for cid in ids:
                    containerd_api.kill_task(self.conn, cid, SIGTERM)
                ids = self._wait_stopped(ids, grace_seconds)
            for cid in ids:
                containerd_api.kill_task(self.conn, cid, SIGKILL)
            self._wait_stopped(ids, 10)

    def _wait_stopped(self, ids: list[str], seconds: float) -> list[str]:
        """Those of ``ids`` still running after ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            tasks = containerd_api.list_tasks(self.conn)
            left = [cid for cid in ids if cid in tasks and tasks[cid].state == "running"]
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.05)

    def exec_in(self, container_id: str, command: list[str], timeout: float) -> base.Result:
        cid = container_id.removeprefix(SCHEME)
        exec_id = f"gk-{os.getpid()}-{time.monotonic_ns() % 10**9}"
        argv = ["ctr", "--address", self.socket, "--namespace", NAMESPACE, "tasks", "exec",
                "--exec-id", exec_id, cid, *command]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 1,
                                  check=False)
        except subprocess.TimeoutExpired:
            return False, f"command timed out after {timeout:g} s"
        except FileNotFoundError:
            return False, f"ctr is not installed on {self.node}"
        output = (done.stdout + done.stderr).strip()[-1024:]
        return done.returncode == 0, output or f"exit code {done.returncode}"

    def container_pids(self, container_ids: list[str]) -> dict[str, int]:
        with self._api("list its tasks"):
            tasks = containerd_api.list_tasks(self.conn)
        out: dict[str, int] = {}
        for container_id in container_ids:
            task = tasks.get(container_id.removeprefix(SCHEME))
            if task is not None and task.state == "running" and task.pid > 0:
                out[container_id] = task.pid
        return out

    def was_oom_killed(self, container_id: str) -> bool:
        return containerd_host.oom_killed(self._cgroup(container_id.removeprefix(SCHEME)))

    def _cgroup(self, cid: str) -> str:
        return f"/{self.cgroup_parent.strip('/')}/{cid}"

    def _log_path(self, cid: str) -> Path:
        return self.state_dir / "containerd" / "logs" / f"{cid}.log"

    def gone(self) -> bool:
        return not Path(self.socket).exists()

    # -- images -------------------------------------------------------------------------------

    def has_image(self, ref: str) -> bool:
        ref = protocol.normalize_image(ref)
        with self._api("look up an image"):
            return ref in containerd_api.list_images(self.conn, f'name=="{ref}"')

    def pull_image(self, ref: str) -> None:
        self._ctr(["images", "pull", "--", protocol.normalize_image(ref)])

    def load_image(self, path: str) -> list[str]:
        out = self._ctr(["images", "import", "--", path], timeout=600)
        return [line.split()[1] for line in out.splitlines()
                if line.startswith("unpacking ") and len(line.split()) > 1]


class _Translated:
    """Turns containerd's API errors into RuntimeFailures that name the node and the step."""

    def __init__(self, node: str, what: str) -> None:
        self.node, self.what = node, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, wire.ApiError):
            raise base.RuntimeFailure(
                f"containerd on {self.node} could not {self.what}: {exc}",
                permanent=exc.code in (wire.NOT_FOUND, wire.FAILED_PRECONDITION)) from exc
