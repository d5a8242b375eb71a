"""Small helpers shared by the agent tests that drive a real podman."""

from __future__ import annotations

from typing import Any

from tests.waiting import until

__all__ = ["pod_run", "until"]


def pod_run(name: str, containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A PodRun for the agent, stopped without grace (tests must not wait on SIGTERM)."""
    return {"uid": f"uid-{name}", "name": name, "namespace": "default", "hash": "h1",
            "terminationGracePeriodSeconds": 0, "containers": containers, **extra}
