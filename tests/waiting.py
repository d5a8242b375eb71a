"""Bounded polling for tests of things that happen on their own (supervisors, daemons).

The bound is an upper limit so that a broken system fails the test, never a measurement."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def until(check: Callable[[], Any], what: str, timeout: float = 30.0,
          every: float = 0.2) -> Any:
    """Poll ``check`` until it answers something true, and return that; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"never happened: {what}")
