"""OCI runtime specs for gitkube's containers on containerd: pure functions, no I/O.

The containerd runtime hands containerd a whole spec (``config.json``) per container,
composed here as containerd's CRI plugin composes one for kubelet: containerd's default
Linux spec (its mounts, masked and read-only paths, default capabilities, NOFILE 1024),
then the image's config (``Env``, ``Entrypoint``/``Cmd``, ``WorkingDir``, ``User``) under
the container's ``command``/``args``/``env``/``workingDir`` (Kubernetes' rules), the
security context (user and groups, capabilities, read-only root, privileged, no new
privileges, seccomp, AppArmor, SELinux), cpu and memory limits, the pod's sysctls and
hostname, its shared network and IPC namespaces (files the runtime bind-mounted) and the
binds: volumes, the pod's ``/dev/shm`` and its ``/etc/hosts``, ``/etc/hostname`` and
``/etc/resolv.conf``.

seccomp ``RuntimeDefault`` is Docker's default profile written as a deny list: every
syscall allowed but the ones that profile leaves out (``DENIED_SYSCALLS``), which fail with
EPERM. A container that names no profile runs Unconfined, as Kubernetes runs it (and as
``ctr`` does; podman applies its own profile unless told otherwise).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import protocol

#: containerd's default capabilities (``oci.defaultUnixCaps``), what CRI gives a container.
DEFAULT_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")
#: Every capability Linux 6 knows (privileged and ``capAdd: [ALL]``).
ALL_CAPS = (*DEFAULT_CAPS, "CAP_DAC_READ_SEARCH", "CAP_LINUX_IMMUTABLE", "CAP_NET_BROADCAST",
            "CAP_NET_ADMIN", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
            "CAP_SYS_RAWIO", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN",
            "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
            "CAP_SYS_TTY_CONFIG", "CAP_LEASE", "CAP_AUDIT_CONTROL", "CAP_MAC_OVERRIDE",
            "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
            "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE")
#: The syscalls Docker's (and containerd's) default seccomp profile does not allow.
DENIED_SYSCALLS = (
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
    "delete_module", "finit_module", "get_kernel_syms", "get_mempolicy", "init_module",
    "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie",
    "mbind", "mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
    "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace",
    "query_module", "quotactl", "reboot", "request_key", "set_mempolicy", "setns",
    "settimeofday", "stime", "swapoff", "swapon", "sysfs", "_sysctl", "umount", "umount2",
    "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old")
_MASKED = ("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
           "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
           "/proc/scsi")
_READONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
_CPU_PERIOD = 100_000
#: (source on the node, path in the container, read-only).
Bind = tuple[str, str, bool]


class Image(NamedTuple):
    """What a container takes from its image's config."""

    env: list[str]
    entrypoint: list[str]
    cmd: list[str]
    working_dir: str
    user: str


class Pod(NamedTuple):
    """What a container takes from its pod's sandbox."""

    hostname: str
    netns: str
    ipcns: str
    sysctls: dict[str, str]
    cgroup_parent: str
    group: str


def image_of(config: dict[str, Any]) -> Image:
    """An image config blob (``application/vnd.oci.image.config.v1+json``)."""
    inner = config.get("config") or {}
    return Image(env=list(inner.get("Env") or []), entrypoint=list(inner.get("Entrypoint") or []),
                 cmd=list(inner.get("Cmd") or []), working_dir=str(inner.get("WorkingDir") or ""),
                 user=str(inner.get("User") or ""))


def argv(container: protocol.ContainerRun, image: Image) -> list[str]:
    """Kubernetes' rule: ``command`` replaces the entrypoint (and drops the image's Cmd),
    ``args`` replaces Cmd."""
    command = container.get("command") or []
    if command:
        return [*command, *container.get("args", [])]
    return [*image.entrypoint, *(container.get("args") or image.cmd)]


def environment(image: Image, env: dict[str, str]) -> list[str]:
    """The image's variables, overridden by the container's (in the image's order first)."""
    merged = dict(item.partition("=")[::2] for item in image.env)
    merged.update(env)
    return [f"{name}={value}" for name, value in merged.items()]


def spec(container: protocol.ContainerRun, pod: Pod, image: Image, *, cid: str,
         user: tuple[int, int, list[int]], env: dict[str, str], binds: list[Bind]
         ) -> dict[str, Any]:
    """The OCI spec of one container; ``user`` is (uid, gid, extra gids) resolved already."""
    wanted = container.get("security", {})
    privileged = bool(wanted.get("privileged"))
    uid, gid, groups = user
    process: dict[str, Any] = {
        "terminal": False, "args": argv(container, image), "env": environment(image, env),
        "cwd": container.get("workingDir") or image.working_dir or "/",
        "user": {"uid": uid, "gid": gid, **({"additionalGids": groups} if groups else {})},
        "capabilities": _capabilities(wanted),
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": bool(wanted.get("noNewPrivileges")) and not privileged,
    }
    apparmor = wanted.get("appArmor", "RuntimeDefault")
    if apparmor not in ("RuntimeDefault", "Unconfined") and not privileged:
        process["apparmorProfile"] = apparmor
    selinux = wanted.get("seLinux", {})
    if any(selinux.get(part) for part in ("user", "role", "type", "level")):
        process["selinuxLabel"] = ":".join(selinux.get(p, "") for p in ("user", "role", "type",
                                                                        "level"))
    linux: dict[str, Any] = {
        "namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": "mount"},
                       {"type": "network", "path": pod.netns}, {"type": "ipc", "path": pod.ipcns}],
        "cgroupsPath": f"/{pod.cgroup_parent.strip('/')}/{cid}",
        "resources": resources(container, privileged=privileged),
        "sysctl": dict(pod.sysctls),
    }
    if not privileged:
        linux["maskedPaths"], linux["readonlyPaths"] = list(_MASKED), list(_READONLY)
        if wanted.get("seccomp") == "RuntimeDefault":
            linux["seccomp"] = seccomp_profile()
    return {
        "ociVersion": "1.0.2", "process": process, "hostname": pod.hostname,
        "root": {"path": "rootfs", "readonly": bool(wanted.get("readOnlyRootFilesystem"))},
        "mounts": [*_default_mounts(privileged), *_binds(binds)],
        "annotations": {"io.containerd.runc.v2.group": pod.group},
        "linux": linux,
    }


def resources(container: protocol.ContainerRun, *, privileged: bool = False) -> dict[str, Any]:
    """The cgroup limits (OCI LinuxResources) of a container."""
    out: dict[str, Any] = {"devices": [{"allow": privileged, "access": "rwm"}]}
    cpu: dict[str, Any] = {}
    if container.get("cpuLimitMillis"):
        cpu["quota"], cpu["period"] = container["cpuLimitMillis"] * _CPU_PERIOD // 1000, _CPU_PERIOD
    if container.get("cpuRequestMillis"):
        cpu["shares"] = max(2, container["cpuRequestMillis"] * 1024 // 1000)
    if cpu:
        out["cpu"] = cpu
    memory: dict[str, Any] = {}
    if container.get("memoryLimitBytes"):
        memory["limit"] = container["memoryLimitBytes"]
    if container.get("memoryRequestBytes"):
        memory["reservation"] = container["memoryRequestBytes"]
    if memory:
        out["memory"] = memory
    return out


def _capabilities(wanted: protocol.SecurityRun) -> dict[str, list[str]]:
    if wanted.get("privileged"):
        caps = list(ALL_CAPS)
    else:
        names = [f"CAP_{n.upper().removeprefix('CAP_')}" for n in wanted.get("capDrop", [])]
        caps = [] if "CAP_ALL" in names else [c for c in DEFAULT_CAPS if c not in names]
        for name in wanted.get("capAdd", []):
            added = f"CAP_{name.upper().removeprefix('CAP_')}"
            caps += list(ALL_CAPS) if added == "CAP_ALL" else [added]
        caps = list(dict.fromkeys(caps))
    return {"bounding": caps, "effective": caps, "permitted": caps}


def _default_mounts(privileged: bool) -> list[dict[str, Any]]:
    sys_options = ["nosuid", "noexec", "nodev", "rw" if privileged else "ro"]
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_options},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]


def _binds(binds: list[Bind]) -> list[dict[str, Any]]:
    return [{"destination": target, "type": "bind", "source": source,
             "options": ["rbind", "ro" if read_only else "rw"]}
            for source, target, read_only in binds]


def seccomp_profile() -> dict[str, Any]:
    return {"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": list(DENIED_SYSCALLS), "action": "SCMP_ACT_ERRNO",
                          "errnoRet": 1}]}


def parse_passwd(text: str, name: str) -> tuple[int, int] | None:
    """(uid, gid) of user ``name`` (or of a numeric uid) in an /etc/passwd."""
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and name in (fields[0], fields[2]) and fields[2].isdigit():
            return int(fields[2]), int(fields[3]) if fields[3].isdigit() else 0
    return None


def parse_group(text: str, name: str) -> int | None:
    """The gid of group ``name`` in an /etc/group."""
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name and fields[2].isdigit():
            return int(fields[2])
    return None
