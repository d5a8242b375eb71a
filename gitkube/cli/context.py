"""What every command gets besides its arguments: where to print, the time, the user, and
a way to open the cluster the arguments name.

Its own module so that the command modules (``commands``, ``gitops``, ``watch``, ``logs``,
``rollback``, ``secret``) depend on it and not on each other.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from gitkube import clock
from gitkube.reconcile import face


@dataclass
class Context:
    out: Console
    err: Console
    clock: clock.Clock
    #: A person is at the keyboard (stdin is a TTY): ``apply`` may ask before acting.
    interactive: bool

    @contextmanager
    def cluster(self, args: argparse.Namespace) -> Iterator[face.Cluster]:
        """The cluster of ``--repo`` (or the current directory) and ``--state``, closed after."""
        repo: Path | None = getattr(args, "repo", None)
        state: Path | None = getattr(args, "state", None)
        cluster = face.open_cluster(repo, state=state)
        try:
            yield cluster
        finally:
            cluster.close()


#: A command's body: ``(args, ctx) -> exit code``.
Command = Callable[[argparse.Namespace, Context], int]
