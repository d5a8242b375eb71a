"""The agent's wire protocol: one JSON request on stdin, one JSON response on stdout.

This module is standard library only; it is copied to nodes with the rest of
``gitkube/agent/``. The control plane builds requests from Pods (lowering
Kubernetes objects into the ``PodRun`` shape below), the agent answers with a
``NodeReport``. Every request names the cluster; the agent only ever touches
containers labelled with that cluster.

Requests (``op``):
  - ``info``      → NodeReport without pods' details needed? (cheap: node facts + images)
  - ``observe``   → NodeReport: what runs on the node, per pod and container
  - ``converge``  → make the node run exactly ``pods`` (create missing, replace changed
                    by hash, remove labelled pods not listed); answers a NodeReport after
  - ``load-image``→ ``podman load`` the archive at ``path`` on the node, then delete it
  - ``logs``      → a container's output (``pod_uid``, ``container``, ``tail``)

Response: ``{"ok": true, "report": NodeReport, ...}`` or
``{"ok": false, "error": "a sentence", "permanent": bool}``.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

PROTOCOL_VERSION = 1

# Labels on every podman pod and container gitkube creates.
LABEL_CLUSTER = "io.gitkube.cluster"
LABEL_POD_UID = "io.gitkube.pod-uid"
LABEL_POD_NAME = "io.gitkube.pod-name"
LABEL_NAMESPACE = "io.gitkube.namespace"
LABEL_SPEC_HASH = "io.gitkube.spec-hash"
LABEL_OWNER = "io.gitkube.owner"
LABEL_CONTAINER = "io.gitkube.container"


class RuntimeConfig(TypedDict, total=False):
    kind: Literal["podman", "sim"]
    #: podman --root / --runroot, for several simulated nodes sharing one machine.
    root: str
    runroot: str
    #: CONTAINERS_CONF for podman on this node.
    containers_conf: str
    #: Where the agent keeps its state (desired pods, env files, mounted files).
    state_dir: str


class PortRun(TypedDict, total=False):
    containerPort: int
    hostPort: int
    hostIP: str
    protocol: str


class FileRun(TypedDict):
    #: Path inside the container.
    path: str
    #: base64 of the content.
    content: str
    mode: int


class ContainerRun(TypedDict, total=False):
    name: str
    image: str
    imagePullPolicy: Literal["Always", "IfNotPresent", "Never"]
    command: list[str]
    args: list[str]
    workingDir: str
    #: Resolved environment; given to podman through a 0600 env file, never argv.
    env: dict[str, str]
    ports: list[PortRun]
    cpuLimitMillis: int
    memoryLimitBytes: int
    cpuRequestMillis: int
    memoryRequestBytes: int
    #: Files to materialise and bind-mount read-only (ConfigMap/Secret volumes).
    files: list[FileRun]


class PodRun(TypedDict, total=False):
    uid: str
    name: str
    namespace: str
    #: Hash of everything below; a pod whose hash changed is replaced.
    hash: str
    owner: str
    restartPolicy: Literal["Always", "OnFailure", "Never"]
    hostname: str
    containers: list[ContainerRun]


class ContainerReport(TypedDict, total=False):
    name: str
    image: str
    imageID: str
    state: Literal["running", "waiting", "terminated"]
    ready: bool
    restartCount: int
    reason: str
    message: str
    exitCode: int
    startedAt: str
    finishedAt: str
    #: Resource use, for autoscalers: cpu in millicores, memory in bytes.
    cpuMillis: int
    memoryBytes: int


class PodReport(TypedDict, total=False):
    uid: str
    name: str
    namespace: str
    hash: str
    #: Pending, Running, Succeeded, Failed, Unknown (Kubernetes' pod phases).
    phase: str
    podIP: str
    containers: list[ContainerReport]


class NodeFacts(TypedDict, total=False):
    hostname: str
    cpus: int
    memoryBytes: int
    runtime: str
    runtimeVersion: str
    kernel: str
    os: str
    images: list[str]
    #: The node's clock (RFC 3339), for skew diagnostics.
    time: str


class NodeReport(TypedDict, total=False):
    node: str
    facts: NodeFacts
    pods: list[PodReport]
    #: Human-readable events from this request ("started web-1/web", "pull failed ...").
    events: list[dict[str, Any]]
