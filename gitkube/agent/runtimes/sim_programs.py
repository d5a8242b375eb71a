"""What a simulated container does: a container's command read as a tiny shell script.

The simulated runtime runs no processes; it reads a container's ``command`` and ``args`` as
the few shell statements tests and examples use, and plays them on its clock: ``echo`` (a
log line; with a redirection it writes a file, which the simulator ignores), ``sleep N``,
``exit N``, ``true``/``:`` and ``false``, separated by ``;``, ``&&`` or newlines, directly
or under ``sh -c``. So ``sh -c "echo start; sleep 2; exit 3"`` logs ``start``, runs two
seconds and exits 3, as it would under podman. A program it cannot read (a server such as
``httpd -f``, or no command at all: the image's own) runs until it is stopped; an init
container without a command completes at once, so a pod's initialisation goes on.

``exec`` commands (probes, hooks) are read the same way, instantly: their status is the
last statement's, and what the simulator cannot read passes.
"""

from __future__ import annotations

import shlex
from typing import Union

#: One step: ["echo", text], ["sleep", seconds], ["exit", code] or ["forever"].
Step = list[Union[str, float, int]]  # noqa: UP007 - evaluated on Python 3.9 too
FOREVER: Step = ["forever"]
_SHELLS = ("sh", "bash", "ash")
_STATUS = {"true": 0, ":": 0, "false": 1}


def program(command: list[str], args: list[str], *, completes: bool = False) -> list[Step]:
    """The steps of a container; ``completes``: an unreadable one exits 0 at once (an init
    container's) instead of running until stopped."""
    argv = [*command, *args]
    if not argv:
        return [["exit", 0]] if completes else [FOREVER]
    steps = read(argv)
    if steps is None:
        return [["exit", 0]] if completes else [FOREVER]
    return steps


def read(argv: list[str]) -> list[Step] | None:
    """The steps of ``argv`` (``sh -c SCRIPT`` or one command); None: not readable."""
    if argv[0].rsplit("/", 1)[-1] in _SHELLS and len(argv) >= 3 and argv[1] == "-c":
        statements = [s for line in argv[2].splitlines()
                      for part in line.split(";") for s in part.split("&&")]
    else:
        statements = [shlex.join(argv)]
    steps: list[Step] = []
    status = 0
    for statement in statements:
        try:
            words = shlex.split(statement, comments=True)
        except ValueError:
            return None
        if not words:
            continue
        step, status = _statement(words, status)
        if step is None:
            return None
        if step:
            steps.append(step)
        if step and step[0] == "exit":
            return steps
    return [*steps, ["exit", status]]


def _statement(words: list[str], status: int) -> tuple[Step | None, int]:
    """One statement's step ([] for none) and the status it leaves; None: not readable."""
    name = words[0].rsplit("/", 1)[-1]
    if name in _STATUS:
        return [], _STATUS[name]
    if name == "echo":
        if any(w.startswith(">") or w == "|" for w in words):
            return [], 0
        return ["echo", " ".join(w for w in words[1:] if w != "-n")], 0
    if name == "exit":
        code = words[1] if len(words) > 1 else str(status)
        return (["exit", int(code) % 256], 0) if code.isdigit() else (None, status)
    if name == "sleep" and len(words) == 2:
        if words[1] == "infinity":
            return FOREVER, 0
        try:
            return ["sleep", float(words[1])], 0
        except ValueError:
            return None, status
    return None, status


def timeline(steps: list[Step]) -> tuple[list[tuple[float, str]], float | None, int]:
    """(log lines with their offsets, seconds until it exits or None for never, exit code)."""
    logs: list[tuple[float, str]] = []
    at = 0.0
    for step in steps:
        if step[0] == "echo":
            logs.append((at, str(step[1])))
        elif step[0] == "sleep":
            at += float(step[1])
        elif step[0] == "exit":
            return logs, at, int(step[1])
        else:
            return logs, None, 0
    return logs, at, 0


def run_now(argv: list[str], timeout: float) -> tuple[bool, str]:
    """An exec (probe, hook) at once: (exit code 0 within ``timeout``, its output)."""
    steps = read(argv) if argv else []
    if steps is None:
        return True, ""
    logs, took, code = timeline(steps)
    if took is None or took > timeout:
        return False, f"command timed out after {timeout:g} s"
    output = "\n".join(line for _, line in logs)
    return code == 0, output or f"exit code {code}"
