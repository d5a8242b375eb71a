"""Errors become messages on stderr and exit codes, in one place."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gitkube import errors
from gitkube.cli import exits
from tests.cli import objects as o


def run(command: str, exc: BaseException) -> tuple[int, str]:
    err = o.console()

    def body() -> int:
        raise exc

    return exits.run(command, body, err), o.text_of(err)


def test_manifest_errors_list_every_problem_at_its_file_and_line() -> None:
    problems = [
        errors.Problem("apps/web.yaml", 12, "must be 0 or more", "spec.replicas"),
        errors.Problem("apps/db.yaml", 3, "gitkube does not support kind CronTab"),
    ]
    code, text = run("validate", errors.ManifestError(problems, revision="c0ffee" * 7))
    assert code == 1
    assert text.splitlines() == [
        "Error: the manifests at c0ffeec0ffee have 2 problems; nothing of this revision is used:",
        "  apps/web.yaml:12: spec.replicas: must be 0 or more",
        "  apps/db.yaml:3: gitkube does not support kind CronTab",
    ]


@pytest.mark.parametrize(("command", "exc", "code", "text"), [
    ("plan", errors.ConfigError("inventory.yaml:4: nodes[0].name is missing."), 1,
     "Error: inventory.yaml:4: nodes[0].name is missing."),
    ("plan", errors.SourceError("/srv/x is not a Git repository; run gitkube init."), 1,
     "Error: /srv/x is not a Git repository; run gitkube init."),
    ("apply", errors.NodeUnreachable("node-2 did not answer.", retry_after=5), 1,
     "Error: node-2 did not answer. (try again in 5s)"),
    ("apply", errors.LockHeld("Another pass holds the lock (pid 42)."), 1,
     "Error: Another pass holds the lock (pid 42)."),
    ("reconcile", errors.LockHeld("Another pass holds the lock (pid 42)."), 0, ""),
    ("apply", KeyboardInterrupt(), 130, "Interrupted."),
], ids=["config", "source", "temporary", "lock-apply", "lock-reconcile", "interrupt"])
def test_error_classes_map_to_exit_codes(command: str, exc: BaseException, code: int,
                                         text: str) -> None:
    assert run(command, exc) == (code, text)


def test_a_bug_prints_its_traceback_and_exits_1() -> None:
    code, text = run("status", ZeroDivisionError("division by zero"))
    assert code == 1
    assert "Traceback (most recent call last):" in text
    assert "ZeroDivisionError: division by zero" in text
    assert text.endswith("This is a bug in gitkube: please report it with the traceback above.")


def test_the_body_exit_code_passes_through() -> None:
    body: Callable[[], int] = lambda: 2  # noqa: E731
    assert exits.run("plan", body, o.console()) == 2
