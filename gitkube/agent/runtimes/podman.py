"""The podman runtime: gitkube pods as podman pods, driven through the podman CLI.

A gitkube pod is a podman pod named ``identity.pod_name`` (shared network, IPC and UTS
namespaces; host ports are published on the pod's infra container), and each container
is ``identity.container_name``, started with ``podman run -d --pod``. Every pod and
container carries ``identity``'s labels, and nothing without this cluster's label is
ever listed or removed. Output is parsed by the pure functions in ``podman_report.py``,
flags are spelt by ``podman_args.py``, and a host podman cannot run on as it is gets a
containers.conf from ``podman_hostconf.py``.

Init containers are containers like the others, labelled with their index; ``create_pod``
creates only what ``containers_to_create`` allows now. A disk emptyDir is a directory of
the agent's (``files.scratch_binds``); a ``medium: Memory`` one is a podman volume of type
tmpfs (``identity.volume_name``, labelled, ``sizeLimit`` as its size) that the pod's infra
container mounts too, at ``/.gitkube/volumes/<name>``: podman unmounts a tmpfs volume when
no running container uses it, and the infra container runs as long as the pod, so the data
outlives every container (an init container that wrote it and exited, a restart). It is
removed with the pod. tmpfs volumes need a root podman (a rootless one cannot mount them).

Security contexts become ``podman run`` flags and sysctls/DNS ``pod create`` flags;
runAsNonRoot is checked against the image's configured user first. Lifecycle hooks run
through the base class: postStart right after a container starts, preStop before
``pod rm`` (read back from the container's label) and before the supervisor's kills.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .. import files, identity, initsteps, network, podnetwork, protocol, reports, security
from . import base, host, podman_args, podman_hostconf, podman_report

_LOADED = re.compile(r"Loaded image(?:\(s\))?:\s*(.+)")
#: Where the infra container holds a pod's Memory emptyDirs (see the module docstring).
_HOLD_DIR = "/.gitkube/volumes"
#: podman's version by (argv prefix, containers.conf): it does not change under a process.
_VERSIONS: dict[tuple[tuple[str, ...], str], str] = {}
_SCHEME = podman_report.SCHEME

#: A bind mount for ``podman run``: (source, path in the container, read-only).
Bind = tuple[str, str, bool]


class PodmanRuntime(base.Runtime):
    kind = "podman"

    def __init__(
        self, config: protocol.RuntimeConfig, state_dir: Path, *, node: str = "this node"
    ) -> None:
        super().__init__()
        self.state_dir = state_dir
        self.node = node
        self.root = str(config.get("root") or "")
        self.base = ["podman"]
        for flag, key in (("--root", "root"), ("--runroot", "runroot"), ("--tmpdir", "tmpdir")):
            value = config.get(key)
            if value:
                self.base += [flag, str(value)]
        self.env = dict(os.environ)
        if config.get("containers_conf"):
            self.env["CONTAINERS_CONF"] = str(config["containers_conf"])
        else:
            detected = podman_hostconf.ensure_conf(state_dir, self.env)
            if detected:
                self.env["CONTAINERS_CONF"] = detected
        #: uid → podman pod name, from the last listing (removal goes by name).
        self._names: dict[str, str] = {}

    # -- running podman -------------------------------------------------------------------

    def _run(
        self,
        args: Sequence[str],
        *,
        timeout: float = 120.0,
        extra_env: dict[str, str] | None = None,
        partial: bool = False,
    ) -> str:
        """podman's stdout; a failure raises unless ``partial`` (take what it printed)."""
        env = {**self.env, **extra_env} if extra_env else self.env
        argv = [*self.base, *args]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, env=env, check=False
            )
        except FileNotFoundError as exc:
            raise base.RuntimeFailure(
                f"podman is not installed on {self.node} (not found on PATH); "
                "install podman 4 or later there.",
                permanent=True,
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise base.RuntimeFailure(
                f"'podman {args[0]}' on {self.node} did not finish within {timeout:.0f} s; "
                "it is retried on the next pass."
            ) from exc
        if done.returncode != 0 and not partial:
            message = _last_error(done.stderr) or f"exit code {done.returncode}"
            raise base.RuntimeFailure(
                f"'podman {' '.join(args[:2])}' failed on {self.node}: {message}"
            )
        return done.stdout

    # -- observing ------------------------------------------------------------------------

    def facts(self) -> protocol.NodeFacts:
        images = self._run(["images", "--format", "json"])
        return protocol.NodeFacts(
            hostname=platform.node(),
            cpus=os.cpu_count() or 1,
            memoryBytes=host.memory_bytes(),
            runtime=self.kind,
            runtimeVersion=self._version(),
            kernel=platform.release(),
            os=host.os_name(),
            images=podman_report.parse_images(images),
            imageSizes=podman_report.parse_image_sizes(images),
        )

    def _version(self) -> str:
        """podman's version, asked once per agent process (a session asks it once, not
        once a pass; an upgraded podman shows when the session is next started)."""
        key = (tuple(self.base), self.env.get("CONTAINERS_CONF", ""))
        if key not in _VERSIONS:
            version = json.loads(self._run(["version", "--format", "json"]))
            _VERSIONS[key] = str((version.get("Client") or {}).get("Version", ""))
        return _VERSIONS[key]

    def _ps(self, cluster: str, *filters: str) -> list[reports.Seen]:
        argv = ["ps", "-a", "--format", "json"]
        for label in (f"{identity.LABEL_CLUSTER}={cluster}", *filters):
            argv += ["--filter", f"label={label}"]
        return [podman_report.seen(e) for e in podman_report.loads_list(self._run(argv))]

    def list_pods(self, cluster: str, *, details: bool = True) -> list[protocol.PodReport]:
        pods = reports.pods_from(self._ps(cluster))
        self._names = {
            pod["uid"]: identity.pod_name(cluster, pod["namespace"], pod["name"]) for pod in pods
        }
        if details and pods:
            ids = [pod["sandboxID"] for pod in pods if pod.get("sandboxID")]
            ids += [
                c["containerID"].removeprefix(_SCHEME)
                for pod in pods
                for c in pod["containers"]
                if pod.get("restartPolicy") != "Never" or c.get("exitCode", 0) != 0
            ]
            if ids:
                # A container removed since ``ps`` fails its part only: keep the rest.
                argv = ["inspect", "--format", podman_report.INSPECT_TEMPLATE, "--", *ids]
                text = self._run(argv, partial=True)
                podman_report.apply_inspect(pods, podman_report.parse_inspect(text))
        return pods

    def stats(self, cluster: str) -> dict[str, tuple[int, int]]:
        running = self._run(
            ["ps", "-q", "--filter", f"label={identity.LABEL_CLUSTER}={cluster}"]
        ).split()
        if not running:
            return {}
        text = self._run(["stats", "--no-stream", "--format", "json", "--", *running],
                         timeout=60)
        return {_SCHEME + short: use for short, use in podman_report.parse_stats(text).items()}

    def logs(self, cluster: str, uid: str, container: str, tail: int) -> str:
        found = [entry.id.removeprefix(_SCHEME) for entry in self._ps(
            cluster, f"{identity.LABEL_POD_UID}={uid}", f"{identity.LABEL_CONTAINER}={container}",
        ) if not entry.sandbox]
        if not found:
            raise base.RuntimeFailure(
                f"Pod {uid} has no container {container} on {self.node} in cluster {cluster}.",
                permanent=True,
            )
        argv = [*self.base, "logs", *(["--tail", str(tail)] if tail >= 0 else []), "--", found[0]]
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=self.env, timeout=60, check=False)
        return done.stdout

    # -- changing ---------------------------------------------------------------------------

    def create_pod(self, cluster: str, pod: protocol.PodRun, *,
                   existing: protocol.PodReport | None = None) -> None:
        name = identity.pod_name(cluster, pod.get("namespace", "default"), pod.get("name", ""))
        if existing is None or not existing.get("sandboxID"):
            self._create_sandbox(cluster, pod, name)
        self._names[pod.get("uid", "")] = name
        everyone = initsteps.all_containers(pod)
        binds = files.materialise(self.state_dir, pod)
        scratch = files.scratch_binds(self.state_dir, pod, everyone)
        for owner, extra in _memory_binds(cluster, pod, everyone).items():
            scratch.setdefault(owner, []).extend(extra)
        for spec, labels in self.containers_to_create(cluster, pod, existing):
            cname = spec.get("name", "")
            mounts = [(str(host), path, True) for host, path in binds.get(cname, [])]
            started = self._run_container(cluster, pod, spec, labels,
                                          [*mounts, *scratch.get(cname, [])])
            self.post_start(started, spec, identity.of(pod), identity.grace(pod))

    def _create_sandbox(self, cluster: str, pod: protocol.PodRun, name: str) -> None:
        """The podman pod (its infra container): hostname, sysctls, DNS, ports, Memory
        emptyDirs held; refused when a pod of that name is not this cluster's."""
        uid = pod.get("uid", "")
        memory = [v for v in pod.get("volumes", []) if v.get("medium") == "Memory"]
        for volume in memory:
            self._ensure_volume(cluster, uid, volume, pod.get("fsGroup"))
        argv = ["pod", "create", "--name", name]
        argv += ["--hostname", pod.get("hostname") or pod.get("name", "")]
        # The cluster network the node has (network.json): pods join it and ask its DNS.
        run = podnetwork.in_force(self.state_dir)
        if run is not None:
            argv += ["--network", identity.network_name(cluster)]
        argv += podman_args.pod_args(pod, cluster_dns=podnetwork.cluster_dns(
            run, pod.get("namespace", "default")))
        argv += podman_args.label_args(identity.pod_labels(cluster, pod))
        for volume in memory:
            vname = identity.volume_name(cluster, uid, volume.get("name", ""))
            argv += ["--volume", f"{vname}:{_HOLD_DIR}/{volume.get('name', '')}"]
        for container in initsteps.all_containers(pod):
            for port in container.get("ports", []):
                if port.get("hostPort"):
                    argv += ["-p", podman_args.publish(port)]
        try:
            self._run(argv)
        except base.RuntimeFailure as exc:
            if "already" in str(exc) or "in use" in str(exc):
                raise base.RuntimeFailure(
                    f"A podman pod named {name} already exists on {self.node} but does not "
                    f"belong to cluster {cluster}; gitkube leaves it alone: rename or remove "
                    "it by hand.",
                    permanent=True,
                ) from exc
            raise

    def _ensure_volume(self, cluster: str, uid: str, volume: protocol.VolumeRun,
                       fs_group: int | None = None) -> None:
        """The tmpfs podman volume of a Memory emptyDir (kept when it exists: a resume)."""
        vname = identity.volume_name(cluster, uid, volume.get("name", ""))
        try:
            self._run(["volume", "exists", "--", vname])
            return
        except base.RuntimeFailure:
            pass
        # podman 4 reads "size=" in "o" as an XFS quota; tmpfs' nr_blocks (pages) is the same.
        # With an fsGroup: owned by that group, setgid (kubelet's SetVolumeOwnership).
        options = "mode=1777" if fs_group is None else f"mode=3777,gid={int(fs_group)}"
        if volume.get("sizeBytes"):
            options += f",nr_blocks={max(1, -(-int(volume['sizeBytes']) // 4096))}"
        argv = ["volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs",
                "--opt", f"o={options}"]
        argv += podman_args.label_args(
            identity.volume_labels(cluster, uid, volume.get("name", "")))
        self._run([*argv, "--", vname])

    def _run_container(self, cluster: str, pod: protocol.PodRun,
                       container: protocol.ContainerRun, labels: identity.Labels,
                       binds: list[Bind]) -> str:
        """``podman run`` one container of the pod; answers its ``containerID``."""
        namespace, name = pod.get("namespace", "default"), pod.get("name", "")
        cname = identity.container_name(cluster, namespace, name, container.get("name", ""))
        argv = ["run", "-d", "--pod", identity.pod_name(cluster, namespace, name),
                "--name", cname]
        argv += podman_args.label_args(labels)
        # podman restarts nothing: the supervisor does, with kubelet's back-off and counts.
        argv += ["--restart", "no"]
        argv += ["--stop-timeout", str(identity.grace(pod)), "--pull", "never"]
        argv += ["--log-opt", "max-size=10mb"]
        argv += podman_args.resource_args(container)
        argv += self._security_args(pod, container)
        if container.get("workingDir"):
            argv += ["--workdir", container["workingDir"]]
        for source, mount_path, read_only in binds:
            argv += ["--volume", f"{source}:{mount_path}:{'ro' if read_only else 'rw'}"]
        if container.get("command"):
            argv += ["--entrypoint", json.dumps(container["command"])]
        env_values = container.get("env", {})
        if pod.get("enableServiceLinks", True):
            # kubelet's service variables, which the container's own env overrides.
            env_values = {**podnetwork.service_env(podnetwork.in_force(self.state_dir),
                                                   namespace), **env_values}
        with files.EnvFile(self.state_dir / "tmp", env_values) as env:
            argv += ["--env-file", str(env.path), "--", container.get("image", "")]
            argv += container.get("args", [])
            try:
                started = self._run(argv, extra_env=env.process_env).strip()
            except base.RuntimeFailure as exc:
                # A failed start leaves a "created" container that would block the retry.
                with contextlib.suppress(base.RuntimeFailure):
                    self._run(["rm", "-f", "-t", "0", "--ignore", "--", cname])
                exc.container = container.get("name", "")
                raise
        return _SCHEME + (started or cname)

    def _security_args(self, pod: protocol.PodRun, container: protocol.ContainerRun
                       ) -> list[str]:
        """The container's security flags; refuses it as kubelet does (runAsNonRoot)."""
        wanted = container.get("security", {})
        image_user = ""
        if security.needs_image_user(wanted):
            image_user = self._run(["image", "inspect", "--format", "{{.Config.User}}", "--",
                                    container.get("image", "")]).strip()
        problem = security.non_root_problem(wanted, image_user, identity.kubelet_name(pod),
                                            container.get("name", ""))
        if problem:
            raise base.ConfigRefused(problem, container=container.get("name", ""))
        return podman_args.run_args(wanted, image_user)

    def remove_pod(self, cluster: str, uid: str, grace_seconds: int) -> None:
        if uid not in self._names:
            self.list_pods(cluster, details=False)
        name = self._names.get(uid)
        if name is None:
            return
        listed = self._ps(cluster, f"{identity.LABEL_POD_UID}={uid}")
        lost = [entry.id.removeprefix(_SCHEME) for entry in listed if entry.state == "created"]
        if lost:
            self._kill_lost(lost)
        # preStop hooks first, all at once, within the grace period (kubelet's killPod).
        if grace_seconds > 0:
            running = [(entry.id, entry.labels) for entry in listed
                       if entry.state == "running" and not entry.sandbox]
            grace_seconds = self.run_pre_stops(running, grace_seconds)
        self._run(
            ["pod", "rm", "-f", "--ignore", "-t", str(max(0, grace_seconds)), "--", name],
            timeout=grace_seconds + 60,
        )
        self._names.pop(uid, None)
        self.forget_pod(cluster, uid)

    def _kill_lost(self, container_ids: list[str]) -> None:
        """Kill what still runs in the pod's cgroup when podman lost the pod's state (its run
        directory reset: its containers show as created, and ``pod rm`` stops nothing)."""
        with contextlib.suppress(base.RuntimeFailure):
            found = self._run(["inspect", "--format", "{{.Pod}} {{.HostConfig.CgroupParent}}",
                               "--", *container_ids], partial=True)
            for pod_id, _, parent in {line.partition(" ") for line in found.splitlines()}:
                if pod_id and pod_id in parent:  # the pod's own cgroup, nothing wider
                    host.kill_cgroup(parent)

    def pod_network(self, cluster: str, subnet: str, gateway: str) -> list[str]:
        """The podman network of the cluster's pods, without podman's DNS (the cluster's
        answers instead), its bridge held with a fixed address (``network.hold_bridge``);
        one on another subnet is left alone and said so."""
        name = identity.network_name(cluster)
        shown = [n for n in podman_report.loads_list(self._run(["network", "ls", "--format",
                                                                "json"]))
                 if n.get("name") == name]
        if not shown:
            self._run(["network", "create", "--disable-dns", "--subnet", subnet,
                       "--gateway", gateway, "--label", f"{identity.LABEL_CLUSTER}={cluster}",
                       "--", name])
            shown = [n for n in podman_report.loads_list(self._run(
                ["network", "inspect", "--", name])) if n.get("name") == name]
        subnets = [s.get("subnet") for s in shown[0].get("subnets") or []] if shown else []
        if subnet not in subnets:
            return [f"{self.node}'s pod network {name} is on {', '.join(map(str, subnets))}, "
                    f"not on its podCIDR {subnet}; remove the node's pods and the network "
                    f"(podman network rm {name}) to move it."]
        device = str(shown[0].get("network_interface") or "")
        return network.hold_bridge(device, gateway, subnet, self.node) if device else []

    def forget_pod(self, cluster: str, uid: str) -> None:
        """Remove the pod's Memory emptyDir volumes (after the pod: they are in use till then)."""
        found = self._run(["volume", "ls", "-q",
                           "--filter", f"label={identity.LABEL_CLUSTER}={cluster}",
                           "--filter", f"label={identity.LABEL_POD_UID}={uid}"]).split()
        if found:
            self._run(["volume", "rm", "-f", "--", *found], partial=True)

    # -- one container ------------------------------------------------------------------------

    def start_container(self, container_id: str) -> None:
        self._run(["start", "--", container_id.removeprefix(_SCHEME)], timeout=60)

    def stop_container(self, container_id: str, grace_seconds: int) -> None:
        self._run(["stop", "-t", str(max(0, grace_seconds)), "--",
                   container_id.removeprefix(_SCHEME)], timeout=grace_seconds + 60)

    def exec_in(self, container_id: str, command: list[str], timeout: float) -> base.Result:
        argv = [*self.base, "exec", "--", container_id.removeprefix(_SCHEME), *command]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 1,
                                  env=self.env, check=False)
        except subprocess.TimeoutExpired:
            return False, f"command timed out after {timeout:g} s"
        output = (done.stdout + done.stderr).strip()[-1024:]
        return done.returncode == 0, output or f"exit code {done.returncode}"

    def was_oom_killed(self, container_id: str) -> bool:
        try:
            out = self._run(["inspect", "--format", "{{.State.OOMKilled}}", "--",
                             container_id.removeprefix(_SCHEME)])
        except base.RuntimeFailure:
            return False
        return out.strip() == "true"

    def container_pids(self, container_ids: list[str]) -> dict[str, int]:
        ids = [cid.removeprefix(_SCHEME) for cid in container_ids]
        if not ids:
            return {}
        text = self._run(["inspect", "--format", "{{.Id}}\t{{.State.Pid}}", "--", *ids],
                         partial=True)
        pids: dict[str, int] = {}
        for line in text.splitlines():
            cid, _, pid = line.partition("\t")
            if pid.strip().isdigit() and int(pid) > 0:
                pids[_SCHEME + cid] = int(pid)
        return pids

    def gone(self) -> bool:
        return bool(self.root) and not Path(self.root).is_dir()

    # -- images -------------------------------------------------------------------------------

    def has_image(self, ref: str) -> bool:
        try:
            self._run(["image", "exists", "--", ref])
        except base.RuntimeFailure:
            return False
        return True

    def pull_image(self, ref: str) -> None:
        self._run(["pull", "-q", "--", ref], timeout=300)

    def load_image(self, path: str) -> list[str]:
        out = self._run(["load", "-i", path], timeout=600)
        loaded: list[str] = []
        for line in out.splitlines():
            match = _LOADED.match(line.strip())
            if match:
                loaded += [ref.strip() for ref in match.group(1).split(",") if ref.strip()]
        return loaded


def _memory_binds(cluster: str, pod: protocol.PodRun,
                  containers: list[protocol.ContainerRun]) -> dict[str, list[Bind]]:
    """The Memory emptyDir volumes each container mounts, as podman volume binds."""
    memory = {v.get("name") for v in pod.get("volumes", []) if v.get("medium") == "Memory"}
    binds: dict[str, list[Bind]] = {}
    for container in containers:
        for mount in container.get("mounts", []):
            if mount.get("volume") in memory:
                vname = identity.volume_name(cluster, pod.get("uid", ""), mount.get("volume", ""))
                binds.setdefault(container.get("name", ""), []).append(
                    (vname, mount.get("mountPath", ""), bool(mount.get("readOnly"))))
    return binds


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error")]
    return (errors or lines or [""])[-1]

