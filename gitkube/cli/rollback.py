"""``gitkube history deployment/web`` and ``gitkube rollback [deployment/web] [REVISION]``.

``history`` is the status ledger's command (``gitops``); a ``deployment/NAME`` target
(``NAMESPACE/deployment/NAME`` outside the default namespace) is handed over here.

The views of ``Cluster.revisions`` and ``Cluster.rollback`` (``gitkube.reconcile.history``):
a kubectl-like revision table (with the Git commit that introduced each pod template) and
a rollback that commits the old template to the source branch, then says how to roll it
out.
"""

from __future__ import annotations

import argparse

from rich.text import Text

from gitkube import errors
from gitkube.api import apps, registry
from gitkube.cli import exits, render
from gitkube.cli.context import Context


def rollback_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("words", nargs="*", metavar="[deployment/NAME] [REVISION]",
                        help="the Deployment (optional when the namespace has one) and the "
                             "revision to go back to (default: the one before the newest)")
    parser.add_argument("-n", "--namespace", default="default", metavar="NAMESPACE")


def _target(text: str, namespace: str = "default") -> tuple[str, str]:
    """``deployment/NAME`` (or ``NAMESPACE/deployment/NAME``) → (namespace, name)."""
    parts = text.split("/")
    if len(parts) == 3:
        namespace = parts.pop(0)
    kind, name = parts if len(parts) == 2 else ("", parts[-1])
    if (kind and registry.plural_for(kind) != "deployments") or not name:
        raise errors.ConfigError(
            f'"{text}" is not a Deployment; history and rollback take deployment/NAME '
            "(or NAMESPACE/deployment/NAME).")
    return namespace, name


def cmd_history(args: argparse.Namespace, ctx: Context) -> int:
    # The ledger's `history` owns -n (--max-count): a namespace rides on the target instead.
    namespace, name = _target(args.target)
    with ctx.cluster(args) as cluster:
        found = cluster.revisions(name, namespace)
    rows = [[str(r.number) + (" (current)" if r.current else ""), r.replicaset,
             ",".join(r.images), str(r.replicas), r.commit[:12] or render.NONE,
             r.change_cause or render.NONE] for r in found]
    render.out(ctx.out, render.format_table(
        ["REVISION", "REPLICASET", "IMAGES", "REPLICAS", "COMMIT", "CHANGE-CAUSE"], rows))
    return exits.OK


def cmd_rollback(args: argparse.Namespace, ctx: Context) -> int:
    words: list[str] = list(args.words)
    revision = int(words.pop()) if words and words[-1].isdigit() else None
    if len(words) > 1:
        raise errors.ConfigError("rollback takes at most deployment/NAME and a REVISION.")
    with ctx.cluster(args) as cluster:
        namespace = args.namespace
        if words:
            namespace, name = _target(words[0], namespace)
        else:
            names = [d.name for d in cluster.objects("deployments")
                     if isinstance(d, apps.Deployment) and d.namespace == namespace]
            if len(names) != 1:
                raise errors.ConfigError(
                    f"Name the Deployment to roll back (`gitkube rollback deployment/NAME`); "
                    f"namespace {namespace} has {len(names)}.")
            name = names[0]
        done = cluster.rollback(name, namespace, revision)
    ctx.out.print(Text.assemble(
        "Committed ", (render.short_sha(done.commit), "bold"),
        f": deployment/{name} back to revision {done.revision} in {done.path}."))
    ctx.out.print("Run `gitkube apply` (or wait for the next pass) to roll it out.")
    return exits.OK
