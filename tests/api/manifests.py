"""Small manifests for the object-model tests, built as plain dicts (what YAML gives)."""

from __future__ import annotations

import copy
from typing import Any

from gitkube.api import errors, registry


def container(**fields: Any) -> dict[str, Any]:
    return {"name": "app", "image": "nginx:1.25", **fields}


def pod(spec: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", **metadata},
        "spec": spec if spec is not None else {"containers": [container()]},
    }


def deployment(spec: dict[str, Any] | None = None, **template_spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [container()], **template_spec},
            },
            **(spec or {}),
        },
    }


def replica_set(**spec: Any) -> dict[str, Any]:
    doc = deployment()
    doc["kind"] = "ReplicaSet"
    doc["spec"].update(spec)
    return doc


def with_path(doc: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    """A deep copy of ``doc`` with ``value`` set at ``path``."""
    out = copy.deepcopy(doc)
    target: Any = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


def issues(doc: dict[str, Any]) -> dict[str, str]:
    """path → message of every issue ``parse_object`` reports (fails if it accepts)."""
    try:
        registry.parse_object(doc)
    except errors.ObjectInvalid as exc:
        assert exc.issues, "ObjectInvalid without issues"
        return {issue.path: issue.message for issue in exc.issues}
    raise AssertionError("the document was accepted")
