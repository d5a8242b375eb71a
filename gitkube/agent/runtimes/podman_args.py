"""``podman`` command lines for gitkube pods: labels, ports, limits, security, sandbox.

Pure helpers of ``podman.py`` (standard library only, like the whole agent), kept apart
so the runtime module reads as what it does with podman rather than how flags are spelt:

- ``run_args`` maps a container's effective security context onto ``podman run``:
  ``--user``, ``--group-add`` (fsGroup, then supplementalGroups), ``--read-only`` (without
  podman's tmpfs on /tmp, which Kubernetes does not add), ``--privileged``,
  ``no-new-privileges``, capabilities, seccomp and AppArmor (RuntimeDefault is podman's own
  profile), SELinux labels;
- ``pod_args`` puts sysctls and resolv.conf settings (``security.resolver``) on the pod's
  sandbox, where the network and IPC namespaces they concern live.
"""

from __future__ import annotations

from .. import protocol, security


def label_args(labels: dict[str, str]) -> list[str]:
    argv: list[str] = []
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    return argv


def publish(port: protocol.PortRun) -> str:
    host_ip = port.get("hostIP", "")
    spec = f"{host_ip}:" if host_ip else ""
    spec += f"{port['hostPort']}:{port.get('containerPort', port['hostPort'])}"
    return spec + "/" + port.get("protocol", "TCP").lower()


def resource_args(container: protocol.ContainerRun) -> list[str]:
    argv: list[str] = []
    if container.get("cpuLimitMillis"):
        argv += ["--cpus", f"{container['cpuLimitMillis'] / 1000:g}"]
    if container.get("memoryLimitBytes"):
        argv += ["--memory", str(container["memoryLimitBytes"])]
    if container.get("cpuRequestMillis"):
        # Kubernetes' shares: 1024 per CPU, at least 2.
        argv += ["--cpu-shares", str(max(2, container["cpuRequestMillis"] * 1024 // 1000))]
    if container.get("memoryRequestBytes"):
        argv += ["--memory-reservation", str(container["memoryRequestBytes"])]
    return argv


def run_args(context: protocol.SecurityRun, image_user: str = "") -> list[str]:
    """``podman run`` flags for one container's effective security context."""
    argv: list[str] = []
    if "runAsUser" in context or "runAsGroup" in context:
        user = str(context.get("runAsUser", image_user.split(":", 1)[0] or "0"))
        group = f":{context['runAsGroup']}" if "runAsGroup" in context else ""
        argv += ["--user", user + group]
    for gid in context.get("groups", []):
        argv += ["--group-add", str(gid)]
    if context.get("readOnlyRootFilesystem"):
        argv += ["--read-only", "--read-only-tmpfs=false"]
    if context.get("privileged"):
        argv += ["--privileged"]
    if context.get("noNewPrivileges"):
        argv += ["--security-opt", "no-new-privileges"]
    for name in context.get("capDrop", []):
        argv += ["--cap-drop", name]
    for name in context.get("capAdd", []):
        argv += ["--cap-add", name]
    if context.get("seccomp") == "Unconfined":
        argv += ["--security-opt", "seccomp=unconfined"]
    apparmor = context.get("appArmor", "RuntimeDefault")
    if apparmor == "Unconfined":
        argv += ["--security-opt", "apparmor=unconfined"]
    elif apparmor != "RuntimeDefault":
        argv += ["--security-opt", f"apparmor={apparmor}"]
    for part in ("user", "role", "type", "level"):
        if context.get("seLinux", {}).get(part):
            argv += ["--security-opt", f"label={part}:{context['seLinux'][part]}"]
    return argv


def pod_args(pod: protocol.PodRun, host_resolv: str | None = None,
             cluster_dns: security.ClusterDNS | None = None) -> list[str]:
    """``podman pod create`` flags: the pod's sysctls and, when it has one, its resolver."""
    argv: list[str] = []
    for name, value in sorted(pod.get("sysctls", {}).items()):
        argv += ["--sysctl", f"{name}={value}"]
    dns = pod.get("dns")
    if dns and cluster_dns is None and dns == {"policy": "ClusterFirst"}:
        dns = None  # no cluster DNS and nothing to add: podman's own resolv.conf (Default)
    if dns:
        nameservers, searches, options = security.resolver(
            dns, security.read_host_resolv() if host_resolv is None else host_resolv,
            cluster_dns)
        argv += [arg for server in nameservers for arg in ("--dns", server)]
        argv += [arg for search in searches for arg in ("--dns-search", search)]
        argv += [arg for option in options for arg in ("--dns-option", option)]
    return argv
