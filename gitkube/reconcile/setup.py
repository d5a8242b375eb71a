"""Making and finding a cluster: ``gitkube init`` and the repository a command runs on.

``init_cluster`` makes a cluster repository (``source.init``) whose first commit holds
an inventory of one node, this machine, running pods with podman; a bare one gets the
push hooks. ``find_repository`` finds the cluster repository at or above a directory.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path

from gitkube.errors import ConfigError
from gitkube.source import hooks as source_hooks
from gitkube.source import init as source_init
from gitkube.source import settings as source_settings


def find_repository(start: Path) -> Path:
    """The cluster repository at or above ``start`` (a work tree or a bare repository)."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists() or (
            (candidate / "HEAD").is_file() and (candidate / "objects").is_dir()
        ):
            return candidate
    raise ConfigError(
        f"{start} is not inside a cluster repository; run `gitkube init DIR` to make one, "
        "or pass --repo PATH."
    )


def default_node_name() -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower()).strip("-")[:63]
    return name or "node-1"


def local_inventory(cluster: str) -> str:
    """inventory.yaml for a one-node cluster on this machine."""
    conf = os.environ.get("CONTAINERS_CONF", "")
    runtime = f"\n      containersConf: {conf}" if conf else ""
    return (
        "# The machines of this cluster. See gitkube's inventory.yaml for an SSH example.\n"
        "apiVersion: gitkube.io/v1alpha1\n"
        "kind: Inventory\n"
        f"cluster: {json.dumps(cluster)}\n"  # quoted: a cluster named "y" or "no" is a string
        "nodes:\n"
        f"  - name: {json.dumps(default_node_name())}\n"
        "    transport: local\n"
        "    runtime:\n"
        f"      kind: podman{runtime}\n"
    )


def init_cluster(directory: Path, *, from_folder: Path | None = None, state: Path | None = None,
                 bare: bool = False) -> str:
    """Make ``directory`` a cluster repository; returns the first commit's sha."""
    cluster = re.sub(r"[^a-z0-9-]+", "-", directory.resolve().name.lower()).strip("-") or "gitkube"
    cluster = cluster[:63].rstrip("-")  # a DNS label, as inventory.yaml requires
    sha = source_init.init_repository(directory, from_folder, local_inventory(cluster),
                                      bare=bare)
    if state is not None:
        source_settings.keep_state_in(directory, state)
    if bare:
        source_hooks.install(directory)
    return sha
