"""Plain documents → validated objects, with every problem pointing at file:line.

Second step of reading a revision, after ``yamlload``: a ``v1 List`` is unwrapped into
its items as kubectl unwraps it (``unwrap_lists``); the object model
(``gitkube.api.registry``) decides what is valid and names the field; this module
turns each field path back into a line of the file the person edits, stamps each
object with where it came from (``gitkube.io/source``), and catches what no single
document can see: the same object declared twice, an object in a namespace the revision
does not declare.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gitkube import errors
from gitkube.api import errors as api_errors
from gitkube.api import inventory, meta, registry
from gitkube.source import yamlload

INVENTORY_PATH = "inventory.yaml"
#: Namespaces every cluster has without a manifest (Kubernetes makes them at start-up).
BUILT_IN_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


def unwrap_lists(
    docs: Iterable[yamlload.Document],
) -> tuple[list[yamlload.Document], list[errors.Problem]]:
    """Documents with every ``apiVersion: v1, kind: List`` replaced by its items, each a
    document at its own line (kubectl applies a List as the objects it holds)."""
    out: list[yamlload.Document] = []
    problems: list[errors.Problem] = []
    for doc in docs:
        if doc.data.get("kind") != "List":
            out.append(doc)
            continue
        items = doc.data.get("items")
        if doc.data.get("apiVersion") != "v1" or not isinstance(items, list):
            where = "apiVersion" if doc.data.get("apiVersion") != "v1" else "items"
            problems.append(errors.Problem(doc.path, doc.line_of(where), (
                "A List is `apiVersion: v1` with `items:`, a list of objects; this one has "
                f"apiVersion {doc.data.get('apiVersion')!r} and "
                f"{'a list' if isinstance(items, list) else 'no list'} of items."), where))
            continue
        holder = doc.lines.keys.get("items") if doc.lines is not None else None
        for index, item in enumerate(items):
            lines = holder.items[index] if holder is not None else None
            line = lines.line if lines is not None else doc.line
            if not isinstance(item, dict):
                problems.append(errors.Problem(doc.path, line, (
                    f"items[{index}] of the List is not an object; each item is a mapping "
                    "with apiVersion, kind and metadata."), f"items[{index}]"))
                continue
            out.append(yamlload.Document(doc.path, line, doc.index, item, lines))
    return out, problems


def validate_documents(
    docs: Sequence[yamlload.Document],
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
    outside = _undeclared_namespaces(objects, declared, docs)
    problems += outside.values()
    return [obj for obj in objects if obj.key not in outside], problems


def _undeclared_namespaces(
    objects: Sequence[meta.KubeObject], declared: dict[tuple[str, str, str], yamlload.Document],
    docs: Iterable[yamlload.Document],
) -> dict[str, errors.Problem]:
    """Store key → problem of each object in a namespace the revision does not declare, as
    Kubernetes refuses it. A Namespace manifest counts even when it is itself invalid (that
    has its own problem)."""
    namespaces = set(BUILT_IN_NAMESPACES)
    for doc in docs:
        metadata = doc.data.get("metadata")
        if doc.data.get("kind") == "Namespace" and isinstance(metadata, dict):
            namespaces.add(str(metadata.get("name")))
    problems = {}
    for obj in objects:
        if not obj.namespaced or obj.namespace in namespaces:
            continue
        doc = declared[(obj.kind, obj.namespace, obj.name)]
        problems[obj.key] = errors.Problem(
            doc.path, doc.line_of("metadata.namespace"),
            f"{_describe(obj)} is in namespace {obj.namespace!r}, which no manifest of this "
            f"revision declares (Kubernetes answers: namespaces \"{obj.namespace}\" not "
            "found); add a Namespace manifest for it.", "metadata.namespace")
    return problems


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
