"""Probes and lifecycle hooks: what the node's supervisor runs against a container.

Part of lowering. A probe or hook names one handler (exec, httpGet, tcpSocket, grpc;
sleep for hooks); a port given by name is resolved here to the container's number, so
the agent only ever sees numbers. Timing fields carry Kubernetes' defaults, which the
models already hold.
"""

from __future__ import annotations

from gitkube.agent import protocol
from gitkube.api import core, lifecycle, probes
from gitkube.controllers.lowering import refs


def port_number(port: probes.PortRef | None, container: core.Container) -> int:
    """A handler's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    text = str(port)
    if text.isdigit():
        return int(text)
    for declared in container.ports:
        if declared.name == text:
            return declared.container_port
    raise refs.LoweringError(message=f"probe port {text!r} names no port of container "
                                     f"{container.name}")


def _headers(action: probes.HTTPGetAction, out: protocol.ProbeRun | protocol.HookRun) -> None:
    if action.http_headers:
        out["httpHeaders"] = [{"name": h.name, "value": h.value} for h in action.http_headers]


def lower_probe(probe: probes.Probe, container: core.Container) -> protocol.ProbeRun:
    """A probe with its handler named and a named port resolved to the container's number."""
    out = protocol.ProbeRun(
        initialDelaySeconds=probe.initial_delay_seconds, timeoutSeconds=probe.timeout_seconds,
        periodSeconds=probe.period_seconds, successThreshold=probe.success_threshold,
        failureThreshold=probe.failure_threshold,
    )
    if probe.exec is not None:
        out["handler"] = "exec"
        out["command"] = list(probe.exec.command)
        return out
    if probe.grpc is not None:
        # Kubernetes allows only a number here, so there is no name to resolve.
        out["handler"] = "grpc"
        out["port"] = probe.grpc.port
        out["service"] = probe.grpc.service or ""
        return out
    action = probe.http_get or probe.tcp_socket
    out["handler"] = "httpGet" if probe.http_get is not None else "tcpSocket"
    out["port"] = port_number(action.port if action is not None else None, container)
    if action is not None and action.host:
        out["host"] = action.host
    if probe.http_get is not None:
        out["path"] = probe.http_get.path or "/"
        out["scheme"] = probe.http_get.scheme or "HTTP"
        _headers(probe.http_get, out)
    return out


def lower_hook(handler: lifecycle.LifecycleHandler,
               container: core.Container) -> protocol.HookRun:
    """One postStart/preStop handler, a named port resolved to the container's number."""
    if handler.exec is not None:
        return protocol.HookRun(handler="exec", command=list(handler.exec.command))
    if handler.sleep is not None:
        return protocol.HookRun(handler="sleep", seconds=handler.sleep.seconds)
    action = handler.http_get
    if action is None:
        raise refs.LoweringError(message=f"container {container.name}: a lifecycle hook needs "
                                         "an exec, httpGet or sleep handler")
    out = protocol.HookRun(handler="httpGet", path=action.path or "/",
                           port=port_number(action.port, container),
                           scheme=action.scheme or "HTTP")
    if action.host:
        out["host"] = action.host
    _headers(action, out)
    return out


def lower_hooks(container: core.Container, run: protocol.ContainerRun) -> None:
    hooks = container.lifecycle
    if hooks is None:
        return
    if hooks.post_start is not None:
        run["postStart"] = lower_hook(hooks.post_start, container)
    if hooks.pre_stop is not None:
        run["preStop"] = lower_hook(hooks.pre_stop, container)
