"""Small helpers shared by the agent tests that drive a real podman."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def pod_run(name: str, containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A PodRun for the agent, stopped without grace (tests must not wait on SIGTERM)."""
    return {"uid": f"uid-{name}", "name": name, "namespace": "default", "hash": "h1",
            "terminationGracePeriodSeconds": 0, "containers": containers, **extra}


def until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it answers something true (bounded: the supervisor ticks each s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")
