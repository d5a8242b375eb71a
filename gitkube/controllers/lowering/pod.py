"""A Pod (plus the ConfigMaps and Secrets it names) → the agent's ``PodRun``, and its hashes.

The entry point of lowering (``lower_pod``), called by ``nodesync`` and by the pass
that converges nodes. Two hashes tell the agent what changed. ``hash``
(``spec_hash``) covers the pod as declared plus where volumes are mounted: when it
changes the pod is replaced. It leaves out the values resolved from ConfigMaps and
Secrets, because Kubernetes resolves env at container start and never restarts a pod
for a changed value (a Deployment rolls instead: ``controllers/confighash``).
``filesHash`` covers the volume files' paths, modes and contents: when only it
changes, the agent rewrites the volume in place and the containers keep running.

Both hashes are what pods already running on nodes carry: changing what goes into
them replaces every running pod after an upgrade (tests/controllers/test_lowering_recorded
holds recorded outputs to catch that).
"""

from __future__ import annotations

from typing import Any

from gitkube.agent import protocol
from gitkube.api import core, hashing, names, pods
from gitkube.controllers.lowering import containers, refs, security, volumes
from gitkube.planning.snapshot import Snapshot


def lower_pod(pod: core.Pod, snapshot: Snapshot) -> protocol.PodRun:
    spec = pod.spec
    found = refs.Refs(snapshot, pod.namespace)
    by_name = {v.name: v for v in spec.volumes}
    run: protocol.PodRun = {
        "uid": pod.metadata.uid or "",
        "name": pod.name,
        "namespace": pod.namespace,
        "restartPolicy": spec.restart_policy or "Always",
        "hostname": spec.hostname or names.pod_hostname(pod.name),
        "terminationGracePeriodSeconds": spec.termination_grace_period_seconds,
        "containers": [containers.lower_container(c, pod, found, by_name)
                       for c in spec.containers],
    }
    inits = [containers.lower_container(c, pod, found, by_name) for c in spec.init_containers]
    if inits:
        run["initContainers"] = inits
    on_node = [made for v in by_name.values()
               if (made := volumes.node_volume(v, found)) is not None]
    if on_node:
        run["volumes"] = on_node
    security.lower_pod_security(spec, run)
    dns = lower_dns(spec)
    if dns is not None:
        run["dns"] = dns
    if spec.subdomain:
        run["subdomain"] = spec.subdomain
    if spec.enable_service_links is False:
        run["enableServiceLinks"] = False
    owner = pod.controller_ref()
    if owner is not None:
        run["owner"] = f"{owner.kind}/{owner.name}"
    run["hash"] = spec_hash(spec, run)
    run["filesHash"] = files_hash(run)
    return run


def lower_dns(spec: core.PodSpec) -> protocol.DNSRun | None:
    """The pod's resolver settings, or None for the node's own (podman's default).

    ClusterFirst (the default) and ClusterFirstWithHostNet (the same without host
    networking) are ClusterFirst: the agent writes kubelet's resolv.conf for its node's
    cluster DNS, or the node's own where there is none (kubelet's fallback).
    """
    policy = spec.dns_policy or "ClusterFirst"
    config = spec.dns_config
    if config is None and policy == "Default":
        return None
    config = config or pods.PodDNSConfig()
    out = protocol.DNSRun(policy="Default" if policy == "Default" else
                          "None" if policy == "None" else "ClusterFirst")
    if config.nameservers:
        out["nameservers"] = list(config.nameservers)
    if config.searches:
        out["searches"] = list(config.searches)
    options = [o.name if o.value is None else f"{o.name}:{o.value}" for o in config.options]
    if options:
        out["options"] = options
    return out


def spec_hash(spec: core.PodSpec, run: protocol.PodRun) -> str:
    """What forces a replace: the declared spec, the owner and the volume mounts' layout."""
    declared = {k: v for k, v in spec.to_dict().items() if k != "nodeName"}
    everyone = [*run.get("initContainers", []), *run.get("containers", [])]
    mounts = sorted({
        (c.get("name", ""), f.get("volume", ""), f.get("mountPath", ""))
        for c in everyone for f in c.get("files", [])
    })
    content: dict[str, Any] = {"spec": declared, "owner": run.get("owner", ""), "mounts": mounts}
    # Only when present, so the hash of a pod without them (and its running copy) stays put.
    scratch = sorted(
        (c.get("name", ""), m.get("volume", ""), m.get("mountPath", ""),
         bool(m.get("readOnly")), m.get("subPath", ""))
        for c in everyone for m in c.get("mounts", [])
    )
    if scratch or run.get("volumes"):
        content["scratch"] = {"mounts": scratch, "volumes": run.get("volumes", [])}
    return hashing.stable_hash(content, length=12)


def files_hash(run: protocol.PodRun) -> str:
    """What the agent may update in place: every volume file's path, mode and content."""
    files = {c.get("name", ""): c.get("files", []) for c in run.get("containers", [])}
    for c in run.get("initContainers", []):
        files[f"init:{c.get('name', '')}"] = c.get("files", [])
    return hashing.stable_hash(files, length=12)
