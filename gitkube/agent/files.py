"""What the agent writes on the node for a pod: env files, ConfigMap/Secret volumes, emptyDirs
(and the binds of hostPath and claim volumes, ``volumes``).

Environment values may be secrets, so they reach the runtime through a 0600 file
(``--env-file``, as podman and ``ctr`` read it) that is deleted as soon as the runtime has
read it — never argv.
Volume files use Kubernetes' atomic layout: the content sits in a
``..<timestamp>`` directory, ``..data`` links to it, and each top-level key is a
link through ``..data``; an update swaps ``..data`` with one ``rename``, so a
container never sees half of an update.

A container bind-mounts the volume DIRECTORY, so it sees the swap: ``refresh``
rewrites the volumes of a running pod whose ``filesHash`` changed (its spec hash
did not) and the container keeps running. A ``subPath`` mount binds one file,
which keeps the content it had when the container started (as in Kubernetes).
Everything lives under ``pods/`` (0700): only the agent's user can read it.

A disk ``emptyDir`` is a plain directory beside them (``pods/<uid>/volumes/<name>/``,
mode 0777 as kubelet makes it), bind-mounted read-write into every container that
mounts it: it outlives container restarts (the same mounts are reused) and goes with
``forget_pod`` when the pod leaves the node. Its ``sizeLimit`` is not enforced.

A pod with an ``fsGroup`` gets its volumes as kubelet's SetVolumeOwnership leaves them:
everything group-owned by it, ConfigMap/Secret files group-readable (mode | 0440,
directories | 02550) and emptyDirs group-writable with the setgid bit (02777), so a
container running as another user (runAsUser) can still read its Secret files.
Without one, files keep their ``defaultMode`` (0644 unless said otherwise), as in
Kubernetes: a 0400 Secret file is then readable by root only.
"""

from __future__ import annotations

import base64
import datetime
import os
import posixpath
import re
import shutil
import tempfile
from pathlib import Path

from . import protocol, volumes

_DATA = "..data"
#: podman's bufio.Scanner reads env-file lines up to 64 KiB; longer values go another way.
_ENV_LINE_LIMIT = 32 * 1024
_ENV_NAME = re.compile(r"[^\s=#*][^\s=*]*")
_VOLUME_CHARS = re.compile(r"[^a-z0-9.-]+")
#: ``pods/<uid>/files.hash``: the ``filesHash`` the pod's volumes were last written with.
_FILES_HASH = "files.hash"


class EnvFile:
    """A 0600 env file for one container's creation; use as a context manager to delete it.

    Values an env-file reader cannot carry (newlines, very long) are listed by name only
    and handed over in ``process_env`` (the runtime command's own environment).
    """

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.process_env: dict[str, str] = {}
        lines = []
        for name, value in env.items():
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"environment variable name {name!r} is not valid")
            if "\n" in value or "\r" in value or len(value) > _ENV_LINE_LIMIT:
                self.process_env[name] = value
                lines.append(name)
            else:
                lines.append(f"{name}={value}")
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(prefix="env-", dir=directory)  # created 0600
        self.path = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))

    def __enter__(self) -> EnvFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.path.unlink(missing_ok=True)


def write_atomic(directory: Path, payload: dict[str, tuple[bytes, int]],
                 group: int | None = None) -> None:
    """Make ``directory`` hold exactly ``payload`` (relative path → content, mode), atomically;
    with ``group`` (the pod's fsGroup) everything is owned and readable by that group."""
    for rel in payload:
        parts = rel.split("/")
        if rel.startswith("/") or ".." in parts or parts[0].startswith(".."):
            raise ValueError(f"file path {rel!r} must be relative and stay inside its volume")
    directory.mkdir(parents=True, exist_ok=True)
    data_link = directory / _DATA
    old = os.readlink(data_link) if data_link.is_symlink() else None
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("..%Y_%m_%d_%H_%M_%S.")  # noqa: UP017
    fresh = Path(tempfile.mkdtemp(prefix=stamp, dir=directory))
    fresh.chmod(0o755)
    for rel, (content, mode) in payload.items():
        target = fresh / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(mode)
    if group is not None:
        _own(directory, group, 0o2550)
        for path in [fresh, *fresh.rglob("*")]:
            _own(path, group, 0o2550 if path.is_dir() else 0o440)
    staging = directory / "..data_tmp"
    staging.unlink(missing_ok=True)
    staging.symlink_to(fresh.name)
    os.replace(staging, data_link)
    visible = {rel.split("/")[0] for rel in payload}
    for top in visible:
        link = directory / top
        if not link.is_symlink():
            link.symlink_to(f"{_DATA}/{top}")
            if group is not None:
                os.lchown(link, -1, group)
    for entry in directory.iterdir():
        if entry.name.startswith(".."):
            continue
        if entry.is_symlink() and entry.name not in visible:
            entry.unlink()
    if old and old != fresh.name:
        shutil.rmtree(directory / old, ignore_errors=True)


def _own(path: Path, group: int, mask: int) -> None:
    """kubelet's changeFilePermission: group-own ``path`` and add ``mask`` to its mode."""
    os.lchown(path, -1, group)
    path.chmod(path.stat().st_mode & 0o7777 | mask)


def volume_dir(state_dir: Path, uid: str, volume: str) -> Path:
    return state_dir / "pods" / uid / "volumes" / volume


def _pods_dir(state_dir: Path) -> Path:
    pods = state_dir / "pods"
    pods.mkdir(parents=True, exist_ok=True, mode=0o700)
    if pods.stat().st_mode & 0o077:
        pods.chmod(0o700)  # Secret files live below: no one but the agent's user may look
    return pods


def materialise(state_dir: Path, pod: protocol.PodRun) -> dict[str, list[tuple[Path, str]]]:
    """Write every volume of ``pod``; answer per container its (host dir, mount path) binds."""
    payloads: dict[str, dict[str, tuple[bytes, int]]] = {}
    binds: dict[str, list[tuple[Path, str]]] = {}
    uid = pod.get("uid", "")
    for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        mounts: dict[str, Path] = {}
        for item in container.get("files", []):
            mount_path = item.get("mountPath") or posixpath.dirname(item["path"])
            volume = item.get("volume") or "files" + _VOLUME_CHARS.sub("-", mount_path.lower())
            rel = posixpath.relpath(item["path"], mount_path)
            if rel.startswith(".."):
                raise ValueError(f"file {item['path']} lies outside its mount path {mount_path}")
            host = volume_dir(state_dir, uid, volume)
            if rel == ".":  # a subPath mount: the file alone, not its directory
                rel = posixpath.basename(mount_path)
                host = host / rel
            content = base64.b64decode(item.get("content", ""))
            payloads.setdefault(volume, {})[rel] = (content, int(item.get("mode", 0o644)))
            mounts[mount_path] = host
        binds[container.get("name", "")] = [(host, path) for path, host in mounts.items()]
    if payloads:
        _pods_dir(state_dir)
    for volume, payload in payloads.items():
        write_atomic(volume_dir(state_dir, uid, volume), payload, pod.get("fsGroup"))
    if payloads and pod.get("filesHash") and "/" not in uid and not uid.startswith("."):
        (state_dir / "pods" / uid / _FILES_HASH).write_text(pod["filesHash"], encoding="ascii")
    return binds


def scratch_binds(
    state_dir: Path, pod: protocol.PodRun, containers: list[protocol.ContainerRun]
) -> dict[str, list[tuple[str, str, bool]]]:
    """Make the pod's disk emptyDirs and check (or make) its hostPaths (``volumes.host_dir``);
    answer per container its (host, mount path, read-only).

    Memory emptyDirs are the runtime's (``memory_binds``); their mounts are skipped here.
    """
    uid = pod.get("uid", "")
    by_name = {v.get("name", ""): v for v in pod.get("volumes", [])}
    binds: dict[str, list[tuple[str, str, bool]]] = {}
    if pod.get("volumes"):
        # Even for Memory ones only: ``pods/<uid>`` is how a gone pod's leftovers are found.
        (_pods_dir(state_dir) / uid).mkdir(exist_ok=True)
    for container in containers:
        for mount in container.get("mounts", []):
            volume = by_name.get(mount.get("volume", ""))
            if volume is None or volume.get("medium") == "Memory":
                continue
            host = (volumes.host_dir(volume) if volume.get("kind") == "hostPath"
                    else _empty_dir(state_dir, pod, volume.get("name", "")))
            sub = mount.get("subPath", "")
            if sub:
                if sub.startswith("/") or ".." in sub.split("/"):
                    raise ValueError(f"subPath {sub!r} must be relative and stay in its volume")
                host = host / sub
                host.mkdir(parents=True, exist_ok=True)
            binds.setdefault(container.get("name", ""), []).append(
                (str(host), mount.get("mountPath", ""), bool(mount.get("readOnly"))))
    return binds


def _empty_dir(state_dir: Path, pod: protocol.PodRun, name: str) -> Path:
    host = volume_dir(state_dir, pod.get("uid", ""), name)
    if not host.is_dir():
        _pods_dir(state_dir)
        host.mkdir(parents=True, exist_ok=True)
        host.chmod(0o777)  # kubelet's emptyDir mode: any container user may write
        if pod.get("fsGroup") is not None:
            _own(host, int(pod["fsGroup"]), 0o2777)
    return host


def refresh(
    state_dir: Path, desired: list[protocol.PodRun], actual: list[protocol.PodReport]
) -> list[str]:
    """Rewrite in place the volumes of running pods whose files changed; answer their keys.

    Only pods running with the same spec hash qualify (the others were just created or
    replaced, with fresh files); ``filesHash`` recorded at the last write says what is new.
    """
    running = {pod.get("uid"): pod for pod in actual}
    updated: list[str] = []
    for pod in desired:
        uid, wanted = pod.get("uid", ""), pod.get("filesHash")
        found = running.get(uid)
        if not wanted or found is None or found.get("hash") != pod.get("hash"):
            continue
        if not any(c.get("files")
                   for c in [*pod.get("initContainers", []), *pod.get("containers", [])]):
            continue
        recorded = state_dir / "pods" / uid / _FILES_HASH
        try:
            if recorded.read_text(encoding="ascii") == wanted:
                continue
        except OSError:
            pass
        materialise(state_dir, pod)
        updated.append(f"{pod.get('namespace', 'default')}/{pod.get('name', '?')}")
    return updated


def forget_pod(state_dir: Path, uid: str) -> None:
    """Remove what the agent wrote for a pod that is gone."""
    if uid and "/" not in uid and not uid.startswith("."):
        shutil.rmtree(state_dir / "pods" / uid, ignore_errors=True)
