"""Images on a containerd node: what a container needs of one, read from containerd's store.

An image in containerd is a name pointing at a manifest (or an index of manifests, one
per platform); the manifest names the config blob and the layers. To start a container
the runtime needs the config (``containerd_spec.image_of``: env, entrypoint, cmd, working
dir, user) and the chain id of the unpacked layers, the parent of the container's
snapshot: ``chain_id`` follows the OCI image spec (the first diff id, then
``sha256(parent + " " + diff id)`` per layer). Images are imported (``ctr images
import``, what ``podman save`` or ``ctr images export`` wrote) and pulled with ``ctr``,
which unpacks them into the snapshotter.

``user_of`` is the container's user as kubelet's runtime resolves it: runAsUser/runAsGroup
over the image's ``User``, a name (or a uid without a group) looked up in the image's
``/etc/passwd`` and ``/etc/group``, read from the layers of the container's snapshot;
runAsNonRoot refuses root as kubelet does.
"""

from __future__ import annotations

import hashlib
import json
import platform
from typing import Any, NamedTuple

from .. import identity, protocol, security
from . import base, containerd_api, containerd_host, containerd_spec
from . import containerd_wire as wire

_INDEXES = ("application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json")
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


class Resolved(NamedTuple):
    #: The config blob's digest (what Kubernetes shows as a containerd image id).
    image_id: str
    chain_id: str
    image: containerd_spec.Image
    size: int


def chain_id(diff_ids: list[str]) -> str:
    chain = ""
    for diff in diff_ids:
        chain = diff if not chain else "sha256:" + hashlib.sha256(
            f"{chain} {diff}".encode()).hexdigest()
    return chain


def pick_manifest(index: dict[str, Any], machine: str = "") -> str:
    """The digest of this machine's manifest in an image index (linux/<arch>)."""
    arch = _ARCH.get(machine or platform.machine(), machine or platform.machine())
    manifests = index.get("manifests") or []
    for entry in manifests:
        wanted = entry.get("platform") or {}
        if wanted.get("os", "linux") == "linux" and wanted.get("architecture", arch) == arch:
            return str(entry.get("digest", ""))
    return str(manifests[0].get("digest", "")) if manifests else ""


def resolve(conn: wire.Connection, ref: str) -> Resolved:
    """What a container of image ``ref`` needs; a missing image is a RuntimeFailure."""
    found = containerd_api.list_images(conn, f'name=="{ref}"').get(ref)
    if found is None:
        raise base.RuntimeFailure(f"image {ref} is not on the node", container="")
    digest, media = found.digest, found.media_type
    document = _json(conn, digest)
    if media in _INDEXES or "manifests" in document:
        digest = pick_manifest(document)
        document = _json(conn, digest)
    config_digest = str((document.get("config") or {}).get("digest", ""))
    config = _json(conn, config_digest)
    size = sum(int(layer.get("size", 0)) for layer in document.get("layers") or [])
    return Resolved(image_id=config_digest,
                    chain_id=chain_id(list((config.get("rootfs") or {}).get("diff_ids") or [])),
                    image=containerd_spec.image_of(config), size=size)


def _json(conn: wire.Connection, digest: str) -> dict[str, Any]:
    try:
        loaded = json.loads(containerd_api.read_blob(conn, digest))
    except (wire.ApiError, ValueError) as exc:
        raise base.RuntimeFailure(f"cannot read blob {digest} of an image: {exc}") from exc
    return loaded if isinstance(loaded, dict) else {}


def user_of(resolved: Resolved, pod: protocol.PodRun, container: protocol.ContainerRun,
            rootfs: list[containerd_api.Mount]) -> tuple[int, int, list[int]]:
    """(uid, gid, extra gids) of a container whose snapshot's mounts are ``rootfs``."""
    wanted = container.get("security", {})
    name = container.get("name", "")
    problem = security.non_root_problem(wanted, resolved.image.user, identity.kubelet_name(pod),
                                        name)
    if problem:
        raise base.ConfigRefused(problem, container=name)
    user, _, group = resolved.image.user.partition(":")
    if "runAsUser" in wanted:
        user = str(wanted["runAsUser"])
    if "runAsGroup" in wanted:
        group = str(wanted["runAsGroup"])
    uid = gid = 0
    layers = containerd_host.lower_dirs(rootfs) if user or group else []
    if user:
        found = containerd_spec.parse_passwd(containerd_host.image_file(layers, "etc/passwd"),
                                             user)
        if found is None and not user.isdigit():
            raise base.ConfigRefused(f"unable to find user {user}: no matching entries in "
                                     "passwd file", container=name)
        uid, gid = found or (int(user), 0)
    if group:
        gid_found = int(group) if group.isdigit() else containerd_spec.parse_group(
            containerd_host.image_file(layers, "etc/group"), group)
        if gid_found is None:
            raise base.ConfigRefused(f"unable to find group {group}: no matching entries in "
                                     "group file", container=name)
        gid = gid_found
    # The primary group too, as CRI and podman list it.
    return uid, gid, list(dict.fromkeys([gid, *(int(g) for g in wanted.get("groups", []))]))
