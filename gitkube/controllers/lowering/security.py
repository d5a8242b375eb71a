"""Security contexts: who a container runs as and what it may do → the agent's ``SecurityRun``.

Part of lowering. The merge of pod and container security contexts is kubelet's
DetermineEffectiveSecurityContext: the container's field wins, and only user, group,
runAsNonRoot, seccomp, AppArmor and SELinux fall back to the pod's. What only a pod
has (fsGroup, supplementalGroups, sysctls) goes on the ``PodRun``. The node agent does
the rest (podman flags, the runAsNonRoot check against the image's user).
"""

from __future__ import annotations

from gitkube.agent import protocol
from gitkube.api import core, security

#: Fields a container inherits from the pod's securityContext when it does not set them.
_INHERITED = ("run_as_user", "run_as_group", "run_as_non_root", "seccomp_profile",
              "app_armor_profile", "se_linux_options")


def effective_context(spec: core.PodSpec, container: core.Container) -> security.SecurityContext:
    """The container's securityContext with the pod's inherited fields filled in."""
    own = container.security_context or security.SecurityContext()
    pod = spec.security_context or security.PodSecurityContext()
    inherited = {field: getattr(pod, field) for field in _INHERITED
                 if getattr(own, field) is None and getattr(pod, field) is not None}
    return own.model_copy(update=inherited)


def _groups(pod: security.PodSecurityContext) -> list[int]:
    groups = [pod.fs_group] if pod.fs_group is not None else []
    # Only the fsGroup is left out of the supplemental groups, as kubelet writes them.
    return groups + [g for g in pod.supplemental_groups if g not in groups]


def _capabilities(context: security.SecurityContext, out: protocol.SecurityRun) -> None:
    capabilities = context.capabilities or security.Capabilities()
    added = [security.capability_name(n) for n in capabilities.add]
    dropped = [security.capability_name(n) for n in capabilities.drop]
    if added:
        out["capAdd"] = added
    if dropped:
        out["capDrop"] = dropped


def _profiles(context: security.SecurityContext, out: protocol.SecurityRun) -> None:
    seccomp = context.seccomp_profile.type if context.seccomp_profile is not None else None
    if seccomp == "RuntimeDefault" or seccomp == "Unconfined":
        out["seccomp"] = seccomp
    apparmor = context.app_armor_profile
    if apparmor is not None and apparmor.type == "Localhost":
        out["appArmor"] = apparmor.localhost_profile or ""
    elif apparmor is not None and apparmor.type:
        out["appArmor"] = apparmor.type
    options = context.se_linux_options or security.SELinuxOptions()
    selinux = {k: v for k, v in (("user", options.user), ("role", options.role),
                                 ("type", options.type), ("level", options.level)) if v}
    if selinux:
        out["seLinux"] = selinux


def lower_security(spec: core.PodSpec, container: core.Container) -> protocol.SecurityRun:
    """The agent's view of one container's effective security context (empty: defaults)."""
    context = effective_context(spec, container)
    out = protocol.SecurityRun()
    if context.run_as_user is not None:
        out["runAsUser"] = context.run_as_user
    if context.run_as_group is not None:
        out["runAsGroup"] = context.run_as_group
    if context.run_as_non_root:
        out["runAsNonRoot"] = True
    if context.read_only_root_filesystem:
        out["readOnlyRootFilesystem"] = True
    if context.privileged:
        out["privileged"] = True
    if context.allow_privilege_escalation is False:
        out["noNewPrivileges"] = True
    groups = _groups(spec.security_context or security.PodSecurityContext())
    if groups:
        out["groups"] = groups
    _capabilities(context, out)
    _profiles(context, out)
    return out


def lower_pod_security(spec: core.PodSpec, run: protocol.PodRun) -> None:
    """What only a pod has: fsGroup (volume ownership) and sysctls (on its sandbox)."""
    pod = spec.security_context
    if pod is None:
        return
    if pod.fs_group is not None:
        run["fsGroup"] = pod.fs_group
    sysctls = {security.sysctl_name(s.name): s.value for s in pod.sysctls}
    if sysctls:
        run["sysctls"] = sysctls
