"""Moving container images to nodes without a registry.

An image built on the control machine (``podman build``/``import``) is saved to
an archive once per process, copied into the node's state directory with the
transport, and loaded there by the agent (``load-image``), which deletes the
archive afterwards. This is how a handful of machines run images that were
never pushed anywhere.
"""

from __future__ import annotations

import atexit
import posixpath
import secrets
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from gitkube import errors
from gitkube.nodes import client as node_client

#: Seconds for ``podman save`` of one image on the control machine.
SAVE_TIMEOUT = 600.0

_lock = threading.Lock()
_saving: dict[tuple[str, str], threading.Lock] = {}
_archives: dict[tuple[str, str], Path] = {}
_scratch: Path | None = None


def local_image_exists(ref: str) -> bool:
    """Whether the control machine's podman has ``ref`` (so it can be shipped)."""
    try:
        done = subprocess.run(
            ["podman", "image", "exists", ref], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def ship_image(client: node_client.NodeClient, ref: str) -> dict[str, Any]:
    """Copy ``ref`` from this machine into the node's runtime; returns the agent's answer."""
    archive = saved_archive(ref)
    remote = posixpath.join(
        client.state_dir(), "images", f"{archive.stem}-{secrets.token_hex(4)}.tar"
    )
    client.transport.put(archive, remote, mode=0o600)
    return client.request("load-image", path=remote)


def saved_archive(ref: str) -> Path:
    """``podman save`` of ``ref`` on this machine, made at most once per image and process."""
    key = (_image_id(ref), ref)
    with _lock:
        done = _archives.get(key)
        if done is not None and done.exists():
            return done
        saving = _saving.setdefault(key, threading.Lock())
    # One save per image even when several nodes ask at once; other images save in parallel.
    with saving:
        with _lock:
            done = _archives.get(key)
        if done is not None and done.exists():
            return done
        archive = _scratch_dir() / f"{key[0][:12]}-{secrets.token_hex(4)}.tar"
        _run_podman(["save", "--format", "docker-archive", "-o", str(archive), ref], ref)
        with _lock:
            _archives[key] = archive
        return archive


def _image_id(ref: str) -> str:
    found = _run_podman(["image", "inspect", "--format", "{{.Id}}", ref], ref).strip()
    if not found:
        raise errors.ConfigError(f"podman on this machine has no id for image {ref}.")
    return found


def _run_podman(args: list[str], ref: str) -> str:
    try:
        done = subprocess.run(
            ["podman", *args], capture_output=True, text=True, timeout=SAVE_TIMEOUT, check=False
        )
    except FileNotFoundError as exc:
        raise errors.ConfigError(
            f"Cannot ship image {ref}: podman is not installed on this machine."
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise errors.NodeUnreachable(
            f"`podman {args[0]}` of image {ref} on this machine took longer than "
            f"{SAVE_TIMEOUT:g} s; check the machine's podman."
        ) from exc
    if done.returncode != 0:
        raise errors.ConfigError(
            f"Cannot ship image {ref} from this machine: `podman {' '.join(args[:2])}` said: "
            f"{done.stderr.strip() or 'nothing'}. Build or pull the image here first, "
            "or point the manifest at an image the nodes can pull."
        )
    return done.stdout


def _scratch_dir() -> Path:
    global _scratch
    with _lock:
        if _scratch is None:
            _scratch = Path(tempfile.mkdtemp(prefix="gitkube-images-"))
            atexit.register(shutil.rmtree, _scratch, True)
        return _scratch
