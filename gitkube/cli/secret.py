"""``gitkube secret keygen`` and ``gitkube secret encrypt``: Secrets that can live in Git.

``keygen`` makes the cluster's age identity in its state directory (never in the
repository) and prints the public key; ``encrypt`` turns a plain Secret manifest
into one whose every value is an age ciphertext bound to that Secret's
namespace/name/key (``face.encrypt_manifest``; format: ``gitkube.source.secrets``).
The file keeps its comments and layout: only the values change. Nothing here ever
prints a plain value.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from rich.text import Text

from gitkube import errors
from gitkube.cli.context import Context
from gitkube.reconcile import face


def register(sub: Any, add: Any) -> None:
    """Add ``secret keygen`` and ``secret encrypt`` to the parser (``main.build_parser``)."""
    del sub
    secret = add("secret", "Encrypt Secrets for Git with the cluster's age key.", _usage)
    verbs = secret.add_subparsers(title="secret commands", dest="verb", metavar="VERB")
    keygen = verbs.add_parser(
        "keygen", help="make the cluster's age key in its state directory; print the public key",
        description="Make the cluster's age key in its state directory (never in the "
                    "repository) and print the public key to encrypt Secrets for.")
    keygen.add_argument("--show", action="store_true",
                        help="print the public key of the existing key instead")
    keygen.set_defaults(run=cmd_keygen)
    encrypt = verbs.add_parser(
        "encrypt", help="turn a plain Secret manifest into an age-encrypted one",
        description="Encrypt every value of every Secret in FILE for the cluster's public key "
                    "(or --recipient), bound to the Secret's namespace/name/key.")
    encrypt.add_argument("file", type=Path, metavar="FILE")
    encrypt.add_argument("-r", "--recipient", action="append", default=[], metavar="AGE_PUBKEY",
                         help="encrypt for this age public key (repeatable; default: the "
                              "cluster's key from `gitkube secret keygen`)")
    encrypt.add_argument("-i", "--in-place", action="store_true",
                         help="rewrite FILE instead of printing the result")
    encrypt.set_defaults(run=cmd_encrypt)
    for verb in (keygen, encrypt):
        for option, kwargs in (("--repo", {"type": Path, "metavar": "PATH"}),
                               ("--state", {"type": Path, "metavar": "DIR"})):
            verb.add_argument(option, default=argparse.SUPPRESS, help=argparse.SUPPRESS,
                              **kwargs)


def _usage(args: argparse.Namespace, ctx: Context) -> int:
    del args
    ctx.err.print("Say what to do: `gitkube secret keygen` or `gitkube secret encrypt FILE`.")
    return 2


def cmd_keygen(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.cluster(args) as cluster:
        if args.show:
            public = cluster.public_key()
            if public is None:
                raise errors.ConfigError(
                    f"This cluster has no age key yet ({cluster.age_key_file}); "
                    "make one with `gitkube secret keygen`.")
            ctx.out.print(public, highlight=False)
            return 0
        public = cluster.make_key()
        ctx.err.print(Text(f"Made the cluster's age key in {cluster.age_key_file} "
                           "(0600; keep a backup, never commit it). Its public key:"))
    ctx.out.print(public, highlight=False)
    return 0


def cmd_encrypt(args: argparse.Namespace, ctx: Context) -> int:
    recipients: list[str] = list(args.recipient)
    if not recipients:
        with ctx.cluster(args) as cluster:
            public = cluster.public_key()
        if public is None:
            raise errors.ConfigError(
                "This cluster has no age key to encrypt for; run `gitkube secret keygen` "
                "first, or name a public key with --recipient.")
        recipients = [public]
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.ConfigError(f"Cannot read {path}: {exc.strerror}.") from exc
    result, count = face.encrypt_manifest(text, recipients, where=str(path))
    if args.in_place:
        _replace_file(path, result)
        ctx.err.print(f"Encrypted {count} Secret(s) in {path}.")
    else:
        ctx.out.file.write(result)
    return 0


def _replace_file(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
