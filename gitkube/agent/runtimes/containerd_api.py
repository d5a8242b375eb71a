"""The containerd calls the containerd runtime makes, named (``containerd_wire`` underneath).

Each function takes a ``containerd_wire.Connection`` (the socket and namespace) and speaks
one RPC of containerd's API (the field numbers of ``api/services/*/v1/*.proto``), answering
plain Python values: ``Container`` and ``Task`` records, mounts, image descriptors, blobs.
OCI documents (the runtime spec, resources) travel as JSON inside ``Any``, as containerd's
own client sends them.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from . import containerd_wire as wire

CONTAINERS = "/containerd.services.containers.v1.Containers/"
TASKS = "/containerd.services.tasks.v1.Tasks/"
SNAPSHOTS = "/containerd.services.snapshots.v1.Snapshots/"
IMAGES = "/containerd.services.images.v1.Images/"
CONTENT = "/containerd.services.content.v1.Content/"
VERSION = "/containerd.services.version.v1.Version/Version"
SPEC_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/Spec"
RUNC_OPTIONS_TYPE = "containerd.runc.v1.Options"
RUNTIME = "io.containerd.runc.v2"
GC_ROOT = "containerd.io/gc.root"
#: containerd's task states (``api/types/task``), lower-case as ``reports.Seen`` wants them.
STATUSES = {0: "unknown", 1: "created", 2: "running", 3: "stopped", 4: "paused", 5: "paused"}

#: A mount of the container's root file system, as the snapshotter gives it.
Mount = tuple[str, str, list[str]]


class Container(NamedTuple):
    id: str
    labels: dict[str, str]
    image: str
    snapshot_key: str
    created: float


class Task(NamedTuple):
    id: str
    pid: int
    state: str
    exit_status: int
    exited: float


class Descriptor(NamedTuple):
    media_type: str
    digest: str
    size: int


# -- containers -------------------------------------------------------------------------------


def list_containers(conn: wire.Connection, *filters: str) -> list[Container]:
    """Containers matching any of ``filters`` (containerd's filter syntax)."""
    request = wire.encode([(1, f) for f in filters])
    (answer,) = conn.call(CONTAINERS + "List", request)
    return [_container(c) for c in wire.nested(wire.decode(answer), 1)]


def _container(message: wire.Message) -> Container:
    return Container(id=wire.text(message, 1), labels=wire.labels(message, 2),
                     image=wire.text(message, 3), snapshot_key=wire.text(message, 7),
                     created=wire.seconds(message, 8))


def create_container(conn: wire.Connection, cid: str, *, labels: dict[str, str], image: str,
                     spec: dict[str, Any], snapshotter: str = "", snapshot_key: str = "",
                     runc_root: str = "") -> None:
    options = wire.encode([(7, runc_root)])  # containerd.runc.v1.Options.root
    runtime = wire.encode([(1, RUNTIME), (2, wire.encode([(1, RUNC_OPTIONS_TYPE),
                                                          (2, options)]) if options else None)])
    container = wire.encode([
        (1, cid), *wire.string_map(2, labels), (3, image), (4, runtime),
        (5, wire.any_json(SPEC_TYPE, json.dumps(spec).encode())),
        (6, snapshotter), (7, snapshot_key)])
    conn.call(CONTAINERS + "Create", wire.encode([(1, container)]))


def update_labels(conn: wire.Connection, cid: str, labels: dict[str, str]) -> None:
    """Set these labels on the container (the others stay)."""
    container = wire.encode([(1, cid), *wire.string_map(2, labels)])
    mask = wire.encode([(1, f"labels.{key}") for key in sorted(labels)])
    conn.call(CONTAINERS + "Update", wire.encode([(1, container), (2, mask)]))


def delete_container(conn: wire.Connection, cid: str) -> None:
    _ignore_missing(conn, CONTAINERS + "Delete", wire.encode([(1, cid)]))


# -- tasks ------------------------------------------------------------------------------------


def list_tasks(conn: wire.Connection) -> dict[str, Task]:
    (answer,) = conn.call(TASKS + "List", b"")
    tasks = [Task(id=wire.text(p, 2) or wire.text(p, 1), pid=wire.number(p, 3),
                  state=STATUSES.get(wire.number(p, 4), "unknown"),
                  exit_status=wire.number(p, 9), exited=wire.seconds(p, 10))
             for p in wire.nested(wire.decode(answer), 1)]
    return {task.id: task for task in tasks}


def create_task(conn: wire.Connection, cid: str, rootfs: list[Mount], log_path: str) -> int:
    """Create the container's task (its init process, not started) logging to ``log_path``;
    answers its pid."""
    uri = "file://" + log_path
    mounts = [(3, wire.encode([(1, kind), (2, source), *[(4, o) for o in options]]))
              for kind, source, options in rootfs]
    (answer,) = conn.call(TASKS + "Create", wire.encode(
        [(1, cid), *mounts, (5, uri), (6, uri)]))
    return wire.number(wire.decode(answer), 2)


def start_task(conn: wire.Connection, cid: str) -> int:
    (answer,) = conn.call(TASKS + "Start", wire.encode([(1, cid)]))
    return wire.number(wire.decode(answer), 1)


def kill_task(conn: wire.Connection, cid: str, signal: int) -> None:
    _ignore_missing(conn, TASKS + "Kill", wire.encode([(1, cid), (3, signal), (4, True)]))


def delete_task(conn: wire.Connection, cid: str) -> None:
    _ignore_missing(conn, TASKS + "Delete", wire.encode([(1, cid)]))


# -- snapshots --------------------------------------------------------------------------------


def prepare_snapshot(conn: wire.Connection, snapshotter: str, key: str, parent: str
                     ) -> list[Mount]:
    """An active snapshot on ``parent`` (an image's chain id); answers its mounts. One that
    exists (an interrupted create) is reused. It is a root of containerd's garbage
    collection: a collection between this and the container that refers to it would take
    it; it goes when the container does (``remove_snapshot``)."""
    request = wire.encode([(1, snapshotter), (2, key), (3, parent),
                           *wire.string_map(4, {GC_ROOT: "gitkube"})])
    try:
        (answer,) = conn.call(SNAPSHOTS + "Prepare", request)
    except wire.ApiError as exc:
        if exc.code != wire.ALREADY_EXISTS:
            raise
        (answer,) = conn.call(SNAPSHOTS + "Mounts", wire.encode([(1, snapshotter), (2, key)]))
    return _mounts(wire.decode(answer))


def snapshot_mounts(conn: wire.Connection, snapshotter: str, key: str) -> list[Mount]:
    (answer,) = conn.call(SNAPSHOTS + "Mounts", wire.encode([(1, snapshotter), (2, key)]))
    return _mounts(wire.decode(answer))


def _mounts(message: wire.Message) -> list[Mount]:
    return [(wire.text(m, 1), wire.text(m, 2),
             [v.decode() for v in m.get(4, []) if isinstance(v, bytes)])
            for m in wire.nested(message, 1)]


def remove_snapshot(conn: wire.Connection, snapshotter: str, key: str) -> None:
    _ignore_missing(conn, SNAPSHOTS + "Remove", wire.encode([(1, snapshotter), (2, key)]))


# -- images and content -----------------------------------------------------------------------


def list_images(conn: wire.Connection, *filters: str) -> dict[str, Descriptor]:
    """Image name → its target descriptor."""
    (answer,) = conn.call(IMAGES + "List", wire.encode([(1, f) for f in filters]))
    out: dict[str, Descriptor] = {}
    for image in wire.nested(wire.decode(answer), 1):
        target = (wire.nested(image, 3) or [{}])[0]
        out[wire.text(image, 1)] = Descriptor(wire.text(target, 1), wire.text(target, 2),
                                              wire.number(target, 3))
    return out


def read_blob(conn: wire.Connection, digest: str) -> bytes:
    answers = conn.call(CONTENT + "Read", wire.encode([(1, digest)]))
    return b"".join(_data(wire.decode(a)) for a in answers)


def _data(message: wire.Message) -> bytes:
    found = message.get(2) or [b""]
    return found[-1] if isinstance(found[-1], bytes) else b""


def version(conn: wire.Connection) -> str:
    (answer,) = conn.call(VERSION, b"")
    return wire.text(wire.decode(answer), 1)


def _ignore_missing(conn: wire.Connection, method: str, request: bytes) -> None:
    try:
        conn.call(method, request)
    except wire.ApiError as exc:
        if exc.code != wire.NOT_FOUND:
            raise
