"""Security contexts: who a container runs as and what it may do, as Kubernetes writes it.

A pod's ``spec.securityContext`` sets defaults for every container (user, group,
runAsNonRoot, seccomp, AppArmor, SELinux) and holds what only a pod has (fsGroup,
supplementalGroups, sysctls); a container's ``securityContext`` wins field by field
(kubelet's DetermineEffectiveSecurityContext). The control plane only carries them
to the node (``controllers/lowering/security.py``); the node agent turns them into
podman flags and checks runAsNonRoot against the image, as kubelet does.

What a Linux node would ignore (``windowsOptions`` apart from hostProcess) is
accepted; what gitkube cannot honour (a Localhost seccomp profile, an Unmasked
/proc, unsafe sysctls) is refused with the reason, never dropped.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from gitkube.api import errors, fields, names
from gitkube.api.meta import KubeModel

#: Kubernetes' IsValidUserID / IsValidGroupID range.
MAX_ID = 2147483647

#: Kubernetes' safe sysctls (pkg/kubelet/sysctl/safe_sysctls.go): namespaced, and
#: unable to hurt other pods or the node. Others need kubelet's --allowed-unsafe-sysctls,
#: which gitkube has no equivalent of.
SAFE_SYSCTLS = (
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_wmem",
)
_SYSCTL_SEGMENT = r"[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
_SYSCTL_NAME = re.compile(rf"({_SYSCTL_SEGMENT}[\./])*{_SYSCTL_SEGMENT}")

#: Linux capabilities (capability(7)) as container runtimes name them, without CAP_.
CAPABILITIES = frozenset({
    "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE",
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER",
    "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP",
    "SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE",
    "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG",
    "WAKE_ALARM",
})

Issues = list[errors.FieldIssue]


class Capabilities(KubeModel):
    add: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)


class SeccompProfile(KubeModel):
    type: Literal["RuntimeDefault", "Unconfined", "Localhost"]
    localhost_profile: str | None = None


class AppArmorProfile(KubeModel):
    type: Literal["RuntimeDefault", "Unconfined", "Localhost"]
    localhost_profile: str | None = None


class SELinuxOptions(KubeModel):
    user: str | None = None
    role: str | None = None
    type: str | None = None
    level: str | None = None


class WindowsSecurityContextOptions(KubeModel):
    """Windows-only settings: a Linux kubelet ignores them, and so does gitkube."""

    gmsa_credential_spec_name: str | None = None
    gmsa_credential_spec: str | None = None
    run_as_user_name: str | None = None
    host_process: bool | None = None


class Sysctl(KubeModel):
    name: str
    value: str


class SecurityContext(KubeModel):
    """A container's security context; unset fields fall back to the pod's, where it has them."""

    run_as_user: fields.Int64 | None = None
    run_as_group: fields.Int64 | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    privileged: bool | None = None
    allow_privilege_escalation: bool | None = None
    capabilities: Capabilities | None = None
    seccomp_profile: SeccompProfile | None = None
    app_armor_profile: AppArmorProfile | None = None
    se_linux_options: SELinuxOptions | None = None
    windows_options: WindowsSecurityContextOptions | None = None
    #: Default only: Unmasked needs a user namespace (``hostUsers: false``).
    proc_mount: Literal["Default", "Unmasked"] | None = None


class PodSecurityContext(KubeModel):
    run_as_user: fields.Int64 | None = None
    run_as_group: fields.Int64 | None = None
    run_as_non_root: bool | None = None
    #: Extra groups of every container's first process.
    supplemental_groups: list[fields.Int64] = Field(default_factory=list)
    #: Group owning the pod's volumes (and an extra group of every container).
    fs_group: fields.Int64 | None = None
    #: Always and OnRootMismatch behave alike here: gitkube's volumes are written fresh.
    fs_group_change_policy: Literal["Always", "OnRootMismatch"] | None = None
    sysctls: list[Sysctl] = Field(default_factory=list)
    seccomp_profile: SeccompProfile | None = None
    app_armor_profile: AppArmorProfile | None = None
    se_linux_options: SELinuxOptions | None = None
    windows_options: WindowsSecurityContextOptions | None = None


def capability_name(name: str) -> str:
    """``CAP_NET_ADMIN`` or ``net_admin`` → ``NET_ADMIN`` (runtimes accept either spelling)."""
    upper = name.upper()
    return upper[4:] if upper.startswith("CAP_") else upper


def sysctl_name(name: str) -> str:
    """Kubernetes accepts ``/`` as the separator too: ``net/ipv4/tcp_syncookies``."""
    return name.replace("/", ".")


def _id_issues(path: str, value: int | None) -> Issues:
    if value is None or 0 <= value <= MAX_ID:
        return []
    return [errors.FieldIssue(path, f"must be between 0 and {MAX_ID}, inclusive")]


def _profile_issues(profile: SeccompProfile | AppArmorProfile | None, path: str,
                    what: str) -> Issues:
    if profile is None:
        return []
    if profile.type == "Localhost" and not profile.localhost_profile:
        return [errors.FieldIssue(f"{path}.localhostProfile",
                                  f"must be set when {what} type is Localhost")]
    if profile.type != "Localhost" and profile.localhost_profile is not None:
        return [errors.FieldIssue(f"{path}.localhostProfile",
                                  f"can only be set when {what} type is Localhost")]
    if what == "seccomp" and profile.type == "Localhost":
        return [errors.FieldIssue(f"{path}.type", (
            "Localhost seccomp profiles are not supported by gitkube: Kubernetes reads them "
            "from kubelet's seccomp directory, which gitkube nodes do not have; use "
            "RuntimeDefault (podman's profile) or Unconfined"))]
    return []


def _shared_issues(context: SecurityContext | PodSecurityContext, path: str) -> Issues:
    issues = _id_issues(f"{path}.runAsUser", context.run_as_user)
    issues += _id_issues(f"{path}.runAsGroup", context.run_as_group)
    issues += _profile_issues(context.seccomp_profile, f"{path}.seccompProfile", "seccomp")
    issues += _profile_issues(context.app_armor_profile, f"{path}.appArmorProfile", "AppArmor")
    windows = context.windows_options
    if windows is not None and windows.host_process:
        issues.append(errors.FieldIssue(f"{path}.windowsOptions.hostProcess", (
            "Windows HostProcess containers need a Windows node (and hostNetwork); gitkube "
            "runs Linux containers only")))
    if windows is not None and windows.gmsa_credential_spec_name:
        issues += [errors.FieldIssue(f"{path}.windowsOptions.gmsaCredentialSpecName", p)
                   for p in names.dns1123_subdomain_errors(windows.gmsa_credential_spec_name)]
    return issues


def check_pod_context(context: PodSecurityContext | None, path: str) -> Issues:
    """Kubernetes' ValidatePodSecurityContext, and what gitkube cannot honour."""
    if context is None:
        return []
    issues = _shared_issues(context, path)
    issues += _id_issues(f"{path}.fsGroup", context.fs_group)
    for i, group in enumerate(context.supplemental_groups):
        issues += _id_issues(f"{path}.supplementalGroups[{i}]", group)
    seen: set[str] = set()
    for i, sysctl in enumerate(context.sysctls):
        where = f"{path}.sysctls[{i}].name"
        if len(sysctl.name) > 253 or not _SYSCTL_NAME.fullmatch(sysctl.name):
            issues.append(errors.FieldIssue(where, (
                f"{sysctl.name!r} must have at most 253 characters and match regex "
                f"{_SYSCTL_NAME.pattern}")))
            continue
        name = sysctl_name(sysctl.name)
        if name in seen:
            issues.append(errors.FieldIssue(where, f"Duplicate value: {sysctl.name!r}"))
        seen.add(name)
        if name not in SAFE_SYSCTLS:
            issues.append(errors.FieldIssue(where, (
                f"sysctl {sysctl.name!r} is not in Kubernetes' safe set, which is all a node "
                f"allows without --allowed-unsafe-sysctls (gitkube has no such setting); safe: "
                + ", ".join(SAFE_SYSCTLS))))
    return issues


def check_container_context(context: SecurityContext | None, path: str) -> Issues:
    """Kubernetes' ValidateSecurityContext, and what gitkube cannot honour."""
    if context is None:
        return []
    issues = _shared_issues(context, path)
    if context.proc_mount == "Unmasked":
        issues.append(errors.FieldIssue(f"{path}.procMount", (
            "`hostUsers` must be false to use `Unmasked`, and gitkube does not support user "
            "namespaces (hostUsers) yet; use Default")))
    added = []
    if context.capabilities is not None:
        for field, listed in (("add", context.capabilities.add),
                              ("drop", context.capabilities.drop)):
            for i, name in enumerate(listed):
                canonical = capability_name(name)
                if canonical != "ALL" and canonical not in CAPABILITIES:
                    issues.append(errors.FieldIssue(
                        f"{path}.capabilities.{field}[{i}]",
                        f"unknown capability {name!r}: use a Linux capability name such as "
                        "NET_ADMIN or CAP_NET_ADMIN (see capabilities(7)), or ALL"))
                if field == "add":
                    added.append(canonical)
    if context.allow_privilege_escalation is False:
        if context.privileged:
            issues.append(errors.FieldIssue(
                path, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
        if "SYS_ADMIN" in added:
            issues.append(errors.FieldIssue(
                path, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` "
                      "CAP_SYS_ADMIN"))
    return issues
