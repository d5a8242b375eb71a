"""``gitkube store copy``: move a cluster's state to another store (SQLite → etcd, and back).

A thin shell over ``face.copy_store`` (``gitkube.reconcile.stores``): the copy itself
(empty target, leased keys left out, checked afterwards) is ``gitkube.store.copying``.
The cluster must be stopped (``gitkube serve`` on every control machine); this machine's
pass lock is held meanwhile.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from rich.text import Text

from gitkube.cli import exits
from gitkube.cli.context import Context
from gitkube.reconcile import face


def register(sub: Any, add: Any) -> None:
    del sub
    store = add("store", "Move the cluster's state to another store (gitkube store copy).",
                _usage)
    verbs = store.add_subparsers(title="store commands", dest="verb", metavar="VERB")
    copy = verbs.add_parser(
        "copy", help="copy the cluster's store into an empty one (the cluster stopped)",
        description="Copy every key of the cluster's store (gitkube.store; SQLite in the "
                    "state directory by default) into an empty store, then check the copy. "
                    "Stop `gitkube serve` on every control machine first.")
    copy.add_argument("--to", required=True, metavar="URL",
                      help="etcd://host:2379,host2:2379, a SQLite file path or sqlite:///path")
    copy.add_argument("--cacert", type=Path, metavar="FILE",
                      help="etcd over TLS: the CA of the members' certificates")
    copy.add_argument("--cert", type=Path, metavar="FILE", help="etcd: this client's certificate")
    copy.add_argument("--key", type=Path, metavar="FILE", help="etcd: its private key")
    for option in ("--repo", "--state"):
        copy.add_argument(option, type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    copy.set_defaults(run=cmd_copy)


def _usage(args: argparse.Namespace, ctx: Context) -> int:
    del args
    ctx.err.print("Say what to do: `gitkube store copy --to etcd://host:2379`.")
    return exits.CHANGES


def cmd_copy(args: argparse.Namespace, ctx: Context) -> int:
    repo = face.find_repository(getattr(args, "repo", None) or Path.cwd())
    copied, source, key_file = face.copy_store(repo, getattr(args, "state", None), args.to,
                                               cacert=args.cacert, cert=args.cert, key=args.key)
    skipped = f" ({copied.skipped} on a lease left out)" if copied.skipped else ""
    ctx.out.print(Text(f"Copied {copied.keys:,} keys{skipped} from {source} to {args.to} "
                       f"(store revision {copied.source_revision} there, "
                       f"{copied.target_revision} here)."))
    ctx.out.print(Text(f"Secrets stay encrypted with the key in {key_file}: every control "
                       "machine needs that file (or gitkube.encryptionKey pointing at a copy)."))
    setting = [("store", args.to)]
    setting += [(name, str(path)) for name, path in (
        ("storeCACert", args.cacert), ("storeCert", args.cert), ("storeKey", args.key)) if path]
    ctx.out.print(Text("To use it, on every control machine:"))
    for name, value in setting:
        ctx.out.print(Text(f"  git -C {shlex.quote(str(repo))} config gitkube.{name} "
                           f"{shlex.quote(value)}"))
    return exits.OK
