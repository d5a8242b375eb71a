"""gitkube: Kubernetes' way of running containers on a handful of Linux machines,
with a Git repository as the API server."""

from __future__ import annotations

__version__ = "0.1.0"
