"""A pod's sandbox on a containerd node: what its containers share, kept in files.

containerd has no pods, so the runtime makes what a podman pod's infra container holds,
with no process at all: a network and an IPC namespace bound to files
(``unshare --net=FILE --ipc=FILE``, which outlive every container; ``lo`` is brought up
in the same breath), the pod's
``/dev/shm`` and ``medium: Memory`` emptyDirs as tmpfs mounts of the node (kept across
container restarts, sized by ``sizeLimit``), and the pod's ``/etc/hosts``,
``/etc/hostname`` and ``/etc/resolv.conf`` (kubelet's, ``security.resolver``). Each
container's spec joins the namespaces and binds the rest. Everything lives under
``containerd/pods/<uid>/`` in the agent's state directory (Memory emptyDirs where
``files`` puts every volume), and ``remove`` unmounts and deletes it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

from .. import files, podnetwork, protocol, security
from . import base

_SHM_SIZE = "65536k"
_MS_NOSUID, _MS_NODEV = 2, 4


class Paths(NamedTuple):
    root: Path

    @property
    def netns(self) -> str:
        return str(self.root / "net")

    @property
    def ipcns(self) -> str:
        return str(self.root / "ipc")

    @property
    def shm(self) -> Path:
        return self.root / "shm"

    @property
    def etc(self) -> Path:
        return self.root / "etc"


def paths(state_dir: Path, uid: str) -> Paths:
    if not uid or "/" in uid or uid.startswith("."):
        raise base.RuntimeFailure(f"pod uid {uid!r} cannot name a directory", permanent=True)
    return Paths(state_dir / "containerd" / "pods" / uid)


def make(where: Paths, pod: protocol.PodRun, state_dir: Path) -> None:
    """The pod's namespaces and tmpfs mounts (those already there are kept)."""
    where.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (_mounted(where.netns) and _mounted(where.ipcns)):
        for name in (where.netns, where.ipcns):
            _unmount(name)
            Path(name).touch()
        _run(["unshare", f"--net={where.netns}", f"--ipc={where.ipcns}", "ip", "link", "set",
              "lo", "up"])
    _tmpfs(where.shm, f"size={_SHM_SIZE},mode=1777")
    for volume in pod.get("volumes", []):
        if volume.get("medium") == "Memory":
            target = files.volume_dir(state_dir, pod.get("uid", ""), volume.get("name", ""))
            options = "mode=1777" if pod.get("fsGroup") is None else (
                f"mode=3777,gid={int(pod['fsGroup'])}")
            if volume.get("sizeBytes"):
                options += f",size={int(volume['sizeBytes'])}"
            _tmpfs(target, options)


def memory_binds(state_dir: Path, pod: protocol.PodRun,
                 container: protocol.ContainerRun) -> list[tuple[str, str, bool]]:
    """The Memory emptyDirs ``container`` mounts (``files.scratch_binds`` leaves them out)."""
    memory = {v.get("name") for v in pod.get("volumes", []) if v.get("medium") == "Memory"}
    return [(str(files.volume_dir(state_dir, pod.get("uid", ""), m.get("volume", ""))),
             m.get("mountPath", ""), bool(m.get("readOnly")))
            for m in container.get("mounts", []) if m.get("volume") in memory]


def write_etc(where: Paths, pod: protocol.PodRun, ip: str, state_dir: Path) -> None:
    """``hosts``, ``hostname`` and ``resolv.conf`` as kubelet writes them for a pod."""
    where.etc.mkdir(parents=True, exist_ok=True)
    hostname = pod.get("hostname") or pod.get("name", "")
    run = podnetwork.in_force(state_dir)
    namespace = pod.get("namespace", "default")
    hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    if ip:
        names = [hostname]
        if pod.get("subdomain") and run is not None:
            domain = run.get("clusterDomain") or "cluster.local"
            names.insert(0, f"{hostname}.{pod['subdomain']}.{namespace}.svc.{domain}")
        hosts += f"{ip}\t{' '.join(names)}\n"
    (where.etc / "hosts").write_text(hosts)
    (where.etc / "hostname").write_text(hostname + "\n")
    dns = pod.get("dns") or {"policy": "Default"}
    nameservers, searches, options = security.resolver(
        dns, security.read_host_resolv(), podnetwork.cluster_dns(run, namespace))
    lines = [f"nameserver {n}" for n in nameservers]
    lines += [f"search {' '.join(searches)}"] if searches else []
    lines += [f"options {' '.join(options)}"] if options else []
    (where.etc / "resolv.conf").write_text("".join(line + "\n" for line in lines))
    for name in ("hosts", "hostname", "resolv.conf"):
        (where.etc / name).chmod(0o644)


def etc_binds(where: Paths) -> list[tuple[str, str, bool]]:
    return [(str(where.shm), "/dev/shm", False),
            *[(str(where.etc / name), f"/etc/{name}", False)
              for name in ("hosts", "hostname", "resolv.conf")]]


def remove(where: Paths, state_dir: Path, uid: str) -> None:
    """Unmount and delete what ``make`` made (and the pod's Memory emptyDirs)."""
    for mount in reversed(_mounts_under(where.root) + _mounts_under(
            state_dir / "pods" / uid)):
        _unmount(mount)
    shutil.rmtree(where.root, ignore_errors=True)


def exists(where: Paths) -> bool:
    return _mounted(where.netns)


def _tmpfs(target: Path, options: str) -> None:
    """A tmpfs at ``target`` (mount(2) itself: one per pod, no process to start for it)."""
    if _mounted(str(target)):
        return
    target.mkdir(parents=True, exist_ok=True)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"tmpfs", str(target).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                  options.encode()) != 0:
        error = ctypes.get_errno()
        raise base.RuntimeFailure(f"cannot mount a tmpfs at {target}: {os.strerror(error)}")


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root) + "/"
    return [m for m in _mount_points() if m.startswith(prefix)]


def _mounted(path: str) -> bool:
    return path in _mount_points()


def _mount_points() -> list[str]:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    return [line.split()[4].replace("\\040", " ") for line in lines if len(line.split()) > 4]


def _unmount(path: str) -> None:
    while _mounted(path):
        if subprocess.run(["umount", path], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", path], capture_output=True, check=False)
            break
    if Path(path).is_file() and not _mounted(path):
        os.unlink(path)


def _run(argv: list[str]) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError as exc:
        raise base.RuntimeFailure(f"{argv[0]} is not installed on this node (util-linux); "
                                  "the containerd runtime needs it.", permanent=True) from exc
    if done.returncode:
        raise base.RuntimeFailure(f"'{' '.join(argv[:2])}' failed: {done.stderr.strip()}")
