"""The node agent's entry point: one request in, one response out (see ``protocol.py``).

``handle`` validates the request, picks the runtime (``runtimes.kinds``) and runs one op,
speaking to the runtime only through its interface (``runtimes.base``). Observe and
converge first program the request's ``network`` (``network.apply``: pod network, routes,
Services, DNS) where the runtime runs on the host. Converge records the desired pods in the
state directory (so the node-resident supervisor keeps healing without the control plane),
then plans and executes under the node's agent lock; it keeps the claim directories its
pods mount and removes those the request's ``removeVolumes`` names (``volumes.py``).
Observe and converge start the supervisor when it is not running (a simulated node has
none: converge takes one of its looks first), and lay its records (restart counts, last
terminations, probe results) over what the runtime shows; converge also hands over the
supervisor's event journal (probe failures, kills, back-offs), observe never does.
Failures come back as ``{"ok": false, "error": ..., "permanent": ...}``: a bad request is
permanent, a runtime hiccup is not.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import (
    converge,
    dnsserver,
    fencing,
    files,
    healing,
    identity,
    netcheck,
    netprotocol,
    network,
    protocol,
    reports,
    state,
    supervisor,
    volumes,
)
from .runtimes import base, kinds

_UID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_IMAGE = re.compile(r"[A-Za-z0-9][^\s]*")


class BadRequest(ValueError):
    """The request itself is wrong; sending it again will not help."""


#: Work that may wait until the answer is sent (``handle``'s ``later``).
Later = list[Callable[[], None]]


def handle(request: dict[str, Any], *, runtime: base.Runtime | None = None,
           later: Later | None = None) -> dict[str, Any]:
    """Answer one request; ``runtime`` replaces the configured one (in-process sim nodes).

    With ``later`` (a session), work the answer does not depend on — starting the node's
    supervisor, a few tenths of a second — is appended there to run once the answer is out,
    instead of holding the answer back.
    """
    try:
        return _dispatch(request, runtime, later)
    except (BadRequest, state.NameRefused) as exc:
        return {"ok": False, "error": str(exc), "permanent": True}
    except fencing.Fenced as exc:
        return {"ok": False, "error": str(exc), "permanent": True, "fenced": True}
    except base.RuntimeFailure as exc:
        return {"ok": False, "error": str(exc), "permanent": exc.permanent}


def _dispatch(request: dict[str, Any], rt: base.Runtime | None,
              later: Later | None) -> dict[str, Any]:
    if not isinstance(request, dict):
        raise BadRequest("The agent expects one JSON object per request.")
    version = request.get("protocol", protocol.PROTOCOL_VERSION)
    if version != protocol.PROTOCOL_VERSION:
        raise BadRequest(
            f"This agent speaks protocol {protocol.PROTOCOL_VERSION} but the request uses "
            f"{version}; ship the control plane's agent to the node again."
        )
    op = request.get("op")
    cluster = state.check_name("cluster", request.get("cluster"))
    node = state.check_name("node", request.get("node"))
    config: protocol.RuntimeConfig = request.get("runtime") or {}
    where = request.get("state_dir") or config.get("state_dir")
    path = Path(os.path.expanduser(where)) if where else state.default_dir(cluster, node)
    try:
        fencing.admit(path, request.get("term"))
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    if rt is None:
        rt = kinds.make(config, path, node)
    node_state = state.StateDir(path, memory=rt.state_memory)
    if op == "info":
        return {"ok": True, "report": protocol.NodeReport(node=node,
                                                          facts=_facts(rt, node_state))}
    if op == "observe":
        net = _network(rt, cluster, node, node_state, request)
        report = _observe(rt, cluster, node, node_state, request)
        if net is not None:
            report["network"] = net
        _after(later, lambda: _supervise(rt, cluster, node, config, node_state))
        return {"ok": True, "report": report}
    if op == "converge":
        desired = _desired(request)
        removals = _removals(request)
        net = _network(rt, cluster, node, node_state, request)
        _heal_here(rt, cluster, node_state)
        answer = _converge(rt, cluster, node, node_state, desired)
        kept, events = _claim_volumes(rt, node_state, desired, removals)
        report = answer["report"]
        report["volumes"] = kept
        report["events"] = [*report.get("events", []), *events]
        if net is not None:
            answer["report"]["network"] = net
        _after(later, lambda: _supervise(rt, cluster, node, config, node_state))
        return answer
    if op == "load-image":
        return _load_image(rt, request)
    if op == "logs":
        uid, container = request.get("pod_uid"), request.get("container")
        if not isinstance(uid, str) or not isinstance(container, str):
            raise BadRequest("A logs request needs 'pod_uid' and 'container'.")
        text = rt.logs(cluster, uid, container, int(request.get("tail", -1)))
        return {"ok": True, "logs": text}
    raise BadRequest(
        f"Unknown op {op!r}; the agent knows info, observe, converge, load-image and logs."
    )


def _network(rt: base.Runtime, cluster: str, node: str, node_state: state.StateDir,
             request: dict[str, Any]) -> netprotocol.NetworkReport | None:
    """Program the request's ``network`` (before pods are made: they join its pod network)."""
    if "network" not in request:
        return None
    try:
        run = netcheck.check(request["network"])
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if not rt.runs_on_host or node_state.memory is not None:
        # A simulated node has no kernel of its own to program: it takes the network as is.
        return netprotocol.NetworkReport(hash=network.digest(run), podCIDR=run["podCIDR"])
    try:
        with node_state.lock():
            report, changed = network.apply(run, cluster=cluster, node=node,
                                            state_dir=node_state.path, runtime=rt)
    except (network.NetworkFailure, base.RuntimeFailure) as exc:
        return netprotocol.NetworkReport(podCIDR=run["podCIDR"], errors=[str(exc)])
    why = dnsserver.ensure(node_state.path, network.gateway(run["podCIDR"]), reload=changed)
    if why:
        report["errors"] = [*report.get("errors", []), why]
    return report


def _after(later: Later | None, work: Callable[[], None]) -> None:
    if later is None:
        work()
    else:
        later.append(work)


def _heal_here(rt: base.Runtime, cluster: str, node_state: state.StateDir) -> None:
    """A node with no resident supervisor (a simulated one) heals when it is converged (every
    pass converges every node): one of the supervisor's looks (restarts, init steps, probes)
    on the runtime's clock, first."""
    if not rt.runs_on_host:
        supervisor.Supervisor(node_state, rt, cluster, now=rt.now).tick()


def _supervise(rt: base.Runtime, cluster: str, node: str, config: protocol.RuntimeConfig,
               node_state: state.StateDir) -> None:
    """Keep the node's supervisor running while there is something to heal (a simulated
    node has none: ``_heal_here``)."""
    if not rt.runs_on_host or node_state.memory is not None:
        return
    if not node_state.read_desired():
        return
    node_state.write_runtime({"cluster": cluster, "node": node, "runtime": dict(config)})
    supervisor.ensure(node_state.path)


def _observe(
    rt: base.Runtime,
    cluster: str,
    node: str,
    node_state: state.StateDir,
    request: dict[str, Any],
) -> protocol.NodeReport:
    pods = rt.list_pods(cluster)
    waiting = node_state.read_waiting().get("containers", {})
    desired = node_state.read_desired()
    pods = reports.fill_missing(desired, pods, waiting)
    healing.merge(pods, desired, node_state.read_health())
    if request.get("stats"):
        reports.apply_stats(pods, rt.stats(cluster))
    # The node's facts ride along: they are the heartbeat and the capacity the scheduler needs,
    # and the image list that tells the control plane what to ship before a converge.
    return protocol.NodeReport(node=node, facts=_facts(rt, node_state), pods=pods,
                               volumes=node_state.read_volumes())


def _facts(rt: base.Runtime, node_state: state.StateDir) -> protocol.NodeFacts:
    facts = rt.facts()
    facts["time"] = reports.rfc3339(time.time())
    facts["storageRoot"] = str((node_state.path / "storage").absolute())
    if rt.runs_on_host:  # a real machine: its own addresses
        facts["addresses"] = network.addresses()
    return facts


def _desired(request: dict[str, Any]) -> list[protocol.PodRun]:
    pods = request.get("pods")
    if not isinstance(pods, list):
        raise BadRequest("A converge request needs 'pods', a list (empty to remove every pod).")
    uids: set[str] = set()
    keys: set[str] = set()
    for index, pod in enumerate(pods):
        where = f"pods[{index}]"
        if not isinstance(pod, dict) or not pod.get("uid") or not pod.get("name"):
            raise BadRequest(f"{where} needs a 'uid' and a 'name'.")
        pod.setdefault("namespace", "default")
        # These end up in runtime names, argv and paths on the node: only plain names pass.
        for field, pattern in (("uid", _UID), ("name", _SUBDOMAIN), ("namespace", _LABEL)):
            if not isinstance(pod[field], str) or not pattern.fullmatch(pod[field]):
                raise BadRequest(f"{where} has an invalid {field} {pod[field]!r}.")
        key = identity.key(pod)
        if pod["uid"] in uids or key in keys:
            raise BadRequest(f"{where} ({key}) is listed twice; each pod must appear once.")
        uids.add(pod["uid"])
        keys.add(key)
        containers = pod.get("containers")
        if not isinstance(containers, list) or not containers:
            raise BadRequest(f"{where} ({key}) needs at least one container.")
        inits = pod.get("initContainers", [])
        if not isinstance(inits, list):
            raise BadRequest(f"{where} ({key}) has 'initContainers' that is not a list.")
        _check_volumes(pod, f"{where} ({key})")
        containers = [*inits, *containers]
        for container in containers:
            name = container.get("name") if isinstance(container, dict) else None
            image = container.get("image") if isinstance(container, dict) else None
            if not isinstance(name, str) or not _LABEL.fullmatch(name):
                raise BadRequest(f"{where} ({key}) has a container with an invalid name {name!r}.")
            if not isinstance(image, str) or not _IMAGE.fullmatch(image):
                raise BadRequest(
                    f"{where} ({key}) container {name} has an invalid image {image!r}."
                )
        names = [c["name"] for c in containers]
        if len(set(names)) != len(names):
            raise BadRequest(f"{where} ({key}) has two containers with the same name.")
    return pods


def _check_volumes(pod: dict[str, Any], where: str) -> None:
    """Volume names become paths and runtime volume names on the node: only plain ones; a
    hostPath names an absolute path."""
    listed = pod.get("volumes", [])
    if not isinstance(listed, list):
        raise BadRequest(f"{where} has 'volumes' that is not a list.")
    for volume in listed:
        name = volume.get("name") if isinstance(volume, dict) else None
        if not isinstance(name, str) or not _LABEL.fullmatch(name):
            raise BadRequest(f"{where} has a volume with an invalid name {name!r}.")
        kind = volume.get("kind", "emptyDir")
        if kind not in ("emptyDir", "hostPath"):
            raise BadRequest(f"{where} volume {name} has an unknown kind {kind!r}; this agent "
                             "knows emptyDir and hostPath.")
        if kind == "hostPath" and not _absolute(volume.get("path")):
            raise BadRequest(f"{where} volume {name} needs an absolute 'path' without '..'.")


def _absolute(path: object) -> bool:
    return isinstance(path, str) and path.startswith("/") and ".." not in path.split("/")


def _removals(request: dict[str, Any]) -> list[str]:
    asked = request.get("removeVolumes", [])
    if not isinstance(asked, list) or not all(_absolute(p) for p in asked):
        raise BadRequest("'removeVolumes' must be a list of absolute paths without '..'.")
    return [str(p) for p in asked]


def _claim_volumes(rt: base.Runtime, node_state: state.StateDir,
                   desired: list[protocol.PodRun], removals: list[str]
                   ) -> tuple[list[str], list[dict[str, Any]]]:
    """Keep the claim directories of the desired pods and remove those asked for: (the
    directories kept, events saying what was removed or refused)."""
    on_disk = rt.runs_on_host and node_state.memory is None
    with node_state.lock():
        held = set(node_state.read_volumes()) | volumes.claim_dirs(desired)
        removed, refused = volumes.remove(held, removals, desired, on_disk=on_disk)
        node_state.write_volumes(held - set(removed))
        kept = node_state.read_volumes()
    events = [{"type": "Normal", "reason": "VolumeDeleted", "message": f"removed {path}"}
              for path in removed]
    events += [{"type": "Warning", "reason": "VolumeFailedDelete", "message": why}
               for why in refused]
    return kept, events


def _converge(
    rt: base.Runtime,
    cluster: str,
    node: str,
    node_state: state.StateDir,
    desired: list[protocol.PodRun],
) -> dict[str, Any]:
    with node_state.lock():
        node_state.write_desired(cluster, node, desired)
        waiting = node_state.read_waiting()
        before = rt.list_pods(cluster, details=False)
        # Sidecars count as started once their startup probe passed (the supervisor's
        # record): the next init container waits for that.
        healing.merge(before, desired, node_state.read_health())
        outcome = converge.execute(rt, cluster, desired, before, waiting, now=time.time())
        after = rt.list_pods(cluster)
        converge.prune_waiting(waiting, desired, after)
        node_state.write_waiting(waiting)
        if node_state.memory is None:
            for uid in _forget_gone_pods(node_state.path, desired, after):
                rt.forget_pod(cluster, uid)  # a pod removed by hand left them
            # ConfigMap/Secret volumes that changed are rewritten under running containers.
            for key in files.refresh(node_state.path, desired, after):
                outcome.event("Normal", "FilesUpdated",
                              "updated its ConfigMap/Secret volume files in place", pod=key)
        # What the supervisor did since the last converge; best-effort like Kubernetes'
        # events: once in this answer they are the control plane's (observe never drains).
        journaled = node_state.drain_events()
    pods = reports.fill_missing(desired, after, waiting.get("containers", {}))
    healing.merge(pods, desired, node_state.read_health())
    return {
        "ok": True,
        "report": protocol.NodeReport(node=node, pods=pods,
                                      events=[*journaled, *outcome.events]),
        "missing_images": sorted(set(outcome.missing_images)),
        "created": outcome.created,
        "removed": outcome.removed,
    }


def _forget_gone_pods(
    state_dir: Path, desired: list[protocol.PodRun], actual: list[protocol.PodReport]
) -> list[str]:
    """Remove what the agent kept for pods gone from the node (files, emptyDirs); their uids."""
    keep = {pod.get("uid") for pod in desired} | {pod["uid"] for pod in actual}
    pods_dir = state_dir / "pods"
    gone: list[str] = []
    if pods_dir.is_dir():
        for entry in pods_dir.iterdir():
            if entry.name not in keep:
                files.forget_pod(state_dir, entry.name)
                gone.append(entry.name)
    return gone


def _load_image(rt: base.Runtime, request: dict[str, Any]) -> dict[str, Any]:
    path = request.get("path")
    if not isinstance(path, str) or not os.path.isfile(path):
        raise BadRequest(f"load-image needs 'path', an image archive on the node; {path!r} is not.")
    try:
        loaded = rt.load_image(path)
    finally:
        os.unlink(path)
    return {"ok": True, "loaded": loaded}
