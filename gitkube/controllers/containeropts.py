"""Lowering what a pod says about how its containers run: security contexts, lifecycle
hooks, DNS — into the agent's ``SecurityRun``, ``HookRun`` and ``DNSRun``.

Part of lowering (``lowering.py`` calls these), pure like it: the pod's JSON form in,
protocol dicts out. The merge of pod and container security contexts is kubelet's
DetermineEffectiveSecurityContext: the container's field wins, and only user, group,
runAsNonRoot, seccomp, AppArmor and SELinux fall back to the pod's. The node agent
does the rest (podman flags, the runAsNonRoot check against the image's user).

DNS: there is no cluster DNS yet, so ClusterFirst (the default) and
ClusterFirstWithHostNet behave as Default — kubelet does the same when it has no
cluster DNS configured. Only a pod with a ``dnsConfig`` or policy None gets a ``dns``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitkube.agent import protocol
from gitkube.api import security

#: Fields a container inherits from the pod's securityContext when it does not set them.
_INHERITED = ("runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile", "appArmorProfile",
              "seLinuxOptions")

PortResolver = Callable[[object, dict[str, Any]], int]


def effective_context(pod_spec: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    """The container's securityContext with the pod's inherited fields filled in."""
    pod_context = pod_spec.get("securityContext") or {}
    merged = dict(container.get("securityContext") or {})
    for field in _INHERITED:
        if field not in merged and field in pod_context:
            merged[field] = pod_context[field]
    return merged


def lower_security(pod_spec: dict[str, Any], container: dict[str, Any]) -> protocol.SecurityRun:
    """The agent's view of one container's effective security context (empty: defaults)."""
    context = effective_context(pod_spec, container)
    pod_context = pod_spec.get("securityContext") or {}
    out = protocol.SecurityRun()
    for field in ("runAsUser", "runAsGroup"):
        if context.get(field) is not None:
            out[field] = int(context[field])
    for field in ("runAsNonRoot", "readOnlyRootFilesystem", "privileged"):
        if context.get(field):
            out[field] = True  # type: ignore[literal-required]
    if context.get("allowPrivilegeEscalation") is False:
        out["noNewPrivileges"] = True
    groups = [int(pod_context["fsGroup"])] if pod_context.get("fsGroup") is not None else []
    groups += [int(g) for g in pod_context.get("supplementalGroups") or [] if g not in groups]
    if groups:
        out["groups"] = groups
    capabilities = context.get("capabilities") or {}
    for field, key in (("add", "capAdd"), ("drop", "capDrop")):
        names = [security.capability_name(n) for n in capabilities.get(field) or []]
        if names:
            out[key] = names  # type: ignore[literal-required]
    seccomp = (context.get("seccompProfile") or {}).get("type")
    if seccomp in ("RuntimeDefault", "Unconfined"):
        out["seccomp"] = seccomp
    apparmor = context.get("appArmorProfile") or {}
    if apparmor.get("type") == "Localhost":
        out["appArmor"] = str(apparmor.get("localhostProfile") or "")
    elif apparmor.get("type"):
        out["appArmor"] = str(apparmor["type"])
    selinux = {k: str(v) for k, v in (context.get("seLinuxOptions") or {}).items() if v}
    if selinux:
        out["seLinux"] = selinux
    return out


def lower_pod_security(pod_spec: dict[str, Any], run: protocol.PodRun) -> None:
    """What only a pod has: fsGroup (volume ownership) and sysctls (on its sandbox)."""
    pod_context = pod_spec.get("securityContext") or {}
    if pod_context.get("fsGroup") is not None:
        run["fsGroup"] = int(pod_context["fsGroup"])
    sysctls = {security.sysctl_name(s["name"]): str(s["value"])
               for s in pod_context.get("sysctls") or []}
    if sysctls:
        run["sysctls"] = sysctls


def lower_hook(handler: dict[str, Any], container: dict[str, Any],
               resolve_port: PortResolver) -> protocol.HookRun:
    """One postStart/preStop handler, a named port resolved to the container's number."""
    if "exec" in handler:
        return protocol.HookRun(handler="exec", command=list(handler["exec"]["command"]))
    if "sleep" in handler:
        return protocol.HookRun(handler="sleep", seconds=int(handler["sleep"]["seconds"]))
    action = handler["httpGet"]
    out = protocol.HookRun(handler="httpGet", path=action.get("path") or "/",
                           port=resolve_port(action.get("port"), container),
                           scheme=action.get("scheme") or "HTTP")
    if action.get("host"):
        out["host"] = action["host"]
    if action.get("httpHeaders"):
        out["httpHeaders"] = [dict(h) for h in action["httpHeaders"]]
    return out


def lower_hooks(container: dict[str, Any], run: protocol.ContainerRun,
                resolve_port: PortResolver) -> None:
    hooks = container.get("lifecycle") or {}
    if hooks.get("postStart"):
        run["postStart"] = lower_hook(hooks["postStart"], container, resolve_port)
    if hooks.get("preStop"):
        run["preStop"] = lower_hook(hooks["preStop"], container, resolve_port)


def lower_dns(pod_spec: dict[str, Any]) -> protocol.DNSRun | None:
    """The pod's resolver settings, or None for the node's own (podman's default)."""
    policy = pod_spec.get("dnsPolicy") or "ClusterFirst"
    config = pod_spec.get("dnsConfig")
    if config is None and policy != "None":
        return None
    config = config or {}
    out = protocol.DNSRun(policy="None" if policy == "None" else "Default")
    if config.get("nameservers"):
        out["nameservers"] = [str(n) for n in config["nameservers"]]
    if config.get("searches"):
        out["searches"] = [str(s) for s in config["searches"]]
    options = [o["name"] if o.get("value") is None else f"{o['name']}:{o['value']}"
               for o in config.get("options") or []]
    if options:
        out["options"] = options
    return out
