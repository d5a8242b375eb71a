"""``gitkube``'s entry point: the argument parser and the dispatch to ``commands``.

``main(argv)`` returns the exit code (the console script passes it to ``sys.exit``).
Consoles and the clock can be handed in, which is how the tests drive it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

import gitkube
from gitkube import clock
from gitkube.cli import commands, exits, gitops, logs, rollback, secret, storecmd
from gitkube.cli.context import Command, Context

#: ``add(name, summary, run, for_init=False)``: a subcommand, with the global options.
Add = Callable[..., argparse.ArgumentParser]

DESCRIPTION = """\
Kubernetes' way of running containers on a handful of Linux machines,
with a Git repository as the API server: push manifests, then plan and apply."""

EPILOG = """\
examples:
  gitkube init demo --from ./manifests   make a cluster repository
  gitkube plan                           what would change, and why
  gitkube apply --yes                    make it so, without asking
  gitkube serve                          apply every push (and resync every 30s)
  gitkube get pods -o wide               pods with their node and IP
  * * * * * gitkube --repo /srv/cluster reconcile    (crontab: one pass a minute)"""


def _globals(for_init: bool = False) -> argparse.ArgumentParser:
    # SUPPRESS keeps a subcommand's unset option from hiding one given before the subcommand.
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("global options")
    if not for_init:
        group.add_argument("--repo", type=Path, default=argparse.SUPPRESS, metavar="PATH",
                           help="the cluster repository (default: found from the current "
                                "directory upwards)")
    group.add_argument("--state", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                       help="where the cluster's store and lock live (default: inside .git)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gitkube", description=DESCRIPTION, epilog=EPILOG, parents=[_globals()],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"gitkube {gitkube.__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                                required=True)

    def add(name: str, summary: str, run: Command, *, for_init: bool = False,
            ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=summary, description=summary,
                                 parents=[_globals(for_init)])
        command.set_defaults(run=run)
        return command

    _pass_commands(add)
    _read_commands(add)
    gitops.register(sub, add)
    secret.register(sub, add)
    logs.register(sub, add)
    storecmd.register(sub, add)
    return parser


def _pass_commands(add: Add) -> None:
    """init, validate, plan, apply, reconcile."""
    init = add("init", "Make a directory a cluster repository.", commands.cmd_init, for_init=True)
    init.add_argument("directory", type=Path, metavar="DIR")
    init.add_argument("--from", dest="from_folder", type=Path, metavar="FOLDER",
                      help="copy the manifests of this folder into the first commit")
    init.add_argument("--bare", action="store_true",
                      help="a bare repository, to push to (hooks wake the cluster on push)")

    add("validate", "Check the manifests of the newest commit.", commands.cmd_validate)

    plan = add("plan", "Show what a pass would change, and why.", commands.cmd_plan)
    plan.add_argument("--detailed-exitcode", action="store_true",
                      help="exit 0 when nothing would change, 2 when something would, 1 on error")
    plan.add_argument("-o", "--output", choices=["json"], help="print the plan as JSON")
    plan.add_argument("--no-refresh", action="store_true",
                      help="do not ask the nodes what they run; plan from the store alone")
    plan.add_argument("--revision", metavar="REF",
                      help="plan REF (a branch, tag or commit) as if the cluster branch pointed "
                      "at it: what merging a pull request would do, for CI before the merge")
    plan.add_argument("--out", type=Path, metavar="FILE",
                      help="save the plan, to apply exactly it later with `gitkube apply FILE`")

    apply = add("apply", "Plan, then carry the plan out.", commands.cmd_apply)
    apply.add_argument("plan_file", nargs="?", type=Path, metavar="FILE",
                       help="a plan saved by `gitkube plan --out`: apply exactly it, or refuse "
                            "when Git or the cluster moved on")
    apply.add_argument("-y", "--yes", action="store_true", help="do not ask before applying")

    reconcile = add("reconcile", "One quiet pass, for cron: prints only changes and failures.",
                    commands.cmd_reconcile)
    reconcile.add_argument("--wait", action="store_true",
                           help="wait for a running pass instead of exiting quietly")
    reconcile.add_argument("--detailed-exitcode", action="store_true",
                           help="exit 0 when nothing changed, 2 when something did, 1 on failure")


def _read_commands(add: Add) -> None:
    """get, describe, delete (pods), rollback (and history deployment/NAME), status."""
    get = add("get", "List objects, like kubectl get.", commands.cmd_get)
    get.add_argument("kind", metavar="KIND",
                     help="pods, deployments, replicasets, statefulsets, daemonsets, jobs, "
                          "cronjobs, nodes, services, endpointslices, configmaps, secrets, "
                          "namespaces, persistentvolumeclaims, persistentvolumes, "
                          "storageclasses (or po, deploy, rs, sts, ds, cj, no, svc, cm, ns, pvc, "
                          "pv, sc)")
    get.add_argument("name", nargs="?", metavar="NAME", help="one object only")
    get.add_argument("-o", "--output", choices=["wide", "json", "yaml"])
    _namespace(get, all_namespaces=True)

    describe = add("describe", "Show one object in detail.", commands.cmd_describe)
    describe.add_argument("kind", choices=sorted(commands.DESCRIBE_KINDS), metavar="KIND",
                          help="pod, deployment, node, pvc or service")
    describe.add_argument("name", metavar="NAME")
    _namespace(describe, all_namespaces=False)

    delete = add("delete", "Delete a pod as kubectl does: its controller makes it again, or "
                 "Git does if Git declares it (a restart).", commands.cmd_delete)
    delete.add_argument("kind", choices=["pod", "pods", "po"], metavar="KIND", help="pod")
    delete.add_argument("name", metavar="NAME")
    _namespace(delete, all_namespaces=False)

    # `gitkube history deployment/web` (the ledger's history command hands it over).
    gitops.TARGET_HISTORY["deployments"] = rollback.cmd_history
    rollback.rollback_arguments(add(
        "rollback", "Commit an earlier revision's pod template to Git (default: the previous "
        "one); the next pass rolls it out.", rollback.cmd_rollback))

    status = add("status", "The cluster at a glance: nodes, workloads, pods, last pass.",
                 commands.cmd_status)
    status.add_argument("-w", "--watch", action="store_true",
                        help="keep the view on screen, redrawn as passes happen")


def _namespace(parser: argparse.ArgumentParser, *, all_namespaces: bool) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", default="default", metavar="NAMESPACE",
                       help="the namespace (default: default)")
    if all_namespaces:
        scope.add_argument("-A", "--all-namespaces", action="store_true",
                           help="objects of every namespace")


def main(argv: Sequence[str] | None = None, *, out: Console | None = None,
         err: Console | None = None, now: clock.Clock | None = None) -> int:
    """Run ``gitkube`` with ``argv`` (default: the process's); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse has printed
        return exc.code if isinstance(exc.code, int) else exits.ERROR
    ctx = Context(
        out=out or Console(highlight=False),
        err=err or Console(stderr=True, highlight=False),
        clock=now or clock.SystemClock(),
        interactive=sys.stdin is not None and sys.stdin.isatty(),
    )
    run: Command = args.run
    return exits.run(args.command, lambda: run(args, ctx), ctx.err)

