"""Which runtime a node runs: the one place that maps ``runtime.kind`` to a class.

The handler and the supervisor build their runtime here from the request's (or
``runtime.json``'s) ``RuntimeConfig``; nothing else knows which runtime it has. A new
runtime is one more entry in ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .. import protocol
from . import base, containerd, podman, sim

#: ``RuntimeConfig.kind`` → the runtime's class.
KINDS: dict[str, Callable[..., base.Runtime]] = {
    "podman": podman.PodmanRuntime,
    "containerd": containerd.ContainerdRuntime,
    "sim": sim.SimRuntime,
}


def make(config: protocol.RuntimeConfig, state_dir: Path, node: str) -> base.Runtime:
    """The runtime ``config`` names (podman when it names none) for ``node``."""
    kind = config.get("kind", "podman")
    chosen = KINDS.get(kind)
    if chosen is None:
        known = "', '".join(KINDS)
        raise base.RuntimeFailure(f"Unknown runtime kind {kind!r}; use '{known}'.",
                                  permanent=True)
    return chosen(config, state_dir, node=node)
