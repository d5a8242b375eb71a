"""The runtime interface: everything the agent asks of the container engine on its node.

The handler, converge, the supervisor, probes and hooks speak only to ``Runtime``, so podman
(``podman.py``), containerd (``containerd.py``) and the in-memory simulator (``sim.py``) are
interchangeable; ``kinds.make`` picks one from the request's ``runtime.kind``. A runtime
touches nothing that does not carry its cluster's label (``identity.LABEL_CLUSTER``) and
names everything with ``identity``'s deterministic names.

What a runtime implements (abstract here):

- observing: ``facts``, ``list_pods`` (PodReports built with ``reports.pods_from``),
  ``logs``, and optionally ``stats``;
- changing: ``create_pod`` (only what ``containers_to_create`` says is due now, in order),
  ``remove_pod`` (preStop hooks through ``run_pre_stops`` first), ``forget_pod``, and
  ``pod_network`` (the cluster's pod network on the node's podCIDR, for ``network.py``);
- images: ``has_image``, ``pull_image``, ``load_image``;
- one container, for the supervisor, hooks and probes: ``start_container``,
  ``stop_container``, ``exec_in``, ``container_pids``, ``was_oom_killed``; and ``gone``
  (its storage was removed: nothing left to heal).

What it inherits, kubelet's rules built on those (concrete here): ``containers_to_create``,
``post_start``, ``kill_container`` (preStop, then stop), ``restart_container`` (start, then
postStart), ``run_pre_stops``, ``network_probe`` and ``run_probes``, and the events the hooks
leave (``take_events``).
"""

from __future__ import annotations

import abc
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Sequence
from typing import Any

from .. import hooks, identity, initsteps, probing, protocol, reports

#: kubelet's reason for a container whose configuration cannot run (runAsNonRoot and root).
CONFIG_ERROR = "CreateContainerConfigError"
#: Probes run at once, at most this many at a time.
PROBE_WORKERS = 8

#: (container id, probe, pod IP): one probe the supervisor wants run.
ProbeTarget = tuple[str, protocol.ProbeRun, str]
#: (passed, output) of one probe or hook.
Result = tuple[bool, str]


class RuntimeFailure(Exception):
    """A runtime operation failed; ``permanent`` says whether retrying can help."""

    reason = "CreateContainerError"

    def __init__(self, message: str, *, permanent: bool = False, container: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        #: The container being created when it failed, if any.
        self.container = container


class ConfigRefused(RuntimeFailure):
    """The container may not start as configured (kubelet's CreateContainerConfigError)."""

    reason = CONFIG_ERROR


class Runtime(abc.ABC):
    """A container engine on one node, seen through gitkube's labels."""

    #: "podman", "sim", ... (reported in NodeFacts.runtime).
    kind: str = ""
    #: A runtime that lives in memory keeps the agent's state files in this dict too.
    state_memory: dict[str, Any] | None = None
    #: Whether converge should run this runtime's slow calls on several threads.
    parallel: bool = True
    #: Whether the containers run on this machine (its kernel, network and processes): then
    #: the node's network is programmed for them, the machine's addresses are reported and
    #: the resident supervisor heals them. A simulated node's exist only as data, on the
    #: runtime's clock, and heal when the node is converged (the handler's ``_heal_here``).
    runs_on_host: bool = True

    def __init__(self) -> None:
        #: Events of lifecycle hooks (FailedPostStartHook...) until ``take_events``.
        self._events: list[dict[str, Any]] = []
        self._events_lock = threading.Lock()

    # -- observing ----------------------------------------------------------------------------

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
    def logs(self, cluster: str, uid: str, container: str, tail: int) -> str:
        """The last ``tail`` lines a container wrote (``tail`` < 0: everything)."""

    def stats(self, cluster: str) -> dict[str, tuple[int, int]]:
        """Resource use by container id (a prefix of the reported ``containerID``): (cpu
        millicores, memory bytes); may be slow, so observe asks only when told to."""
        return {}

    # -- changing -----------------------------------------------------------------------------

    @abc.abstractmethod
    def create_pod(self, cluster: str, pod: protocol.PodRun, *,
                   existing: protocol.PodReport | None = None) -> None:
        """Create ``pod`` (its sandbox unless ``existing`` has one) and start the containers
        ``containers_to_create`` answers, in that order, each with its postStart hook.

        ``existing`` is the same pod (same uid and hash) as last listed: only what it lacks
        is created, which resumes an interrupted converge and takes init steps.
        """

    @abc.abstractmethod
    def remove_pod(self, cluster: str, uid: str, grace_seconds: int) -> None:
        """Stop (preStop hooks, SIGTERM, SIGKILL after ``grace_seconds``) and remove a pod."""

    @abc.abstractmethod
    def forget_pod(self, cluster: str, uid: str) -> None:
        """Remove what the runtime keeps for a pod no longer on the node (removed by hand)."""

    @abc.abstractmethod
    def pod_network(self, cluster: str, subnet: str, gateway: str) -> list[str]:
        """Make the cluster's pod network on ``subnet`` (the node's podCIDR; the node's side
        is ``gateway``), unless it is there; answers what stands in the way, in sentences."""

    # -- images -------------------------------------------------------------------------------

    @abc.abstractmethod
    def has_image(self, ref: str) -> bool: ...

    @abc.abstractmethod
    def pull_image(self, ref: str) -> None:
        """Pull ``ref``; raise RuntimeFailure when the registry cannot deliver it."""

    @abc.abstractmethod
    def load_image(self, path: str) -> list[str]:
        """Load an image archive (``podman save`` format); return the refs it held."""

    # -- one container (the supervisor, hooks and probes) ------------------------------------

    @abc.abstractmethod
    def start_container(self, container_id: str) -> None:
        """Start an exited container again (same id, same mounts)."""

    @abc.abstractmethod
    def stop_container(self, container_id: str, grace_seconds: int) -> None:
        """SIGTERM, then SIGKILL after ``grace_seconds``."""

    @abc.abstractmethod
    def exec_in(self, container_id: str, command: list[str], timeout: float) -> Result:
        """Run ``command`` in the container; passes on exit code 0 within ``timeout``."""

    @abc.abstractmethod
    def container_pids(self, container_ids: list[str]) -> dict[str, int]:
        """Main process pid per running container id (probes enter its network namespace)."""

    @abc.abstractmethod
    def was_oom_killed(self, container_id: str) -> bool:
        """Whether the container's last run ended in the kernel's OOM killer."""

    def gone(self) -> bool:
        """Whether the runtime's storage is gone (a test's, a node reset by hand)."""
        return False

    def now(self) -> float:
        """The runtime's clock (a simulated node's may be driven by a test)."""
        return time.time()

    def pause(self, seconds: float) -> None:
        """Wait, as a ``sleep`` hook does."""
        time.sleep(seconds)

    # -- kubelet's rules on those -------------------------------------------------------------

    def containers_to_create(self, cluster: str, pod: protocol.PodRun,
                             existing: protocol.PodReport | None
                             ) -> list[tuple[protocol.ContainerRun, identity.Labels]]:
        """The containers to create now (``initsteps.creatable``), in order, with labels."""
        wanted = set(initsteps.creatable(pod, existing))
        return [(spec, identity.container_labels(cluster, pod, spec))
                for spec in initsteps.all_containers(pod) if spec.get("name") in wanted]

    def post_start(self, container_id: str, spec: protocol.ContainerRun,
                   pod: identity.Identity, grace: int) -> bool:
        """Run the container's postStart hook; a failure kills it (kubelet's
        FailedPostStartHook) and its restart policy decides what comes next."""
        hook = spec.get("postStart")
        if not hook:
            return True
        ok, output = hooks.run(hook, container_id, hooks.POST_START_TIMEOUT, self)
        if ok:
            return True
        name = spec.get("name", "")
        self.record_event("FailedPostStartHook", hooks.failure_message(
            hook, name, identity.kubelet_name(pod), output), pod, name)
        with contextlib.suppress(RuntimeFailure):
            self.kill_container(container_id, spec, grace, pod)
        return False

    def kill_container(self, container_id: str, spec: protocol.ContainerRun, grace: int,
                       pod: identity.Identity) -> None:
        """Stop one container as kubelet's killContainer: its preStop hook, then SIGTERM,
        then SIGKILL once the grace left is over (a failed probe or postStart hook)."""
        hook = spec.get("preStop")
        if hook and grace > 0:
            grace, failed = hooks.pre_stop(hook, container_id, grace, self)
            if failed is not None:
                name = spec.get("name", "")
                self.record_event("FailedPreStopHook", hooks.failure_message(
                    hook, name, identity.kubelet_name(pod), failed), pod, name)
        self.stop_container(container_id, grace)

    def restart_container(self, container_id: str, spec: protocol.ContainerRun,
                          pod: identity.Identity, grace: int) -> bool:
        """Start an exited container again and run its postStart hook (False: the hook
        failed and the container was killed again)."""
        self.start_container(container_id)
        return self.post_start(container_id, spec, pod, grace)

    def run_pre_stops(self, running: Sequence[tuple[str, identity.Labels]], grace: int) -> int:
        """Run the preStop hooks of a pod's running containers (id, labels) at once, as
        kubelet's killPod does; answers the grace left for stopping them."""
        if grace <= 0:
            return grace
        due = [(cid, hook, labels) for cid, labels in running
               for hook in [identity.pre_stop_of(labels)] if hook is not None]
        if not due:
            return grace

        def failed(hook: protocol.HookRun, labels: dict[str, str], output: str) -> None:
            pod = identity.from_labels(labels)
            container = labels.get(identity.LABEL_CONTAINER, "")
            self.record_event("FailedPreStopHook", hooks.failure_message(
                hook, container, identity.kubelet_name(pod), output), pod, container)

        return hooks.pre_stop_all(due, grace, self, failed)

    def network_probe(self, container_id: str, probe: protocol.ProbeRun, pod_ip: str,
                      pid: int | None = None) -> Result:
        """An httpGet, tcpSocket or grpc probe (or hook) from inside the pod's network."""
        if pid is None:
            pid = self.container_pids([container_id]).get(container_id, 0)
        return probing.run_network_probe(probe, pid, pod_ip)

    def run_probes(self, due: Sequence[ProbeTarget]) -> list[Result]:
        """Run probes at once (the supervisor's due ones), results in the same order."""
        if not due:
            return []
        network = [cid for cid, probe, _ in due if probe.get("handler") != "exec"]
        pids = self.container_pids(network) if network else {}

        def run(item: ProbeTarget) -> Result:
            cid, probe, pod_ip = item
            if probe.get("handler") == "exec":
                return self.exec_in(cid, probe.get("command", []),
                                    float(probe.get("timeoutSeconds", 1)))
            return self.network_probe(cid, probe, pod_ip, pids.get(cid, 0))

        with concurrent.futures.ThreadPoolExecutor(min(PROBE_WORKERS, len(due))) as pool:
            return list(pool.map(run, due))

    # -- events -------------------------------------------------------------------------------

    def record_event(self, reason: str, message: str, pod: identity.Identity,
                     container: str) -> None:
        """A Warning about one container (a failed hook), until ``take_events``."""
        with self._events_lock:
            self._events.append({"type": "Warning", "reason": reason, "message": message,
                                 "pod": identity.key(pod), "container": container,
                                 "time": reports.rfc3339(self.now())})

    def take_events(self) -> list[dict[str, Any]]:
        """Hand over (and forget) the events recorded since the last call."""
        with self._events_lock:
            taken, self._events = self._events, []
        return taken
