"""Store keys, the etcd way: ``/registry/<plural>/<namespace>/<name>``.

Cluster-scoped objects (nodes, namespaces) leave the namespace out:
``/registry/nodes/node-1``. gitkube's own bookkeeping lives under ``/gitkube/``.
"""

from __future__ import annotations

REGISTRY = "/registry/"
#: The source revision last applied, and the one last attempted (with errors).
SOURCE_KEY = "/gitkube/source"
#: The record of the last pass (time, revision, errors, summary).
PASS_KEY = "/gitkube/pass"
#: Cluster identity (name, uid) written once by ``gitkube init`` or the first pass.
CLUSTER_KEY = "/gitkube/cluster"


def object_key(plural: str, namespace: str, name: str) -> str:
    if namespace:
        return f"{REGISTRY}{plural}/{namespace}/{name}"
    return f"{REGISTRY}{plural}/{name}"


def kind_prefix(plural: str) -> str:
    return f"{REGISTRY}{plural}/"


def split_key(key: str) -> tuple[str, str, str]:
    """``/registry/pods/default/web-1`` → ``("pods", "default", "web-1")``."""
    parts = key.removeprefix(REGISTRY).split("/")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], "", parts[1]
    raise ValueError(f"{key!r} is not a registry key")
