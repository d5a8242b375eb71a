"""Host paths and claim volumes on the node: kubelet's hostPath checks, k3s's local-path dirs.

A ``hostPath`` volume (``protocol.VolumeRun``) is a path of the node bind-mounted into the
containers that mount it, once kubelet's type check passed: ``Directory``, ``File``,
``Socket``, ``CharDevice`` and ``BlockDevice`` must already be that; ``DirectoryOrCreate``
is made (0755) and ``FileOrCreate`` made empty (0644, its directory must exist); no type
checks nothing.

A claim's volume is a hostPath the agent makes itself: a directory made 0777, as the
local-path provisioner's setup script makes it (``mkdir -m 0777 -p``), so a container of
any user may write. The agent keeps the list of the claim directories it was given in
``volumes.json``: they outlive their pods — restarts, rescheduling on this node, agent
upgrades — and go only when the control plane asks (``removeVolumes``, for a claim deleted
with ``reclaimPolicy: Delete``), and then only a directory on that list that no desired pod
mounts. Nothing else on the node is ever removed.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

from . import protocol

_KINDS = {
    "Socket": (stat.S_ISSOCK, "a socket"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}


class MountFailed(ValueError):
    """A hostPath failed its type check; the pod waits, as kubelet's FailedMount leaves it."""


def host_dir(volume: protocol.VolumeRun) -> Path:
    """Check (or make) ``volume``'s path as kubelet does; answers the path to bind."""
    path = Path(volume.get("path", ""))
    kind = volume.get("type", "")
    if not path.is_absolute() or ".." in path.parts:
        raise MountFailed(f'volume "{volume.get("name")}": hostPath {path} must be absolute '
                          "and without '..'")
    if volume.get("claim"):
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o777)
        return path
    if kind == "DirectoryOrCreate" and not path.exists():
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
    elif kind == "FileOrCreate" and not path.exists():
        if not path.parent.is_dir():
            raise _failed(volume, f"{path.parent} does not exist (FileOrCreate makes no "
                                  "directory)")
        path.touch(mode=0o644)
    _check(volume, path, kind)
    return path


def _check(volume: protocol.VolumeRun, path: Path, kind: str) -> None:
    if kind in ("Directory", "DirectoryOrCreate") and not path.is_dir():
        raise _failed(volume, f"{path} is not a directory")
    if kind in ("File", "FileOrCreate") and not path.is_file():
        raise _failed(volume, f"{path} is not a file")
    if kind in _KINDS:
        test, what = _KINDS[kind]
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = 0
        if not test(mode):
            raise _failed(volume, f"{path} is not {what}")


def _failed(volume: protocol.VolumeRun, why: str) -> MountFailed:
    return MountFailed(f'MountVolume.SetUp failed for volume "{volume.get("name")}" : '
                       f"hostPath type check failed: {why}")


def claim_dirs(pods: Iterable[protocol.PodRun]) -> set[str]:
    """The claim directories these pods mount."""
    return {v.get("path", "") for pod in pods for v in pod.get("volumes", [])
            if v.get("kind") == "hostPath" and v.get("claim") and v.get("path")}


def remove(held: Iterable[str], asked: Iterable[str], desired: Iterable[protocol.PodRun],
           *, on_disk: bool) -> tuple[list[str], list[str]]:
    """Remove the claim directories asked for that the agent holds and no desired pod mounts;
    answers (removed, refused with why). ``on_disk`` False: a simulated node, nothing to
    delete but the record."""
    keep, have = claim_dirs(desired), set(held)
    removed, refused = [], []
    for path in sorted(set(asked)):
        if path not in have:
            refused.append(f"{path} is not a claim volume this agent made; left alone")
        elif path in keep:
            refused.append(f"{path} is still mounted by a pod of this node; kept")
        else:
            if on_disk:
                shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed, refused
