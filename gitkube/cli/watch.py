"""``gitkube status --watch``: the status screen, redrawn as passes happen.

Read side of the CLI. It polls the store's revision (``Cluster.revision``; every pass
writes its record there, so a new revision means a pass, or part of one, has happened)
and rebuilds the ``StatusView`` only then, or every few seconds so that ages and "Last
pass 12s ago" stay true. The screen is ``status.status_parts`` inside ``rich.live.Live``:
the same drawing as ``gitkube status``, so its render tests cover both.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Group
from rich.live import Live
from rich.text import Text

from gitkube.cli import status
from gitkube.cli.context import Context
from gitkube.reconcile import face

#: Seconds between looks at the store.
POLL_SECONDS = 0.25
#: Redraw at least this often, for ages and "ago".
REDRAW_SECONDS = 2.0


def screen(view: status.StatusView) -> Group:
    hint = Text("Watching; Ctrl-C to stop.", style="dim")
    return Group(*status.status_parts(view), Text(), hint)


def watch(cluster: face.Cluster, ctx: Context, *,
          keep_going: Callable[[], bool] = lambda: True, poll: float = POLL_SECONDS) -> None:
    """Show the live status until Ctrl-C (or until ``keep_going`` says stop: tests)."""
    seen = -1
    drawn = 0.0
    view = status.build_status_view(cluster, ctx.clock.now())
    with Live(screen(view), console=ctx.out, auto_refresh=False,
              redirect_stdout=False, redirect_stderr=False) as live:
        while keep_going():
            revision = cluster.revision()
            if revision != seen or time.monotonic() - drawn >= REDRAW_SECONDS:
                seen = revision
                drawn = time.monotonic()
                view = status.build_status_view(cluster, ctx.clock.now())
                live.update(screen(view), refresh=True)
            time.sleep(poll)
