"""Pure parsers of podman's output: ``ps``, ``inspect``, ``images`` and ``stats`` JSON.

The podman runtime observes a node with one ``podman ps -a --format json`` and, only where
ps cannot tell (restart counts, OOM kills, the pod IP), one batched ``podman inspect``.
``seen`` turns ps entries into the runtime-neutral ``reports.Seen`` records that
``reports.pods_from`` groups into PodReports (so podman's pods read as every runtime's);
the rest is podman-only. Everything here is a pure function of that text, tested on output
recorded from a real podman (``tests/agent/data/``).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from .. import protocol, reports

#: podman prints Go's zero time (0001-01-01) as this Unix timestamp for "never".
_GO_ZERO_TIME = -62135596800
#: How podman's container ids are reported (``containerID``).
SCHEME = "podman://"

#: ``podman inspect --format`` template, one tab-separated line per container.
INSPECT_TEMPLATE = (
    "{{.Id}}\t{{.RestartCount}}\t{{.State.OOMKilled}}\t"
    "{{range .NetworkSettings.Networks}}{{.IPAddress}},{{end}}"
)


class InspectFacts(NamedTuple):
    restart_count: int
    oom_killed: bool
    ip: str


def loads_list(json_text: str) -> list[dict[str, Any]]:
    """A JSON list of objects (podman prints nothing, or ``null``, for none)."""
    if not json_text.strip():
        return []
    data = json.loads(json_text)
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


def seen(entry: dict[str, Any]) -> reports.Seen:
    """One ``podman ps`` entry as a runtime-neutral record."""
    infra = bool(entry.get("IsInfra"))
    raw = str(entry.get("Id", ""))
    return reports.Seen(
        id=raw if infra else SCHEME + raw,
        labels=entry.get("Labels") or {},
        state=str(entry.get("State", "")).lower(),
        image=str(entry.get("Image", "")),
        image_id=str(entry.get("ImageID", "")),
        exit_code=int(entry.get("ExitCode") or 0),
        started=max(0, int(entry.get("StartedAt") or _GO_ZERO_TIME)),
        finished=max(0, int(entry.get("ExitedAt") or _GO_ZERO_TIME)),
        sandbox=infra,
        name=str((entry.get("Names") or [""])[0]),
    )


def parse_ps(json_text: str) -> list[protocol.PodReport]:
    """``podman ps -a --format json``, grouped into pods by their gitkube uid label."""
    return reports.pods_from(seen(entry) for entry in loads_list(json_text))


def parse_inspect(text: str) -> dict[str, InspectFacts]:
    """Parse ``podman inspect --format INSPECT_TEMPLATE`` output, keyed by container id."""
    facts: dict[str, InspectFacts] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or not fields[0]:
            continue
        ips = [ip for ip in fields[3].split(",") if ip]
        restarts = int(fields[1]) if fields[1].isdigit() else 0
        facts[fields[0]] = InspectFacts(restarts, fields[2] == "true", ips[0] if ips else "")
    return facts


def apply_inspect(pods: list[protocol.PodReport], facts: dict[str, InspectFacts]) -> None:
    """Add restart counts, OOM kills and the pod IP that ``ps`` does not show."""
    for pod in pods:
        ip = facts[pod["sandboxID"]].ip if pod.get("sandboxID", "") in facts else ""
        for container in pod.get("containers", []):
            found = facts.get(container.get("containerID", "").removeprefix(SCHEME))
            if found is None:
                continue
            container["restartCount"] = found.restart_count
            ip = ip or found.ip
            if found.oom_killed and "exitCode" in container:
                container["reason"] = "OOMKilled"
        if ip:
            pod["podIP"] = ip


def parse_images(json_text: str) -> list[str]:
    """Image refs from ``podman images --format json``."""
    refs: set[str] = set()
    for entry in loads_list(json_text):
        refs.update(entry.get("Names") or [])
    return sorted(refs)


def parse_image_sizes(json_text: str) -> dict[str, int]:
    """Image ref → size in bytes, from ``podman images --format json``."""
    sizes: dict[str, int] = {}
    for entry in loads_list(json_text):
        size = entry.get("Size")
        if isinstance(size, int) and size >= 0:
            for name in entry.get("Names") or []:
                sizes[name] = size
    return sizes


_SI_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}


def _parse_size(text: str) -> int:
    text = text.strip().lower()
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number) :] or "b"
    try:
        return int(float(number) * _SI_UNITS.get(unit, 1))
    except ValueError:
        return 0


def parse_stats(json_text: str) -> dict[str, tuple[int, int]]:
    """``podman stats --no-stream --format json``: short id → (cpu millicores, memory bytes)."""
    result: dict[str, tuple[int, int]] = {}
    for entry in loads_list(json_text):
        try:
            cpu_percent = float(str(entry.get("cpu_percent", "0")).rstrip("%") or 0)
        except ValueError:
            cpu_percent = 0.0
        memory = _parse_size(str(entry.get("mem_usage", "0B")).split("/")[0])
        result[str(entry.get("id", ""))] = (int(cpu_percent * 10), memory)
    return result
