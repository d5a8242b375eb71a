"""Small rendering helpers every CLI view shares: ages, shas, plain tables, placeholders.

The views (``render_plan``, ``tables``, ``status``, ``describe``) read the typed models of
``gitkube.api`` (what a pod's or node's status means comes from ``api/podstate`` and
``api/nodestate``); a value that is not there prints as kubectl's ``<none>`` (``text``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from rich.console import Console

from gitkube import clock
from gitkube.api.meta import KubeObject

T = TypeVar("T", bound=KubeObject)

#: What kubectl prints for a value that is not there.
NONE = "<none>"


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


def of_kind(cls: type[T], objects: Iterable[KubeObject]) -> list[T]:
    """The objects of one kind, typed (what ``Cluster.objects(plural)`` holds)."""
    return [o for o in objects if isinstance(o, cls)]


def text(value: object) -> str:
    """A value as a table cell: ``<none>`` when it is not there."""
    return NONE if value is None else str(value)


def labels(mapping: Mapping[str, str] | None) -> str:
    if not mapping:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(mapping.items()))
