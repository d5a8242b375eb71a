"""The podman runtime: gitkube pods as podman pods, driven through the podman CLI.

A gitkube pod is a podman pod named ``gk_<cluster>_<namespace>_<name>`` (shared network,
IPC and UTS namespaces; host ports are published on the pod's infra container),
and each container is ``gk_<cluster>_<namespace>_<name>_<container>``, started with
``podman run -d --pod``. Every pod and container carries the gitkube labels,
and nothing without this cluster's label is ever listed or removed. Output is
parsed by the pure functions in ``reports.py``.

Init containers are ``..._<container>`` too, labelled ``io.gitkube.init=<index>``;
``create_pod`` creates only what ``converge.init_progress`` allows now. A disk emptyDir
is a directory of the agent's (``files.scratch_binds``); a ``medium: Memory`` one is a
podman volume of type tmpfs (``gk_<cluster>_<uid>_<volume>``, labelled, ``sizeLimit``
as its size) that the pod's infra container mounts too, at ``/.gitkube/volumes/<name>``:
podman unmounts a tmpfs volume when no running container uses it, and the infra
container runs as long as the pod, so the data outlives every container (an init
container that wrote it and exited, a restart). It is removed with the pod. tmpfs
volumes need a root podman (a rootless one cannot mount them).

Security contexts become ``podman run`` flags and sysctls/DNS ``pod create`` flags
(``security.py``); runAsNonRoot is checked against the image's configured user first.
Lifecycle hooks (``hooks.py``) run here: postStart right after a container starts,
preStop before ``pod rm`` and before the supervisor's kills. A preStop hook rides on its
container as a label, since a pod being removed is no longer in the desired set.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import converge, files, hooks, hostconf, podargs, protocol, reports, runtime, security

_LOADED = re.compile(r"Loaded image(?:\(s\))?:\s*(.+)")
#: Where the infra container holds a pod's Memory emptyDirs (see the module docstring).
_HOLD_DIR = "/.gitkube/volumes"
#: podman's version by (argv prefix, containers.conf): it does not change under a process.
_VERSIONS: dict[tuple[tuple[str, ...], str], str] = {}


class PodmanRuntime(runtime.Runtime):
    kind = "podman"

    def __init__(
        self, config: protocol.RuntimeConfig, state_dir: Path, *, node: str = "this node"
    ) -> None:
        self.state_dir = state_dir
        self.node = node
        self.base = ["podman"]
        for flag, key in (("--root", "root"), ("--runroot", "runroot"), ("--tmpdir", "tmpdir")):
            value = config.get(key)
            if value:
                self.base += [flag, str(value)]
        self.env = dict(os.environ)
        if config.get("containers_conf"):
            self.env["CONTAINERS_CONF"] = str(config["containers_conf"])
        else:
            detected = hostconf.ensure_conf(state_dir, self.env)
            if detected:
                self.env["CONTAINERS_CONF"] = detected
        #: uid → podman pod name, from the last listing (removal goes by name).
        self._names: dict[str, str] = {}
        #: Events of lifecycle hooks (FailedPostStartHook...) until ``take_events``.
        self._events: list[dict[str, Any]] = []
        self._events_lock = threading.Lock()

    def take_events(self) -> list[dict[str, Any]]:
        """Hand over (and forget) the hook events recorded since the last call."""
        with self._events_lock:
            taken, self._events = self._events, []
        return taken

    def _event(self, reason: str, message: str, pod: str, container: str) -> None:
        with self._events_lock:
            self._events.append({"type": "Warning", "reason": reason, "message": message,
                                 "pod": pod, "container": container,
                                 "time": reports.rfc3339(time.time())})

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
            raise runtime.RuntimeFailure(
                f"podman is not installed on {self.node} (not found on PATH); "
                "install podman 4 or later there.",
                permanent=True,
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise runtime.RuntimeFailure(
                f"'podman {args[0]}' on {self.node} did not finish within {timeout:.0f} s; "
                "it is retried on the next pass."
            ) from exc
        if done.returncode != 0 and not partial:
            message = _last_error(done.stderr) or f"exit code {done.returncode}"
            raise runtime.RuntimeFailure(
                f"'podman {' '.join(args[:2])}' failed on {self.node}: {message}"
            )
        return done.stdout

    def run_podman(self, args: list[str]) -> str:
        """podman ``args`` with this node's settings (the node's pod network is made so)."""
        return self._run(args)

    # -- observing ------------------------------------------------------------------------

    def facts(self) -> protocol.NodeFacts:
        images = self._run(["images", "--format", "json"])
        return protocol.NodeFacts(
            hostname=platform.node(),
            cpus=os.cpu_count() or 1,
            memoryBytes=_memory_bytes(),
            runtime=self.kind,
            runtimeVersion=self._version(),
            kernel=platform.release(),
            os=_os_name(),
            images=reports.parse_images(images),
            imageSizes=reports.parse_image_sizes(images),
        )

    def _version(self) -> str:
        """podman's version, asked once per agent process (a session asks it once, not
        once a pass; an upgraded podman shows when the session is next started)."""
        key = (tuple(self.base), self.env.get("CONTAINERS_CONF", ""))
        if key not in _VERSIONS:
            version = json.loads(self._run(["version", "--format", "json"]))
            _VERSIONS[key] = str((version.get("Client") or {}).get("Version", ""))
        return _VERSIONS[key]

    def _ps(self, cluster: str, *filters: str) -> str:
        argv = ["ps", "-a", "--format", "json"]
        for label in (f"{protocol.LABEL_CLUSTER}={cluster}", *filters):
            argv += ["--filter", f"label={label}"]
        return self._run(argv)

    def list_pods(self, cluster: str, *, details: bool = True) -> list[protocol.PodReport]:
        pods = reports.parse_ps(self._ps(cluster))
        self._names = {
            pod["uid"]: runtime.pod_name(cluster, pod["namespace"], pod["name"]) for pod in pods
        }
        if details and pods:
            ids = [pod["sandboxID"] for pod in pods if pod.get("sandboxID")]
            ids += [
                c["containerID"].removeprefix("podman://")
                for pod in pods
                for c in pod["containers"]
                if pod.get("restartPolicy") != "Never" or c.get("exitCode", 0) != 0
            ]
            if ids:
                # A container removed since ``ps`` fails its part only: keep the rest.
                argv = ["inspect", "--format", reports.INSPECT_TEMPLATE, *ids]
                text = self._run(argv, partial=True)
                reports.apply_inspect(pods, reports.parse_inspect(text))
        return pods

    def stats(self, cluster: str) -> dict[str, tuple[int, int]]:
        running = self._run(
            ["ps", "-q", "--filter", f"label={protocol.LABEL_CLUSTER}={cluster}"]
        ).split()
        if not running:
            return {}
        return reports.parse_stats(
            self._run(["stats", "--no-stream", "--format", "json", *running], timeout=60)
        )

    # -- changing ---------------------------------------------------------------------------

    def create_pod(
        self,
        cluster: str,
        pod: protocol.PodRun,
        *,
        existing: protocol.PodReport | None = None,
    ) -> None:
        namespace, name = pod.get("namespace", "default"), pod.get("name", "")
        labels = podargs.pod_labels(cluster, pod)
        uid = pod.get("uid", "")
        memory = [v for v in pod.get("volumes", []) if v.get("medium") == "Memory"]
        if existing is None or not existing.get("sandboxID"):
            for volume in memory:
                self._ensure_volume(cluster, uid, volume, pod.get("fsGroup"))
            argv = ["pod", "create", "--name", runtime.pod_name(cluster, namespace, name)]
            argv += ["--hostname", pod.get("hostname") or name]
            argv += security.pod_args(pod)
            argv += podargs.label_args(labels)
            for volume in memory:
                vname = volume_name(cluster, uid, volume.get("name", ""))
                argv += ["--volume", f"{vname}:{_HOLD_DIR}/{volume.get('name', '')}"]
            for container in converge.all_containers(pod):
                for port in container.get("ports", []):
                    if port.get("hostPort"):
                        argv += ["-p", podargs.publish(port)]
            try:
                self._run(argv)
            except runtime.RuntimeFailure as exc:
                if "already" in str(exc) or "in use" in str(exc):
                    raise runtime.RuntimeFailure(
                        f"A podman pod named {runtime.pod_name(cluster, namespace, name)} already "
                        f"exists on {self.node} but does not belong to cluster {cluster}; gitkube "
                        "leaves it alone: rename or remove it by hand.",
                        permanent=True,
                    ) from exc
                raise
        self._names[uid] = runtime.pod_name(cluster, namespace, name)
        wanted = set(converge.creatable(pod, existing))
        everyone = converge.all_containers(pod)
        binds = files.materialise(self.state_dir, pod)
        scratch = files.scratch_binds(self.state_dir, pod, everyone)
        for mount_owner, extra in self._memory_binds(cluster, pod, everyone).items():
            scratch.setdefault(mount_owner, []).extend(extra)
        inits = {c.get("name"): i for i, c in enumerate(pod.get("initContainers", []))}
        for container in everyone:
            cname = container.get("name", "")
            if cname not in wanted:
                continue
            own = dict(labels)
            if cname in inits:
                own[protocol.LABEL_INIT] = str(inits[cname])
                if converge.is_sidecar(container):
                    own[protocol.LABEL_SIDECAR] = "true"
            self._run_container(pod, container, own, binds.get(cname), scratch.get(cname))

    def _ensure_volume(self, cluster: str, uid: str, volume: protocol.VolumeRun,
                       fs_group: int | None = None) -> None:
        """The tmpfs podman volume of a Memory emptyDir (kept when it exists: a resume)."""
        vname = volume_name(cluster, uid, volume.get("name", ""))
        try:
            self._run(["volume", "exists", vname])
            return
        except runtime.RuntimeFailure:
            pass
        # podman 4 reads "size=" in "o" as an XFS quota; tmpfs' nr_blocks (pages) is the same.
        # With an fsGroup: owned by that group, setgid (kubelet's SetVolumeOwnership).
        options = "mode=1777" if fs_group is None else f"mode=3777,gid={int(fs_group)}"
        if volume.get("sizeBytes"):
            options += f",nr_blocks={max(1, -(-int(volume['sizeBytes']) // 4096))}"
        argv = ["volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs",
                "--opt", f"o={options}"]
        argv += podargs.label_args({protocol.LABEL_CLUSTER: cluster,
                                    protocol.LABEL_POD_UID: uid,
                                    protocol.LABEL_VOLUME: volume.get("name", "")})
        self._run([*argv, vname])

    def _memory_binds(self, cluster: str, pod: protocol.PodRun,
                      containers: list[protocol.ContainerRun]
                      ) -> dict[str, list[tuple[str, str, bool]]]:
        memory = {v.get("name") for v in pod.get("volumes", []) if v.get("medium") == "Memory"}
        binds: dict[str, list[tuple[str, str, bool]]] = {}
        for container in containers:
            for mount in container.get("mounts", []):
                if mount.get("volume") in memory:
                    vname = volume_name(cluster, pod.get("uid", ""), mount.get("volume", ""))
                    binds.setdefault(container.get("name", ""), []).append(
                        (vname, mount.get("mountPath", ""), bool(mount.get("readOnly"))))
        return binds

    def remove_volumes(self, cluster: str, uid: str) -> None:
        """Remove the pod's Memory emptyDir volumes (after the pod: they are in use till then)."""
        found = self._run(["volume", "ls", "-q",
                           "--filter", f"label={protocol.LABEL_CLUSTER}={cluster}",
                           "--filter", f"label={protocol.LABEL_POD_UID}={uid}"]).split()
        if found:
            self._run(["volume", "rm", "-f", *found], partial=True)

    def _run_container(
        self,
        pod: protocol.PodRun,
        container: protocol.ContainerRun,
        labels: dict[str, str],
        binds: list[tuple[Path, str]] | None,
        scratch: list[tuple[str, str, bool]] | None = None,
    ) -> None:
        namespace, name = pod.get("namespace", "default"), pod.get("name", "")
        cluster = labels[protocol.LABEL_CLUSTER]
        cname = runtime.container_name(cluster, namespace, name, container.get("name", ""))
        argv = ["run", "-d", "--pod", runtime.pod_name(cluster, namespace, name), "--name", cname]
        argv += podargs.label_args({**labels, protocol.LABEL_CONTAINER: container.get("name", "")})
        # podman restarts nothing: the supervisor does, with kubelet's back-off and counts.
        argv += ["--restart", "no"]
        argv += ["--stop-timeout", str(podargs.grace(pod)), "--pull", "never"]
        argv += ["--log-opt", "max-size=10mb"]
        argv += podargs.resource_args(container)
        argv += self._security_args(pod, container)
        if container.get("preStop"):
            argv += podargs.label_args({protocol.LABEL_PRE_STOP: json.dumps(container["preStop"])})
        if container.get("workingDir"):
            argv += ["--workdir", container["workingDir"]]
        for host_dir, mount_path in binds or []:
            argv += ["--volume", f"{host_dir}:{mount_path}:ro"]
        for source, mount_path, read_only in scratch or []:
            argv += ["--volume", f"{source}:{mount_path}:{'ro' if read_only else 'rw'}"]
        if container.get("command"):
            argv += ["--entrypoint", json.dumps(container["command"])]
        env = files.EnvFile(self.state_dir / "tmp", container.get("env", {}))
        with env:
            argv += ["--env-file", str(env.path), container.get("image", "")]
            argv += container.get("args", [])
            try:
                started = self._run(argv, extra_env=env.process_env).strip()
            except runtime.RuntimeFailure as exc:
                # A failed start leaves a "created" container that would block the retry.
                self._discard_container(cname)
                exc.container = container.get("name", "")
                raise
        if container.get("postStart"):
            self.post_start(f"podman://{started or cname}", container, _pod_identity(pod),
                            podargs.grace(pod))

    def _security_args(self, pod: protocol.PodRun, container: protocol.ContainerRun
                       ) -> list[str]:
        """The container's security flags; refuses it as kubelet does (runAsNonRoot)."""
        wanted = container.get("security", {})
        image_user = ""
        if security.needs_image_user(wanted):
            image_user = self._run(["image", "inspect", "--format", "{{.Config.User}}",
                                    container.get("image", "")]).strip()
        problem = security.non_root_problem(wanted, image_user, hooks.pod_name(pod),
                                            container.get("name", ""))
        if problem:
            raise ConfigRefused(problem, container=container.get("name", ""))
        return security.run_args(wanted, image_user)

    def post_start(self, container_id: str, spec: protocol.ContainerRun,
                   pod: dict[str, str], grace: int) -> bool:
        """Run the container's postStart hook; a failure kills it (kubelet's
        FailedPostStartHook) and its restart policy decides what comes next."""
        hook = spec.get("postStart")
        if not hook:
            return True
        ok, output = hooks.run(hook, container_id, hooks.POST_START_TIMEOUT, self.exec_probe,
                               self.container_pids)
        if ok:
            return True
        name = spec.get("name", "")
        self._event("FailedPostStartHook", hooks.failure_message(
            hook, name, hooks.pod_name(pod), output), runtime.pod_key(pod), name)
        with contextlib.suppress(runtime.RuntimeFailure):
            self.kill_container(container_id, spec, grace, pod)
        return False

    def _discard_container(self, cname: str) -> None:
        with contextlib.suppress(runtime.RuntimeFailure):
            self._run(["rm", "-f", "-t", "0", "--ignore", cname])

    def remove_pod(self, cluster: str, uid: str, grace_seconds: int) -> None:
        if uid not in self._names:
            self.list_pods(cluster, details=False)
        name = self._names.get(uid)
        if name is None:
            return
        # preStop hooks first, all at once, within the grace period (kubelet's killPod).
        grace_seconds = self._pre_stops(cluster, uid, grace_seconds)
        self._run(
            ["pod", "rm", "-f", "--ignore", "-t", str(max(0, grace_seconds)), name],
            timeout=grace_seconds + 60,
        )
        self._names.pop(uid, None)
        self.remove_volumes(cluster, uid)

    # -- healing (the supervisor's calls) ----------------------------------------------------

    def _pre_stops(self, cluster: str, uid: str, grace: int) -> int:
        """Run the preStop hooks of the pod's running containers; the grace left for them."""
        if grace <= 0:
            return grace
        due: list[tuple[str, protocol.HookRun, dict[str, str]]] = []
        for entry in _json_list(self._ps(cluster, f"{protocol.LABEL_POD_UID}={uid}")):
            labels: dict[str, str] = entry.get("Labels") or {}
            if entry.get("State") != "running" or not labels.get(protocol.LABEL_PRE_STOP):
                continue
            try:
                hook: protocol.HookRun = json.loads(labels[protocol.LABEL_PRE_STOP])
            except ValueError:
                continue
            due.append((f"podman://{entry.get('Id', '')}", hook, labels))
        if not due:
            return grace

        def failed(hook: protocol.HookRun, labels: dict[str, str], output: str) -> None:
            pod = {"name": labels.get(protocol.LABEL_POD_NAME, ""), "uid": uid,
                   "namespace": labels.get(protocol.LABEL_NAMESPACE, "default")}
            container = labels.get(protocol.LABEL_CONTAINER, "")
            self._event("FailedPreStopHook", hooks.failure_message(
                hook, container, hooks.pod_name(pod), output), runtime.pod_key(pod), container)

        return hooks.pre_stop_all(due, grace, self.exec_probe, self.container_pids, failed)

    def kill_container(self, container_id: str, spec: protocol.ContainerRun, grace: int,
                       pod: dict[str, str]) -> None:
        """Stop one container as kubelet's killContainer: its preStop hook, then SIGTERM,
        then SIGKILL once the grace left is over (a failed probe or postStart hook)."""
        hook = spec.get("preStop")
        if hook and grace > 0:
            grace, failed = hooks.pre_stop(hook, container_id, grace, self.exec_probe,
                                           self.container_pids)
            if failed is not None:
                name = spec.get("name", "")
                self._event("FailedPreStopHook", hooks.failure_message(
                    hook, name, hooks.pod_name(pod), failed), runtime.pod_key(pod), name)
        self.stop_container(container_id, grace)

    def start_container(self, container_id: str, spec: protocol.ContainerRun | None = None,
                        pod: dict[str, str] | None = None, grace: int = 0) -> bool:
        """Start an exited container again; with ``spec``, run its postStart hook too
        (False: the hook failed and the container was killed)."""
        self._run(["start", container_id.removeprefix("podman://")], timeout=60)
        if spec is None or not spec.get("postStart"):
            return True
        return self.post_start(container_id, spec, pod or {}, grace)

    def stop_container(self, container_id: str, grace_seconds: int) -> None:
        """SIGTERM, then SIGKILL after ``grace_seconds`` (a failed liveness probe)."""
        self._run(["stop", "-t", str(max(0, grace_seconds)),
                   container_id.removeprefix("podman://")], timeout=grace_seconds + 60)

    def exec_probe(self, container_id: str, command: list[str], timeout: float) -> tuple[
            bool, str]:
        """Run ``command`` in the container; passes on exit code 0 within ``timeout``."""
        argv = [*self.base, "exec", container_id.removeprefix("podman://"), *command]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 1,
                                  env=self.env, check=False)
        except subprocess.TimeoutExpired:
            return False, f"command timed out after {timeout:g} s"
        output = (done.stdout + done.stderr).strip()[-1024:]
        return done.returncode == 0, output or f"exit code {done.returncode}"

    def was_oom_killed(self, container_id: str) -> bool:
        try:
            out = self._run(["inspect", "--format", "{{.State.OOMKilled}}",
                             container_id.removeprefix("podman://")])
        except runtime.RuntimeFailure:
            return False
        return out.strip() == "true"

    def container_pids(self, container_ids: list[str]) -> dict[str, int]:
        """Main process pid per running container id (for probes in its network namespace)."""
        ids = [cid.removeprefix("podman://") for cid in container_ids]
        if not ids:
            return {}
        text = self._run(["inspect", "--format", "{{.Id}}\t{{.State.Pid}}", *ids], partial=True)
        pids: dict[str, int] = {}
        for line in text.splitlines():
            cid, _, pid = line.partition("\t")
            if pid.strip().isdigit() and int(pid) > 0:
                pids[f"podman://{cid}"] = int(pid)
        return pids

    # -- images and logs ----------------------------------------------------------------------

    def has_image(self, ref: str) -> bool:
        try:
            self._run(["image", "exists", ref])
        except runtime.RuntimeFailure:
            return False
        return True

    def pull_image(self, ref: str) -> None:
        self._run(["pull", "-q", ref], timeout=300)

    def load_image(self, path: str) -> list[str]:
        out = self._run(["load", "-i", path], timeout=600)
        loaded: list[str] = []
        for line in out.splitlines():
            match = _LOADED.match(line.strip())
            if match:
                loaded += [ref.strip() for ref in match.group(1).split(",") if ref.strip()]
        return loaded

    def logs(self, cluster: str, uid: str, container: str, tail: int) -> str:
        entries = reports.parse_ps(
            self._ps(
                cluster,
                f"{protocol.LABEL_POD_UID}={uid}",
                f"{protocol.LABEL_CONTAINER}={container}",
            )
        )
        found = [
            c["containerID"].removeprefix("podman://") for pod in entries
            for c in [*pod.get("initContainers", []), *pod["containers"]]
        ]
        if not found:
            raise runtime.RuntimeFailure(
                f"Pod {uid} has no container {container} on {self.node} in cluster {cluster}.",
                permanent=True,
            )
        argv = ["logs", *(["--tail", str(tail)] if tail >= 0 else []), found[0]]
        argv = [*self.base, *argv]
        done = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )
        return done.stdout


class ConfigRefused(runtime.RuntimeFailure):
    """The container may not start as configured (kubelet's CreateContainerConfigError)."""

    reason = security.CONFIG_ERROR


def _pod_identity(pod: protocol.PodRun) -> dict[str, str]:
    return {"name": pod.get("name", ""), "namespace": pod.get("namespace", "default"),
            "uid": pod.get("uid", "")}


def _json_list(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text) if text.strip() else []
    except ValueError:
        return []
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


def volume_name(cluster: str, uid: str, volume: str) -> str:
    """The podman volume of a pod's Memory emptyDir: unique per pod uid, cluster-scoped."""
    return f"gk_{cluster}_{uid}_{volume}"


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error")]
    return (errors or lines or [""])[-1]


def _memory_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()
