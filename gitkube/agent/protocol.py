"""The agent's wire protocol: one JSON request on stdin, one JSON response on stdout.

This module is standard library only; it is copied to nodes with the rest of
``gitkube/agent/``. The control plane builds requests from Pods (lowering
Kubernetes objects into the ``PodRun`` shape below), the agent answers with a
``NodeReport``. Every request names the cluster; the agent only ever touches
containers labelled with that cluster.

Requests (``op``; every request also carries ``cluster``, ``node``, ``runtime``):
  - ``info``      → ``report``: NodeReport with ``facts`` only (cheap: node facts + images)
  - ``observe``   → ``report``: NodeReport with ``pods`` (``stats: true`` adds cpu/memory use)
  - ``converge``  → make the node run exactly ``pods`` (create missing, replace changed
                    by hash, remove labelled pods not listed); answers ``report`` (pods after,
                    plus ``events``: this converge's and the supervisor's journal, which it
                    drains; ``observe`` never does), ``missing_images`` (refs the control
                    plane should ship with ``load-image``), ``created`` and ``removed`` (pod
                    keys "ns/name")
  - ``load-image``→ load the image archive at ``path`` on the node (``podman save``'s format),
                    then delete it;
                    answers ``loaded`` (image refs)
  - ``logs``      → a container's output (``pod_uid``, ``container``, ``tail``); answers ``logs``

Response: ``{"ok": true, "report": NodeReport, ...}`` or
``{"ok": false, "error": "a sentence", "permanent": bool}``.

Leader terms (several control machines): a leader's requests also carry ``term``, its
leader term (a positive number). The node keeps the highest term it has seen
(``fencing``) and answers a request of a lower one with ``{"ok": false, "fenced": true,
...}`` without doing any of it: a deposed leader cannot start or stop containers. A request
without ``term`` is not fenced.

Networking (issue 11): ``converge`` and ``observe`` may carry ``network``, the node's whole
share of the cluster network (``netprotocol.NetworkRun``); ``NodeReport.network`` says what
of it is in force.

On the node the agent keeps ``state_dir`` (default ``~/.gitkube/<cluster>/<node>``)::

    desired.json           the pod set of the last converge (0600: it holds env values)
    waiting.json           why desired containers do not exist (image pulls, create errors)
    runtime.json           the runtime settings, for the supervisor
    health.json            the supervisor's record: probe results, restarts, last terminations
    events.json            the supervisor's event journal until a converge drains it (bounded;
                           a repeat bumps ``count``)
    supervisor.pid         the supervisor's pid alone (one per cluster and node;
                           ``kill $(cat supervisor.pid)`` stops it), supervisor.detail its
                           agent package
    pods/<uid>/volumes/    materialised ``files`` (Kubernetes' atomic ``..data`` layout) and
                           the pod's disk ``emptyDir`` volumes (one directory each; a Memory
                           one is a tmpfs volume the runtime makes)
    volumes.json           the claim directories the agent made (kept until ``removeVolumes``)
    storage/               where claims' local-path volumes go unless their class says
                           ``nodePath`` (``facts.storageRoot``)
    tmp/                   short-lived env files handed to the runtime
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from . import netprotocol

PROTOCOL_VERSION = 1


def normalize_image(ref: str) -> str:
    """``nginx`` → ``docker.io/library/nginx:latest``: how nodes name images, so the control
    plane compares a pod's image with a node's image list (and the agent with what runs)."""
    name, digest = [*ref.split("@", 1), ""][:2]
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = f"docker.io/{name}" if rest else f"docker.io/library/{name}"
    if digest:
        return f"{name}@{digest}"
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name

#: Waiting reasons meaning "never started yet": such a pod is Pending (as kubelet says).
START_WAITING_REASONS = frozenset(
    {
        "ContainerCreating",
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "CreateContainerError",
        "CreateContainerConfigError",
        "PodInitializing",
    }
)
#: The waiting reason of app containers while the pod's init containers run (kubelet's).
POD_INITIALIZING = "PodInitializing"


class RuntimeConfig(TypedDict, total=False):
    kind: Literal["podman", "containerd", "sim"]
    #: podman --root / --runroot, for several simulated nodes sharing one machine.
    root: str
    runroot: str
    #: CONTAINERS_CONF for podman on this node.
    containers_conf: str
    #: podman --tmpdir (libpod's runtime state), to isolate test storage completely.
    tmpdir: str
    #: Where the agent keeps its state (desired pods, env files, mounted files).
    state_dir: str
    #: containerd only: its socket (default /run/containerd/containerd.sock); the runc
    #: root, cgroup parent and CNI plugin directory when not the defaults (tests' own).
    socket: str
    runc_root: str
    cgroup_parent: str
    cni_bin_dir: str
    #: sim only: the images present on the node; absent means every image is present
    #: (and then pulls always succeed; with a list, pulls always fail: ship the image).
    images: list[str]
    #: sim only: the node's capacity as reported in NodeFacts (defaults 4 CPUs, 8 GiB).
    cpus: int
    memoryBytes: int


class PortRun(TypedDict, total=False):
    containerPort: int
    hostPort: int
    hostIP: str
    protocol: str


class _FileRunRequired(TypedDict):
    #: Path inside the container.
    path: str
    #: base64 of the content.
    content: str
    mode: int


class FileRun(_FileRunRequired, total=False):
    #: The pod volume the file belongs to; files of one volume share one directory.
    #: Absent: the directory of ``path`` is the volume.
    volume: str
    #: Where the volume is mounted in the container (``path`` lies under it).
    #: Absent: the directory of ``path``.
    mountPath: str


class VolumeRun(TypedDict, total=False):
    """A pod volume the agent makes itself (ConfigMap/Secret volumes travel as ``files``):
    an ``emptyDir``, or a ``hostPath`` — a path of the node, which is also what a claim's
    local-path volume is (``claim``: a directory the agent makes and keeps, see
    ``Request.removeVolumes``)."""

    name: str
    kind: Literal["emptyDir", "hostPath"]
    #: emptyDir: "" (a directory on the node's disk) or "Memory" (a tmpfs).
    medium: Literal["", "Memory"]
    #: emptyDir: sizeLimit: the tmpfs size for Memory; not enforced on disk.
    sizeBytes: int
    #: hostPath: the absolute path on the node.
    path: str
    #: hostPath: kubelet's check before mounting ("" none, DirectoryOrCreate, Directory,
    #: FileOrCreate, File, Socket, CharDevice, BlockDevice).
    type: str
    #: hostPath: a claim's volume (made 0777 as the local-path provisioner makes it).
    claim: bool


class MountRun(TypedDict, total=False):
    """Where a container mounts one of ``PodRun.volumes``."""

    volume: str
    mountPath: str
    readOnly: bool
    #: A directory inside the volume to mount instead of its root (created when missing).
    subPath: str


class _HandlerRun(TypedDict, total=False):
    """What probes and lifecycle hooks share: exec (``command``), httpGet (``path``,
    ``port``, ``host``, ``scheme``, ``httpHeaders``)."""

    command: list[str]
    path: str
    port: int
    host: str
    scheme: Literal["HTTP", "HTTPS"]
    httpHeaders: list[dict[str, str]]


class ProbeRun(_HandlerRun, total=False):
    """A Kubernetes probe, ports resolved to numbers; the node's supervisor runs it."""

    #: exec, httpGet, tcpSocket (``port``, ``host``) or grpc (``port``, ``service``).
    handler: Literal["exec", "httpGet", "tcpSocket", "grpc"]
    #: grpc only: the ``HealthCheckRequest.service`` asked about ("" is the whole server).
    service: str
    initialDelaySeconds: int
    timeoutSeconds: int
    periodSeconds: int
    successThreshold: int
    failureThreshold: int


class SecurityRun(TypedDict, total=False):
    """A container's effective security context (the pod's, overridden by the container's)."""

    runAsUser: int
    runAsGroup: int
    #: Refuse to start (CreateContainerConfigError) when the user would be root or unknown.
    runAsNonRoot: bool
    #: Extra groups: the pod's fsGroup, then its supplementalGroups.
    groups: list[int]
    readOnlyRootFilesystem: bool
    privileged: bool
    #: allowPrivilegeEscalation: false.
    noNewPrivileges: bool
    #: Capability names without ``CAP_`` (or ``ALL``).
    capAdd: list[str]
    capDrop: list[str]
    seccomp: Literal["RuntimeDefault", "Unconfined"]
    #: RuntimeDefault, Unconfined, or the name of a profile loaded on the node.
    appArmor: str
    #: SELinux label parts (user, role, type, level); ignored where SELinux is off.
    seLinux: dict[str, str]


class HookRun(_HandlerRun, total=False):
    """A lifecycle hook, ports resolved to numbers; the agent runs it."""

    #: exec, httpGet or sleep (``seconds``).
    handler: Literal["exec", "httpGet", "sleep"]
    seconds: int


class DNSRun(TypedDict, total=False):
    """The pod's resolv.conf: "Default" adds to the node's, "None" is exactly this,
    "ClusterFirst" is kubelet's for the cluster DNS (``nameserver`` the request's
    ``network.dnsIP``, ``search <ns>.svc.<domain> svc.<domain> <domain>`` then the node's,
    ``options ndots:5``), these fields added as to Default. Without a ``network.dnsIP`` in
    the request, ClusterFirst is Default (kubelet's fallback when it has no cluster DNS)."""

    policy: Literal["Default", "None", "ClusterFirst"]
    nameservers: list[str]
    searches: list[str]
    #: "name" or "name:value", as resolv.conf's options line.
    options: list[str]


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
    #: Read-write (unless ``readOnly``) mounts of the pod's ``volumes`` (emptyDir).
    mounts: list[MountRun]
    livenessProbe: ProbeRun
    readinessProbe: ProbeRun
    startupProbe: ProbeRun
    #: Init containers only: "Always" makes it a sidecar (KEP-753), started in order and
    #: kept running beside the app containers instead of run to completion.
    restartPolicy: Literal["Always"]
    security: SecurityRun
    #: Run right after the container starts; a failure kills it (FailedPostStartHook).
    postStart: HookRun
    #: Run before the container is stopped, within the pod's termination grace period.
    preStop: HookRun


class PodRun(TypedDict, total=False):
    uid: str
    name: str
    namespace: str
    #: Hash of the declared spec and mount layout; a pod whose hash changed is replaced.
    hash: str
    #: Hash of the volume files' contents; when only it changed, the agent rewrites the
    #: files in place (atomic ``..data`` swap) and the pod keeps running.
    filesHash: str
    owner: str
    restartPolicy: Literal["Always", "OnFailure", "Never"]
    #: Seconds between SIGTERM and SIGKILL when the pod is removed (default 30, as Kubernetes).
    terminationGracePeriodSeconds: int
    hostname: str
    #: Run one at a time, in order, each to exit code 0 (sidecars: until started) before
    #: any of ``containers`` is created; the supervisor and every converge advance them.
    initContainers: list[ContainerRun]
    containers: list[ContainerRun]
    volumes: list[VolumeRun]
    #: Group owning the pod's volumes (their files group-readable, directories setgid).
    fsGroup: int
    #: Namespaced sysctls of the pod (Kubernetes' safe set), set on its sandbox.
    sysctls: dict[str, str]
    #: Absent: the node's resolv.conf as podman writes it.
    dns: DNSRun
    #: The pod's spec.subdomain (its FQDN is <hostname>.<subdomain>.<ns>.svc.<domain>).
    subdomain: str
    #: enableServiceLinks (default true): the agent gives containers ``<SVC>_SERVICE_HOST``,
    #: ``<SVC>_SERVICE_PORT`` and the Docker-link variables of the Services in the pod's
    #: namespace in ``network.services`` when it creates them, as kubelet does. Not part of
    #: ``hash``: a Service appearing later does not replace running pods (nor in Kubernetes).
    enableServiceLinks: bool


class TerminationReport(TypedDict, total=False):
    """How a container's previous run ended (Kubernetes' lastState.terminated)."""

    exitCode: int
    #: Completed, Error, OOMKilled (or why the supervisor killed it: a failed probe).
    reason: str
    message: str
    startedAt: str
    finishedAt: str
    containerID: str


class ContainerReport(TypedDict, total=False):
    name: str
    #: "podman://<id>"; absent while the container does not exist yet.
    containerID: str
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
    #: False while a startup probe has not passed yet (absent: no startup probe).
    started: bool
    #: The previous run, once the supervisor restarted the container.
    lastState: TerminationReport
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
    restartPolicy: str
    terminationGracePeriodSeconds: int
    #: The runtime's sandbox (podman's pod infra container) id.
    sandboxID: str
    #: In spec order; absent when the pod has none.
    initContainers: list[ContainerReport]
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
    #: Image name → size in bytes, where the runtime knows it (the scheduler's ImageLocality).
    imageSizes: dict[str, int]
    #: The node's clock (RFC 3339), for skew diagnostics.
    time: str
    #: The node's own IPv4 addresses (not loopback, not its pod networks' gateways), the
    #: default route's first: Node status.addresses (InternalIP). Other nodes' routes to its
    #: pods go via the inventory's ``address`` when it is one of these, else via the first
    #: (a node reached over SSH through a forwarded port or a name, as the test nodes are).
    addresses: list[str]
    #: Where the agent keeps the directories of local-path volumes (absolute).
    storageRoot: str


class NodeReport(TypedDict, total=False):
    node: str
    facts: NodeFacts
    pods: list[PodReport]
    #: Human-readable events from this request ("started web-1/web", "pull failed ...") and,
    #: on converge, what the supervisor journaled since the last one. Each has ``type``
    #: (Normal/Warning), ``reason``, ``message`` and, where they apply, ``pod`` ("ns/name"),
    #: ``container``, ``image``; journaled ones also ``time`` (RFC 3339, the node's clock, last
    #: seen), ``count`` (sightings) and ``firstTime`` (first seen, once seen twice).
    events: list[dict[str, Any]]
    #: On converge and observe: the node's networking in force (absent: none programmed).
    network: netprotocol.NetworkReport
    #: On converge and observe: the claim volumes (directories) the agent made and keeps.
    volumes: list[str]


class Request(TypedDict, total=False):
    op: Literal["info", "observe", "converge", "load-image", "logs"]
    #: PROTOCOL_VERSION of the sender; a mismatch is refused (re-ship the agent).
    protocol: int
    cluster: str
    node: str
    runtime: RuntimeConfig
    #: Overrides ``runtime.state_dir``.
    state_dir: str
    # converge
    pods: list[PodRun]
    # converge and observe (optional): the node's networking, programmed before answering
    network: netprotocol.NetworkRun
    # converge (optional): claim volumes to delete (reclaimPolicy Delete); only directories
    # the agent made for claims, and no pod of ``pods`` may still mount them
    removeVolumes: list[str]
    # observe
    stats: bool
    # load-image
    path: str
    # logs
    pod_uid: str
    container: str
    tail: int


class Response(TypedDict, total=False):
    ok: bool
    error: str
    #: True when retrying the same request will not help.
    permanent: bool
    report: NodeReport
    missing_images: list[str]
    created: list[str]
    removed: list[str]
    loaded: list[str]
    logs: str
