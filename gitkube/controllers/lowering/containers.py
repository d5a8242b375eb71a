"""One container (app, init or sidecar) → the agent's ``ContainerRun``.

Part of lowering: the image and its pull policy, the resolved environment with
``$(VAR)`` expanded in command and args (``environment``, ``expansion``), ports,
resources in millicores and bytes, volume files and scratch mounts (``volumes``),
probes and hooks (``handlers``) and the effective security context (``security``).
"""

from __future__ import annotations

from collections.abc import Mapping

from gitkube.agent import protocol
from gitkube.api import core, pods, quantities
from gitkube.controllers.lowering import environment, expansion, handlers, refs, security, volumes


def lower_container(container: core.Container, pod: core.Pod, found: refs.Refs,
                    by_name: Mapping[str, core.Volume]) -> protocol.ContainerRun:
    env = environment.environment(container, pod, found)
    run: protocol.ContainerRun = {
        "name": container.name,
        "image": container.image,
        "imagePullPolicy": container.image_pull_policy
        or pods.default_pull_policy(container.image),
        "env": env,
    }
    if container.command:
        run["command"] = [expansion.expand(part, env) for part in container.command]
    if container.args:
        run["args"] = [expansion.expand(part, env) for part in container.args]
    if container.working_dir:
        run["workingDir"] = container.working_dir
    ports = [_lower_port(p) for p in container.ports]
    if ports:
        run["ports"] = ports
    _lower_resources(container.resources, run)
    files = volumes.files(container, pod, found, by_name)
    if files:
        run["files"] = files
    mounts = volumes.mounts(container, by_name)
    if mounts:
        run["mounts"] = mounts
    if container.restart_policy == "Always":
        run["restartPolicy"] = "Always"
    _lower_probes(container, run)
    context = security.lower_security(pod.spec, container)
    if context:
        run["security"] = context
    handlers.lower_hooks(container, run)
    return run


def _lower_probes(container: core.Container, run: protocol.ContainerRun) -> None:
    if container.liveness_probe is not None:
        run["livenessProbe"] = handlers.lower_probe(container.liveness_probe, container)
    if container.readiness_probe is not None:
        run["readinessProbe"] = handlers.lower_probe(container.readiness_probe, container)
    if container.startup_probe is not None:
        run["startupProbe"] = handlers.lower_probe(container.startup_probe, container)


def _lower_port(port: core.ContainerPort) -> protocol.PortRun:
    out: protocol.PortRun = {"containerPort": port.container_port,
                             "protocol": port.protocol or "TCP"}
    if port.host_port:
        out["hostPort"] = port.host_port
    if port.host_ip:
        out["hostIP"] = port.host_ip
    return out


def _lower_resources(resources: core.ResourceRequirements, run: protocol.ContainerRun) -> None:
    limits, requests = resources.limits, resources.requests
    if "cpu" in limits:
        run["cpuLimitMillis"] = quantities.cpu_millis(limits["cpu"])
    if "memory" in limits:
        run["memoryLimitBytes"] = quantities.memory_bytes(limits["memory"])
    # Kubernetes defaults a request to the limit when only the limit is given.
    cpu_request = requests.get("cpu", limits.get("cpu"))
    memory_request = requests.get("memory", limits.get("memory"))
    if cpu_request is not None:
        run["cpuRequestMillis"] = quantities.cpu_millis(cpu_request)
    if memory_request is not None:
        run["memoryRequestBytes"] = quantities.memory_bytes(memory_request)
