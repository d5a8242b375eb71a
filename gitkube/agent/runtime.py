"""The node agent's runtime interface: what a container engine must do for gitkube.

The handler and the converge executor speak only to this small interface, so
podman (``podman.py``) and the in-memory simulator (``sim.py``) are
interchangeable, as a containerd runtime will be. A runtime touches nothing
that does not carry the cluster's ``io.gitkube.cluster`` label.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from . import protocol


class RuntimeFailure(Exception):
    """A runtime operation failed; ``permanent`` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool = False, container: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        #: The container being created when it failed, if any.
        self.container = container


def pod_name(cluster: str, namespace: str, name: str) -> str:
    """The deterministic podman pod name, so a repeated converge never makes a second copy.

    ``_`` cannot occur in a cluster, namespace or pod name (DNS-1123), so the parts never run
    into each other (``a-b`` + ``c`` vs ``a`` + ``b-c``), and two clusters sharing a node
    never want the same name.
    """
    return f"gk_{cluster}_{namespace}_{name}"


def container_name(cluster: str, namespace: str, name: str, container: str) -> str:
    return f"{pod_name(cluster, namespace, name)}_{container}"


def normalize_image(ref: str) -> str:
    """``nginx`` → ``docker.io/library/nginx:latest``, the way podman names images."""
    name, digest = [*ref.split("@", 1), ""][:2]
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = f"docker.io/{name}" if rest else f"docker.io/library/{name}"
    if digest:
        return f"{name}@{digest}"
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def pod_key(pod: Mapping[str, object]) -> str:
    """``namespace/name``, how pods are named in events and messages."""
    return f"{pod.get('namespace', 'default')}/{pod.get('name', '?')}"


class Runtime(abc.ABC):
    """A container engine on one node, seen through gitkube's labels."""

    #: "podman", "sim", ... (reported in NodeFacts.runtime).
    kind: str = ""
    #: A runtime that lives in memory keeps the agent's state files in this dict too.
    state_memory: dict[str, Any] | None = None
    #: Whether converge should run this runtime's slow calls on several threads.
    parallel: bool = True

    @abc.abstractmethod
    def facts(self) -> protocol.NodeFacts:
        """The node's capacity, versions and images."""

    @abc.abstractmethod
    def list_pods(self, cluster: str, *, details: bool = True) -> list[protocol.PodReport]:
        """Every pod labelled with ``cluster``, with its containers as the runtime shows them.

        ``details=False`` may skip what costs extra runtime calls (restart counts, pod IPs):
        planning a converge needs only uids, hashes and which containers exist.
        """

    @abc.abstractmethod
    def create_pod(
        self,
        cluster: str,
        pod: protocol.PodRun,
        *,
        existing: protocol.PodReport | None = None,
    ) -> None:
        """Create ``pod`` and start its containers.

        ``existing`` is the same pod (same uid and hash) as last listed: only the
        containers it lacks are created, which resumes an interrupted converge.
        """

    @abc.abstractmethod
    def remove_pod(self, cluster: str, uid: str, grace_seconds: int) -> None:
        """Stop (SIGTERM, then SIGKILL after ``grace_seconds``) and remove a pod of ``cluster``."""

    @abc.abstractmethod
    def has_image(self, ref: str) -> bool: ...

    @abc.abstractmethod
    def pull_image(self, ref: str) -> None:
        """Pull ``ref``; raise RuntimeFailure when the registry cannot deliver it."""

    @abc.abstractmethod
    def load_image(self, path: str) -> list[str]:
        """Load an image archive (``podman save`` format); return the refs it held."""

    @abc.abstractmethod
    def logs(self, cluster: str, uid: str, container: str, tail: int) -> str:
        """The last ``tail`` lines a container wrote (``tail`` < 0: everything)."""

    def stats(self, cluster: str) -> dict[str, tuple[int, int]]:
        """Resource use per container id: (cpu millicores, memory bytes); may be slow.

        The default knows nothing; observe asks only when the request says ``stats``.
        """
        return {}
