"""Podman settings a host needs before any container can start, detected on the node itself.

Some hosts cannot run podman's defaults: a hard ``nofile`` limit below the 1048576 podman 4
asks for ("error setting rlimit type 7: operation not permitted"), cgroups v1/hybrid where crun
refuses to run, no systemd to manage cgroups. The agent looks at the host once per request and,
only when something is needed and nobody configured podman for it (the inventory's
``containersConf`` or a ``CONTAINERS_CONF`` already in the environment), writes a minimal
containers.conf into its state directory and points podman at it. Hosts that need nothing get
nothing.
"""

from __future__ import annotations

import os
import resource
import shutil
from pathlib import Path
from typing import NamedTuple

#: What rootful podman 4 sets for containers unless told otherwise.
PODMAN_NOFILE = 1048576
PODMAN_NPROC = 4194304
NPROC_CAP = 4096


class HostFacts(NamedTuple):
    nofile_hard: int
    nproc_hard: int
    cgroup_hybrid: bool
    systemd: bool
    has_runc: bool
    has_crun: bool


def read_host() -> HostFacts:
    cgroup = Path("/sys/fs/cgroup")
    return HostFacts(
        nofile_hard=_hard(resource.RLIMIT_NOFILE),
        nproc_hard=_hard(resource.RLIMIT_NPROC),
        cgroup_hybrid=(cgroup / "unified").is_dir() or (cgroup / "memory").is_dir(),
        systemd=Path("/run/systemd/system").is_dir(),
        has_runc=shutil.which("runc") is not None,
        has_crun=shutil.which("crun") is not None,
    )


def needed_settings(host: HostFacts) -> dict[str, dict[str, object]]:
    """The containers.conf sections this host needs; empty when podman's defaults work."""
    containers: dict[str, object] = {}
    engine: dict[str, object] = {}
    ulimits: list[str] = []
    if host.nofile_hard < PODMAN_NOFILE:
        ulimits.append(f"nofile={min(1024, host.nofile_hard)}:{host.nofile_hard}")
    if host.nproc_hard < PODMAN_NPROC:
        # runc is refused even the host's own hard nproc limit here (seen: 96365), while any
        # modest value works; 4096 processes per container is plenty for a pod.
        nproc = min(NPROC_CAP, host.nproc_hard)
        ulimits.append(f"nproc={nproc}:{nproc}")
    if ulimits:
        containers["default_ulimits"] = ulimits
    if host.cgroup_hybrid and host.has_crun and host.has_runc:
        engine["runtime"] = "runc"  # crun: "cgroups in hybrid mode not supported"
    if not host.systemd:
        engine["cgroup_manager"] = "cgroupfs"
    out: dict[str, dict[str, object]] = {}
    if containers:
        out["containers"] = containers
    if engine:
        out["engine"] = engine
    return out


def render(settings: dict[str, dict[str, object]]) -> str:
    lines = ["# Written by the gitkube agent: what this host needs for podman to run containers."]
    for section, values in settings.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if isinstance(value, list):
                items = ", ".join(f'"{v}"' for v in value)
                lines.append(f"{key} = [{items}]")
            else:
                lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def ensure_conf(state_dir: Path, env: dict[str, str]) -> str | None:
    """The containers.conf podman should use on this host, written if needed; None if none."""
    if env.get("CONTAINERS_CONF"):
        return None
    settings = needed_settings(read_host())
    if not settings:
        return None
    text = render(settings)
    target = state_dir / "containers.conf"
    if not target.is_file() or target.read_text() != text:
        state_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".containers.conf.{os.getpid()}")
        partial.write_text(text)
        os.replace(partial, target)
    return str(target)


def _hard(which: int) -> int:
    hard = resource.getrlimit(which)[1]
    return PODMAN_NPROC * 4 if hard == resource.RLIM_INFINITY else int(hard)
