"""A container's environment, resolved in Kubernetes' order, and the pod fields it may read.

Part of lowering. ``envFrom`` first (keys that are not valid variable names are
skipped, as kubelet does), then ``env``, each value ``$(VAR)``-expanded with what came
before it (``expansion``). ``fieldRef`` and ``resourceFieldRef`` are the downward API;
``downward_text`` and ``resource_value`` serve the downwardAPI volume files as well.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from gitkube.api import accounts, core, names, pods, quantities
from gitkube.controllers.lowering import expansion, refs

Refs = refs.Refs
LoweringError = refs.LoweringError


def environment(container: core.Container, pod: core.Pod, found: Refs) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.env_from:
        prefix = source.prefix or ""
        if source.config_map_ref is not None:
            kind, name = "ConfigMap", source.config_map_ref.name
            optional = bool(source.config_map_ref.optional)
        elif source.secret_ref is not None:
            kind, name = "Secret", source.secret_ref.name
            optional = bool(source.secret_ref.optional)
        else:
            raise LoweringError(message="envFrom needs a configMapRef or a secretRef")
        data = found.require(kind, name, optional)
        for key, raw in sorted((data or {}).items()):
            # Kubernetes skips keys that are not valid variable names (and records an event).
            if not names.env_var_name_errors(prefix + key):
                env[prefix + key] = raw.decode(errors="replace")
    for var in container.env:
        value = _env_value(var, env, pod, found, container)
        if value is not None:
            env[var.name] = value
    return env


def _env_value(var: core.EnvVar, env: Mapping[str, str], pod: core.Pod, found: Refs,
               container: core.Container) -> str | None:
    source = var.value_from
    if source is None:
        return expansion.expand(var.value or "", env)
    if source.config_map_key_ref is not None:
        ref = source.config_map_key_ref
        return found.value("ConfigMap", ref.name, ref.key, bool(ref.optional))
    if source.secret_key_ref is not None:
        secret = source.secret_key_ref
        return found.value("Secret", secret.name, secret.key, bool(secret.optional))
    if source.field_ref is not None:
        return field_value(source.field_ref.field_path, pod)
    if source.resource_field_ref is not None:
        return resource_value(source.resource_field_ref, pod, container.name, found)
    raise LoweringError(
        message=f"env {var.name}: only value, configMapKeyRef, secretKeyRef, fieldRef and "
        "resourceFieldRef are supported; change the manifest to use one of them"
    )


def _container_named(pod: core.Pod, name: str) -> core.Container:
    everyone = [*pod.spec.init_containers, *pod.spec.containers]
    container = next((c for c in everyone if c.name == name), None)
    if container is None:
        raise LoweringError(message=f"resourceFieldRef names no container {name!r} of the pod")
    return container


def resource_value(ref: pods.ResourceFieldSelector, pod: core.Pod, default_container: str,
                   found: Refs) -> str:
    """A container's request or limit in units of ``divisor``, rounded up (kubelet's
    ExtractContainerResourceValue); an unset limit is the node's allocatable amount."""
    container = _container_named(pod, ref.container_name or default_container)
    group, _, resource = ref.resource.partition(".")
    by_group = {"requests": container.resources.requests, "limits": container.resources.limits}
    amounts: dict[str, str | int] = dict(by_group.get(group, {}))
    if group == "limits":
        allocatable = found.allocatable(pod.spec.node_name or "")
        for key in ("cpu", "memory", "ephemeral-storage"):
            if quantities.parse_quantity(amounts.get(key, 0)) == 0 and key in allocatable:
                amounts[key] = allocatable[key]
    amount = amounts.get(resource, 0)
    divisor = ref.divisor or "1"
    if resource == "cpu":
        # MilliValue of both, as kubelet divides them.
        return str(math.ceil(quantities.cpu_millis(amount) / quantities.cpu_millis(divisor)))
    return str(math.ceil(quantities.memory_bytes(amount) / quantities.memory_bytes(divisor)))


def field_value(path: str, pod: core.Pod) -> str:
    """A pod field the downward API exposes (``metadata.name``, ``status.podIP``...)."""
    meta = pod.metadata
    simple = {
        "metadata.name": meta.name,
        "metadata.namespace": meta.namespace or "default",
        "metadata.uid": meta.uid,
        "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": accounts.account_of(pod.spec),
        "status.hostIP": pod.status.host_ip,
        "status.podIP": pod.status.pod_ip,
    }
    if path in simple:
        return str(simple[path] or "")
    for field, values in (("labels", meta.labels), ("annotations", meta.annotations)):
        head = f"metadata.{field}['"
        if path.startswith(head) and path.endswith("']"):
            return str(values.get(path[len(head):-2], ""))
    raise LoweringError(message=f"fieldRef {path!r} is not supported")
