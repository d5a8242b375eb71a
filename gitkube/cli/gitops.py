"""The GitOps commands: ``serve``, ``cron``, ``events`` and ``history``.

Registered into the parser by ``register`` (called from ``main``), each a thin
shell over the library face (``gitkube.reconcile.face``): its daemon runs ``serve``,
``Cluster.events`` lists what happened, ``Cluster.status_log`` reads the ledger. ``history TARGET``
(a workload's revisions) belongs to the rollout work: it plugs its function into
``TARGET_HISTORY`` and ``history`` hands such targets over.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text

from gitkube import errors
from gitkube.api import registry
from gitkube.cli import exits, render
from gitkube.cli.context import Command, Context
from gitkube.reconcile import face

Add = Callable[..., argparse.ArgumentParser]

#: ``history KIND/NAME`` handlers by plural kind (``deployments``); see the module docstring.
TARGET_HISTORY: dict[str, Command] = {}


def register(sub: Any, add: Add) -> None:
    serve = add("serve", "Run passes on every push and every interval (a daemon).", cmd_serve)
    serve.add_argument("--interval", type=float, default=30.0, metavar="SECONDS",
                       help="resync this often when nothing is pushed (default: 30)")
    serve.add_argument("--follow", metavar="URL",
                       help="mirror the branch of this remote repository (fetched, then applied)")
    serve.add_argument("--fetch-interval", type=float, default=10.0, metavar="SECONDS",
                       help="with --follow: fetch this often (default: 10)")
    serve.add_argument("--print-systemd-unit", action="store_true",
                       help="print a systemd service for this command, and exit")
    serve.add_argument("--max-passes", type=int, default=None, help=argparse.SUPPRESS)

    add("cron", "Print the crontab line that reconciles this cluster every minute.", cmd_cron)

    events = add("events", "What happened: scheduling, starts, kills, probes, errors.",
                 cmd_events)
    events.add_argument("--for", dest="target", metavar="KIND/NAME",
                        help="only events about this object (pod/web-1, node/node-2)")
    scope = events.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", default=None, metavar="NAMESPACE")
    scope.add_argument("-A", "--all-namespaces", action="store_true")

    history = add("history", "The status ledger (gitkube/status), newest first.", cmd_history)
    history.add_argument("target", nargs="?", metavar="KIND/NAME",
                         help="a workload's revisions instead (deployment/web)")
    history.add_argument("-n", "--max-count", type=int, default=20, metavar="N",
                         help="at most N entries (default: 20)")


# -- serve, cron -------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, ctx: Context) -> int:
    repo: Path | None = getattr(args, "repo", None)
    state: Path | None = getattr(args, "state", None)
    if args.print_systemd_unit:
        found = face.find_repository(repo or Path.cwd())
        render.out(ctx.out, face.systemd_unit(
            sys.executable, found, interval=args.interval, follow=args.follow,
            containers_conf=os.environ.get("CONTAINERS_CONF")).rstrip("\n"))
        return exits.OK
    lock = threading.Lock()

    def log(line: str) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with lock:
            render.out(ctx.out, f"{stamp} {line}")
            ctx.out.file.flush()

    daemon = face.daemon(repo, state, interval=args.interval, follow=args.follow,
                         fetch_interval=args.fetch_interval, max_passes=args.max_passes,
                         log=log)
    previous = {sig: signal.signal(sig, lambda *_: daemon.stop())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        daemon.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return exits.OK


def cmd_cron(args: argparse.Namespace, ctx: Context) -> int:
    repo = face.find_repository(getattr(args, "repo", None) or Path.cwd())
    state: Path | None = getattr(args, "state", None)
    conf = os.environ.get("CONTAINERS_CONF")
    env = f"CONTAINERS_CONF={shlex.quote(conf)} " if conf else ""
    state_arg = f" --state {shlex.quote(str(state.resolve()))}" if state else ""
    line = (f"* * * * * {env}{shlex.quote(sys.executable)} -m gitkube --repo "
            f"{shlex.quote(str(repo))}{state_arg} reconcile")
    ctx.err.print("# Add to `crontab -e`: one pass a minute; a run that finds a pass running "
                  "exits quietly,\n# and output (mailed by cron) appears only when something "
                  "changed or failed.", highlight=False, soft_wrap=True)
    render.out(ctx.out, line)
    return exits.OK


# -- events ------------------------------------------------------------------------------------


def cmd_events(args: argparse.Namespace, ctx: Context) -> int:
    kind = name = ""
    if args.target:
        kind, _, name = args.target.partition("/")
        if not name:
            raise errors.ConfigError(
                f"--for takes KIND/NAME (pod/web-1, node/node-2), not {args.target!r}.")
        plural = registry.plural_for(kind)
        kind = registry.kind_for(plural) if plural else kind.lower().removesuffix("s")
    # Default: every namespace (a gitkube cluster is small); -n narrows it to one.
    namespace = None if args.all_namespaces else args.namespace
    with ctx.cluster(args) as cluster:
        found = cluster.events(kind=kind, name=name, namespace=namespace)
    if not found:
        ctx.err.print("No events found.", highlight=False)
        return exits.OK
    now = ctx.clock.now()
    rows = []
    for event in found:
        involved = event.get("involvedObject", {})
        count = int(event.get("count", 1))
        seen = render.ago(event.get("lastTimestamp"), now).removesuffix(" ago")
        rows.append([seen + (f" (x{count})" if count > 1 else ""), str(event.get("type", "")),
                     str(event.get("reason", "")),
                     f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
                     str(event.get("message", ""))])
    render.out(ctx.out, render.format_table(["LAST SEEN", "TYPE", "REASON", "OBJECT",
                                             "MESSAGE"], rows))
    return exits.OK


def event_lines(events: list[face.Event], now: dt.datetime) -> list[str]:
    """The ``Events:`` section ``describe`` appends (kubectl's layout)."""
    if not events:
        return ["Events:          <none>"]
    rows = [[str(e.get("type", "")), str(e.get("reason", "")),
             render.ago(e.get("lastTimestamp"), now).removesuffix(" ago")
             + (f" (x{e.get('count')})" if int(e.get("count", 1)) > 1 else ""),
             str(e.get("source", {}).get("component", "")), str(e.get("message", ""))]
            for e in events[-20:]]
    table = render.format_table(["Type", "Reason", "Age", "From", "Message"], rows)
    return ["Events:", *("  " + line for line in table.splitlines())]


# -- history -----------------------------------------------------------------------------------


def cmd_history(args: argparse.Namespace, ctx: Context) -> int:
    if args.target:
        kind, _, name = args.target.partition("/")
        plural = registry.plural_for(kind) or kind.lower()
        handler = TARGET_HISTORY.get(plural)
        if handler is None or not name:
            raise errors.ConfigError(
                f"`gitkube history {args.target}` is not available: history of a single "
                f"object is kept for {', '.join(sorted(TARGET_HISTORY)) or 'no kind yet'}. "
                "Without a target, `gitkube history` shows the cluster's status ledger.")
        return handler(args, ctx)
    with ctx.cluster(args) as cluster:
        entries = cluster.status_log(args.max_count)
    if not entries:
        ctx.err.print("No status commits yet: the first pass writes one "
                      "(`gitkube apply` or `gitkube reconcile`).", highlight=False)
        return exits.OK
    now = ctx.clock.now()
    for entry in entries:
        subject, _, body = entry.message.partition("\n")
        source = next((line.split(":", 1)[1].strip() for line in body.splitlines()
                       if line.startswith("Source-Revision:")), "")
        at = f" at {render.short_sha(source)}" if source else ""
        when = render.ago(entry.time.strftime("%Y-%m-%dT%H:%M:%SZ"), now)
        ctx.out.print(Text.assemble((entry.sha[:8], "yellow"), " ", (f"{when:>9}", "dim"),
                                    f"{at}  ", subject), soft_wrap=True, highlight=False)
    return exits.OK
