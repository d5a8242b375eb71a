"""Plain documents → validated objects, with every problem pointing at file:line.

Second step of reading a revision, after ``yamlload``: the object model
(``gitkube.api.registry``) decides what is valid and names the field; this module
turns each field path back into a line of the file the person edits, stamps each
object with where it came from (``gitkube.io/source``), and catches what no single
document can see: the same object declared twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from gitkube import errors
from gitkube.api import errors as api_errors
from gitkube.api import inventory, meta, registry
from gitkube.source import yamlload

INVENTORY_PATH = "inventory.yaml"


def validate_documents(
    docs: Iterable[yamlload.Document],
) -> tuple[list[meta.KubeObject], list[errors.Problem]]:
    """The objects of ``docs`` that are valid, and a Problem for each thing that is not."""
    objects: list[meta.KubeObject] = []
    problems: list[errors.Problem] = []
    declared: dict[tuple[str, str, str], yamlload.Document] = {}
    for doc in docs:
        try:
            obj = registry.parse_object(doc.data)
        except api_errors.ObjectInvalid as exc:
            problems.extend(_problems(doc, exc.issues, str(exc)))
            continue
        identity = (obj.kind, obj.namespace, obj.name)
        first = declared.get(identity)
        if first is not None:
            problems.append(
                errors.Problem(
                    doc.path,
                    doc.line,
                    f"{_describe(obj)} is declared twice, here and at {first.where}; "
                    "keep one of them.",
                )
            )
            continue
        declared[identity] = doc
        obj.metadata.annotations[meta.SOURCE_ANNOTATION] = doc.where
        objects.append(obj)
    return objects, problems


def validate_inventory(
    docs: list[yamlload.Document], path: str = INVENTORY_PATH
) -> tuple[inventory.Inventory | None, list[errors.Problem]]:
    """The cluster's ``inventory.yaml``: exactly one document, checked field by field."""
    if len(docs) != 1:
        found = "no document" if not docs else f"{len(docs)} documents"
        return None, [
            errors.Problem(
                path,
                docs[1].line if len(docs) > 1 else 0,
                f"The inventory must be exactly one YAML document, and this file has {found}.",
            )
        ]
    doc = docs[0]
    try:
        return registry.parse_inventory(doc.data), []
    except api_errors.ObjectInvalid as exc:
        return None, _problems(doc, exc.issues, str(exc))


def _problems(
    doc: yamlload.Document, issues: Iterable[api_errors.FieldIssue], fallback: str
) -> list[errors.Problem]:
    problems = [
        errors.Problem(doc.path, doc.line_of(issue.path), _sentence(issue.message), issue.path)
        for issue in issues
    ]
    return problems or [errors.Problem(doc.path, doc.line, _sentence(fallback))]


def _sentence(message: str) -> str:
    # Issues read as the rest of a sentence after the field name ("image: must be a
    # string"), so their first letter is kept; only the full stop is added.
    message = message.strip() or "is invalid"
    return message if message.endswith((".", "!", "?")) else message + "."


def _describe(obj: meta.KubeObject) -> str:
    where = f"{obj.namespace}/{obj.name}" if obj.namespace else obj.name
    return f"{obj.kind} {where}"
