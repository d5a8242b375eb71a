"""Rules shared by every kind: object names, namespaces, labels, annotations, selectors.

These run when an object is read from Git (``registry.parse_object``), after
pydantic has checked the field types; each returns ``FieldIssue``s with full paths
so that every problem of a document is reported at once, as Kubernetes does.
"""

from __future__ import annotations

from collections.abc import Mapping

from gitkube.api import errors, names
from gitkube.api.meta import KubeObject

#: Kubernetes' limit on the total size of an object's annotations.
ANNOTATIONS_MAX_BYTES = 256 * 1024


def check_metadata(obj: KubeObject, *, name_is_label: bool = False) -> list[errors.FieldIssue]:
    """Name (DNS subdomain, or label for Namespaces), namespace, labels and annotations."""
    meta = obj.metadata
    issues = []
    name_rule = names.dns1123_label_errors if name_is_label else names.dns1123_subdomain_errors
    if meta.generate_name is not None:
        # Kubernetes checks a prefix as a name whose trailing '-' is masked.
        prefix = meta.generate_name[:names.GENERATED_BASE_MAX]
        issues += [errors.FieldIssue("metadata.generateName", p)
                   for p in name_rule(prefix[:-1] + "a" if prefix.endswith("-") else prefix)]
    if not meta.name:
        issues.append(errors.FieldIssue("metadata.name", "field 'name' is required"))
    elif not _generated(meta.name, meta.generate_name):
        issues += [errors.FieldIssue("metadata.name", p) for p in name_rule(meta.name)]
    if meta.namespace is not None:
        if not obj.namespaced:
            issues.append(errors.FieldIssue(
                "metadata.namespace",
                f"{obj.kind} is cluster-scoped and has no namespace; remove metadata.namespace",
            ))
        else:
            issues += [errors.FieldIssue("metadata.namespace", p)
                       for p in names.dns1123_label_errors(meta.namespace)]
    issues += check_labels("metadata.labels", meta.labels)
    issues += check_annotations("metadata.annotations", meta.annotations)
    return issues


def _generated(name: str, base: str | None) -> bool:
    """Whether ``name`` is the one ``base`` generated (checked through its base instead)."""
    prefix = (base or "")[:names.GENERATED_BASE_MAX]
    return bool(prefix) and name[:-names.GENERATED_SUFFIX_LENGTH] == prefix


def check_labels(path: str, labels: Mapping[str, str]) -> list[errors.FieldIssue]:
    issues = []
    for key, value in labels.items():
        where = errors.child(path, key)
        issues += [errors.FieldIssue(where, f"key {key!r}: {p}")
                   for p in names.qualified_name_errors(key)]
        issues += [errors.FieldIssue(where, f"value {value!r}: {p}")
                   for p in names.label_value_errors(value)]
    return issues


def check_annotations(path: str, annotations: Mapping[str, str]) -> list[errors.FieldIssue]:
    issues = []
    size = 0
    for key, value in annotations.items():
        size += len(key) + len(value.encode())
        issues += [errors.FieldIssue(errors.child(path, key), f"key {key!r}: {p}")
                   for p in names.qualified_name_errors(key)]
    if size > ANNOTATIONS_MAX_BYTES:
        issues.append(errors.FieldIssue(
            path, f"annotations total {size} bytes; they must have at most "
                  f"{ANNOTATIONS_MAX_BYTES} bytes"))
    return issues


def check_reference_name(path: str, name: str) -> list[errors.FieldIssue]:
    """A reference to another object by name (a ConfigMap, a Secret)."""
    if not name:
        return [errors.FieldIssue(path, "field 'name' is required")]
    return [errors.FieldIssue(path, p) for p in names.dns1123_subdomain_errors(name)]
