"""Errors to exit codes and messages: the one place the CLI decides how a failure ends.

    0    done (``reconcile`` also when another pass holds the lock, or another control
         machine leads: nothing to do)
    1    an error: gitkube's own (message only) or a bug (traceback)
    2    bad command-line usage (argparse), or ``plan --detailed-exitcode`` with changes
    130  interrupted (Ctrl-C)

gitkube's errors are sentences meant for people, so they are printed as they are;
a ``ManifestError`` lists its problems one per line as ``path:line: field: message``
so that editors and CI annotations can jump to them.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from rich.console import Console
from rich.text import Text

from gitkube import errors
from gitkube.cli import render

OK = 0
ERROR = 1
CHANGES = 2
INTERRUPTED = 130


def describe_error(exc: BaseException) -> list[Text]:
    """The lines printed on stderr for one of gitkube's errors."""
    if isinstance(exc, errors.ManifestError):
        at = f" at {render.short_sha(exc.revision)}" if exc.revision else ""
        count = render.plural(len(exc.problems), "problem")
        head = Text(f"Error: the manifests{at} have {count}; nothing of this revision is used:",
                    style="bold red")
        return [head, *(Text(f"  {problem}") for problem in exc.problems)]
    message = str(exc) or type(exc).__name__
    if isinstance(exc, errors.TemporaryError) and exc.retry_after:
        message += f" (try again in {exc.retry_after:g}s)"
    return [Text.assemble(("Error: ", "bold red"), message)]


def run(command: str, body: Callable[[], int], err: Console) -> int:
    """Run a command's body; turn whatever it raises into a message and an exit code."""
    try:
        return body()
    except KeyboardInterrupt:
        err.print(Text("Interrupted.", style="yellow"))
        return INTERRUPTED
    except errors.LockHeld as exc:
        if command == "reconcile":
            return OK  # a pass is already running: this cron tick has nothing to do
        _print(err, describe_error(exc))
        return ERROR
    except errors.NotLeader as exc:
        if command == "reconcile":  # another control machine leads: say who, nothing to do
            err.print(Text(str(exc)))
            return OK
        _print(err, describe_error(exc))
        return ERROR
    except errors.GitkubeError as exc:
        _print(err, describe_error(exc))
        return ERROR
    except Exception:
        render.out(err, traceback.format_exc().rstrip("\n"))
        err.print(Text("This is a bug in gitkube: please report it with the traceback above.",
                       style="bold red"))
        return ERROR


def _print(err: Console, lines: list[Text]) -> None:
    for line in lines:
        err.print(line, soft_wrap=True)
