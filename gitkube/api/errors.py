"""What is wrong with one object, field by field.

``parse_object`` raises ``ObjectInvalid`` carrying ``FieldIssue``s whose paths use
Kubernetes' wire names (``spec.template.spec.containers[0].containerPort``), so the
source layer can point each issue at a file:line. Pydantic's ``ValidationError`` is
translated here, at the boundary of the object model, into sentences a person can
act on. This module imports nothing of gitkube (the api layer stands alone).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

_PLAIN_SEGMENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
#: The bounds of Kubernetes' integer types (``fields.Int32``/``Int64``), named in messages.
_GO_TYPES = {2**31 - 1: "int32", -(2**31): "int32", 2**63 - 1: "int64", -(2**63): "int64"}

#: Kubernetes fields gitkube knows of and does not implement (yet). Any other unknown
#: field is reported as unknown, which usually means a typo or a wrong indentation.
KUBERNETES_FIELDS = frozenset({
    "activeDeadlineSeconds", "affinity", "allocatedResources",
    "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "config", "configSource",
    "csi", "daemonEndpoints", "dataSource", "dataSourceRef", "deletionGracePeriodSeconds",
    "ephemeral", "ephemeralContainerStatuses", "ephemeralContainers", "externalID",
    "externalIPs", "fc", "features", "fileKeyRef", "finalizers",
    "flexVolume", "flocker", "gcePersistentDisk", "generateName", "gitRepo", "glusterfs", "grpc",
    "healthCheckNodePort",
    "hostAliases", "hostIPC", "hostIPs", "hostNetwork", "hostPID", "hostPath", "hostUsers",
    "image", "imagePullSecrets", "images", "iscsi",
    "livenessProbe", "loadBalancerClass", "loadBalancerIP", "loadBalancerSourceRanges",
    "managedFields", "nfs", "nominatedNodeName", "os", "overhead",
    "persistentVolumeClaim", "phase", "photonPersistentDiskVolume", "podCIDR", "podCIDRs",
    "podIPs", "portworxVolume", "preemptionPolicy", "priorityClassName", "projected", "providerID",
    "qosClass", "quobyte", "rbd", "readinessGates", "readinessProbe", "resize", "resizePolicy",
    "resourceClaimStatuses", "resourceClaims", "resources", "restartPolicy",
    "runtimeClassName", "runtimeHandlers", "scaleIO", "schedulerName", "schedulingGates",
    "seLinuxChangePolicy", "secrets", "selfLink", "setHostnameAsFQDN",
    "shareProcessNamespace", "startupProbe", "stdin", "stdinOnce", "stopSignal", "storageos",
    "supplementalGroupsPolicy",
    "terminationMessagePath", "terminationMessagePolicy", "topologySpreadConstraints",
    "trafficDistribution", "tty",
    "volumeAttributesClassName", "volumeDevices", "volumesAttached", "volumesInUse",
    "vsphereVolume",
    # Job fields (batch/v1) beyond what controllers/jobs.py implements.
    "backoffLimitPerIndex", "managedBy", "maxFailedIndexes", "podFailurePolicy",
    "podReplacementPolicy", "successPolicy",
})


@dataclass(frozen=True)
class FieldIssue:
    """One problem with one field; ``path`` is empty when it concerns the whole object."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ObjectInvalid(ValueError):
    """An object (one manifest document, or a stored value) is not acceptable."""

    def __init__(self, issues: Sequence[FieldIssue], *, what: str = "") -> None:
        self.issues = list(issues)
        self.what = what
        listed = "; ".join(str(issue) for issue in self.issues) or "no details"
        super().__init__(f"{what or 'The object'} is invalid: {listed}.")


def join_path(*segments: str | int) -> str:
    """``("spec", "containers", 0, "image")`` → ``spec.containers[0].image``."""
    out = ""
    for segment in segments:
        if isinstance(segment, int):
            out += f"[{segment}]"
        elif _PLAIN_SEGMENT.fullmatch(segment):
            out += f".{segment}" if out else segment
        else:
            out += f"[{segment}]"
    return out


def child(path: str, key: str | int) -> str:
    """The path of one key or index below an existing path: ``child("data", "tls.crt")``."""
    segment = join_path(key)
    if not path:
        return segment
    return path + segment if segment.startswith("[") else f"{path}.{segment}"


def prefixed(prefix: str, issues: Iterable[FieldIssue]) -> list[FieldIssue]:
    """Issues of a part, re-rooted under the path of that part."""
    out = []
    for issue in issues:
        if not issue.path:
            path = prefix
        elif issue.path.startswith("["):
            path = prefix + issue.path
        else:
            path = f"{prefix}.{issue.path}" if prefix else issue.path
        out.append(FieldIssue(path, issue.message))
    return out


def issues_from_validation_error(exc: ValidationError) -> list[FieldIssue]:
    """Pydantic's errors as FieldIssues with wire-name paths and plain sentences."""
    issues = []
    seen = set()
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"] if part != "[key]"]
        issue = FieldIssue(join_path(*loc), _message(error, loc))
        if issue not in seen:
            seen.add(issue)
            issues.append(issue)
    return issues


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _go_type(bound: Any) -> str:
    """" (the largest int32)" when ``bound`` is the end of a Kubernetes integer type's range."""
    name = _GO_TYPES.get(bound) if isinstance(bound, int) else None
    if name is None:
        return ""
    return f" (the {'largest' if bound > 0 else 'smallest'} {name})"


def _message(error: ErrorDetails, loc: list[str | int]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    field = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        if field in KUBERNETES_FIELDS:
            return f"field '{field}' is not supported by gitkube yet"
        return f"unknown field '{field}' (check its spelling and indentation)"
    if kind == "missing":
        return f"field '{field}' is required"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_type":
        hint = " (quote it in YAML)" if isinstance(value, int | float | bool) else ""
        return f"must be a string, not {_describe(value)}{hint}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        numeric = isinstance(value, str) and value.strip().lstrip("+-").isdigit()
        hint = " (write the number without quotes)" if numeric else ""
        return f"must be an integer, not {_describe(value)}{hint}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, not {_describe(value)}"
    if kind == "literal_error":
        return f"unsupported value {value!r}: supported values are {ctx.get('expected')}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping of fields, not {_describe(value)}"
    if kind == "list_type":
        return f"must be a list, not {_describe(value)}"
    if kind == "greater_than_equal":
        return f"must be greater than or equal to {ctx.get('ge')}{_go_type(ctx.get('ge'))}, " \
               f"not {value!r}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}, not {value!r}"
    if kind == "less_than_equal":
        return f"must be less than or equal to {ctx.get('le')}{_go_type(ctx.get('le'))}, " \
               f"not {value!r}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    return str(error["msg"])
