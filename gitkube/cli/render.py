"""Small rendering helpers every CLI view shares: ages, shas, plain tables, defensive reads.

The views (``render_plan``, ``tables``, ``status``, ``describe``) read objects through
``dig`` so that a field an object model leaves out renders as a placeholder instead of
crashing the command: a status line must never be the reason a user cannot see the cluster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console

from gitkube import clock

#: What kubectl prints for a value that is not there.
NONE = "<none>"


def dig(obj: Any, *path: str | int, default: Any = None) -> Any:
    """Follow attributes (or mapping keys, or list indexes) down ``path``; ``default`` if absent."""
    current = obj
    for step in path:
        if current is None:
            return default
        if isinstance(step, int):
            if not isinstance(current, Sequence) or isinstance(current, str):
                return default
            current = current[step] if -len(current) <= step < len(current) else None
        elif isinstance(current, Mapping):
            current = current.get(step)
        else:
            current = getattr(current, step, None)
    return default if current is None else current


def items(obj: Any, *path: str) -> list[Any]:
    """A list found down ``path``, empty when absent (``spec.containers`` of a half-built pod)."""
    found = dig(obj, *path, default=[])
    return list(found) if isinstance(found, Iterable) and not isinstance(found, str) else []


def short_sha(sha: str | None) -> str:
    return sha[:12] if sha else "(none)"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def human_duration(seconds: float) -> str:
    """kubectl's ``HumanDuration``: 5s, 90s, 3m20s, 45m, 2h30m, 20h, 4d6h, 30d, 2y10d, 9y."""
    if seconds < -1:
        return "<invalid>"
    secs = max(int(seconds), 0)
    minutes, hours, days = secs // 60, secs // 3600, secs // 86400
    if secs < 120:
        return f"{secs}s"
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    if days < 365 * 8:
        rest = days % 365
        return f"{days // 365}y{rest}d" if rest else f"{days // 365}y"
    return f"{days // 365}y"


def since(timestamp: str | None, now: dt.datetime) -> float | None:
    """Seconds from an RFC 3339 timestamp to ``now``; None when absent or unreadable."""
    if not timestamp:
        return None
    try:
        return (now - clock.parse_time(timestamp)).total_seconds()
    except ValueError:
        return None


def age(timestamp: str | None, now: dt.datetime) -> str:
    seconds = since(timestamp, now)
    return "<unknown>" if seconds is None else human_duration(seconds)


def ago(timestamp: str | None, now: dt.datetime) -> str:
    seconds = since(timestamp, now)
    return "at an unknown time" if seconds is None else f"{human_duration(seconds)} ago"


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns as kubectl prints them: left-aligned, three spaces apart, no borders.

    Plain text rather than a rich Table so that piping into grep, awk or cut never
    meets wrapped or truncated cells.
    """
    grid = [list(headers), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in grid) for i in range(len(headers))]
    lines = ["   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in grid]
    return "\n".join(lines)


def out(console: Console, text: str) -> None:
    """Print text exactly: no markup, no highlighting, no wrapping (for tables, JSON, YAML)."""
    console.out(text, highlight=False)


def labels(mapping: Mapping[str, str] | None) -> str:
    if not mapping:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(mapping.items()))
