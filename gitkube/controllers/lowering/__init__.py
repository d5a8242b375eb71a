"""Lowering: a Pod (plus the ConfigMaps and Secrets it names) → the agent's ``PodRun``.

The agent knows nothing of Kubernetes objects; it runs ``PodRun`` dicts
(``gitkube.agent.protocol``). Everything that needs the store is resolved here, from
the typed models of ``gitkube.api``, one seam per module:

    pod.py          lower_pod (the entry point), DNS, the spec and files hashes
    containers.py   one container: image, command/args, ports, resources, and the rest below
    environment.py  env in Kubernetes' order (envFrom, then env), fieldRef, resourceFieldRef
    expansion.py    $(VAR) expansion, a port of Kubernetes' own
    volumes.py      ConfigMap/Secret/downwardAPI volumes as files; emptyDir volumes and mounts
    handlers.py     probes and lifecycle hooks, named ports resolved to numbers
    security.py     the effective security context (pod and container merged), fsGroup, sysctls
    refs.py         ConfigMap/Secret data and node allocatable read from the snapshot;
                    LoweringError (kubelet's CreateContainerConfigError)

A missing ConfigMap/Secret (or key) that is not ``optional`` raises ``LoweringError``;
``nodesync`` records it in the pod's status instead of starting the pod. Pure, like the
rest of ``controllers/``: a snapshot in, a ``PodRun`` out.
"""

from __future__ import annotations

from gitkube.controllers.lowering.pod import files_hash, lower_pod, spec_hash
from gitkube.controllers.lowering.refs import CONFIG_ERROR, LoweringError, Refs

__all__ = ["CONFIG_ERROR", "LoweringError", "Refs", "files_hash", "lower_pod", "spec_hash"]
