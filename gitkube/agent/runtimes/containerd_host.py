"""What the containerd runtime reads and sets on the node itself, beside containerd.

- cgroups: a task's cgroup is the ``cgroupsPath`` its spec names (``/<parent>/<id>``), in
  each v1 controller's hierarchy or in the unified (v2) one. ``oom_killed`` reads the
  kernel's OOM kill count there (the cgroup stays until the task is deleted, so an exited
  container still tells), ``usage`` its cpu time and memory for ``stats``;
- an image's files: ``image_file`` reads a file (``/etc/passwd``) from the layer
  directories of a snapshot's mounts, top layer first, without mounting anything;
- the bridge of the node's pod network, made with its gateway address before any pod
  joins it, so the node's DNS server can listen there at once (the CNI bridge plugin then
  finds it ready).
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path

from . import base, containerd_api

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _v2() -> bool:
    return (CGROUP_ROOT / "cgroup.controllers").exists()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _field(text: str, name: str) -> int:
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == name and value.strip().isdigit():
            return int(value)
    return 0


def oom_killed(cgroup: str) -> bool:
    rel = cgroup.strip("/")
    if _v2():
        return _field(_read(CGROUP_ROOT / rel / "memory.events"), "oom_kill") > 0
    return _field(_read(CGROUP_ROOT / "memory" / rel / "memory.oom_control"), "oom_kill") > 0


def usage(cgroup: str, seconds_running: float) -> tuple[int, int]:
    """(cpu millicores averaged over the run, memory bytes less the inactive page cache)."""
    rel = cgroup.strip("/")
    if _v2():
        cpu_ns = _field(_read(CGROUP_ROOT / rel / "cpu.stat"), "usage_usec") * 1000
        memory = int(_read(CGROUP_ROOT / rel / "memory.current").strip() or 0)
        inactive = _field(_read(CGROUP_ROOT / rel / "memory.stat"), "inactive_file")
    else:
        cpu_ns = int(_read(CGROUP_ROOT / "cpuacct" / rel / "cpuacct.usage").strip() or 0)
        memory = int(_read(CGROUP_ROOT / "memory" / rel / "memory.usage_in_bytes").strip() or 0)
        inactive = _field(_read(CGROUP_ROOT / "memory" / rel / "memory.stat"),
                          "total_inactive_file")
    millicores = int(cpu_ns / 1e6 / max(seconds_running, 1.0))
    return millicores, max(0, memory - inactive)


def lower_dirs(mounts: list[containerd_api.Mount]) -> list[str]:
    """The layer directories of a snapshot's mounts, top first."""
    dirs: list[str] = []
    for kind, source, options in mounts:
        if kind == "bind":
            dirs.append(source)
        for option in options:
            if option.startswith("upperdir="):
                dirs.insert(0, option.removeprefix("upperdir="))
            elif option.startswith("lowerdir="):
                dirs += option.removeprefix("lowerdir=").split(":")
    return dirs


def image_file(layers: list[str], rel: str) -> str:
    """A file of the image (the first layer, top down, that has it)."""
    for layer in layers:
        found = Path(layer, rel)
        if found.is_file():
            return _read(found)
    return ""


def ensure_bridge(name: str, gateway: str, subnet: str, node: str) -> list[str]:
    """The bridge ``name`` up with ``gateway``/prefix on it; answers what stands in the way."""
    prefix = ipaddress.ip_network(subnet).prefixlen
    shown = _ip(["-j", "addr", "show", "dev", name], check=False)
    if shown is None:
        _ip(["link", "add", name, "type", "bridge"])
        shown = "[]"
    held = [f"{a.get('local')}/{a.get('prefixlen')}" for link in json.loads(shown or "[]")
            for a in link.get("addr_info", []) if a.get("family") == "inet"]
    if f"{gateway}/{prefix}" not in held:
        if held:
            return [f"{node}'s pod bridge {name} holds {', '.join(held)}, not {gateway}/"
                    f"{prefix}; remove it (ip link del {name}) with the node's pods to move it."]
        _ip(["addr", "add", f"{gateway}/{prefix}", "dev", name])
    _ip(["link", "set", name, "up"])
    return []


def _ip(args: list[str], *, check: bool = True) -> str | None:
    try:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30,
                              check=False)
    except FileNotFoundError as exc:
        raise base.RuntimeFailure("ip (iproute2) is not installed on this node.",
                                  permanent=True) from exc
    if done.returncode:
        if not check:
            return None
        raise base.RuntimeFailure(f"'ip {' '.join(args)}' failed: {done.stderr.strip()}")
    return done.stdout
