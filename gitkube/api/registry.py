"""Which kinds gitkube knows, and turning a manifest or a stored value into an object.

``parse_object`` is the door from Git into the object model: it checks apiVersion
and kind (naming the apiVersion to use, or saying a kind is not supported yet),
defaults the namespace, validates field types with Kubernetes' wire names only, then
runs the kind's own rules, and raises ``ObjectInvalid`` with every issue at once.
``from_stored`` re-reads what the store holds (already valid) without the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from gitkube.api import (
    accounts,
    apps,
    batch,
    core,
    daemonsets,
    discovery,
    errors,
    hashing,
    inventory,
    keys,
    names,
    node,
    revisions,
    scheduling,
    services,
    statefulsets,
    storage,
)
from gitkube.api.meta import KubeObject

#: (apiVersion, kind) → model, for every kind the store may hold.
KINDS: dict[tuple[str, str], type[KubeObject]] = {
    ("v1", "Namespace"): core.Namespace,
    ("v1", "Pod"): core.Pod,
    ("v1", "ConfigMap"): core.ConfigMap,
    ("v1", "Secret"): core.Secret,
    ("apps/v1", "Deployment"): apps.Deployment,
    ("apps/v1", "ReplicaSet"): apps.ReplicaSet,
    ("batch/v1", "Job"): batch.Job,
    ("batch/v1", "CronJob"): batch.CronJob,
    ("v1", "Node"): node.Node,
    ("scheduling.k8s.io/v1", "PriorityClass"): scheduling.PriorityClass,
    ("v1", "Service"): services.Service,
    ("discovery.k8s.io/v1", "EndpointSlice"): discovery.EndpointSlice,
    ("apps/v1", "DaemonSet"): daemonsets.DaemonSet,
    ("apps/v1", "StatefulSet"): statefulsets.StatefulSet,
    ("apps/v1", "ControllerRevision"): revisions.ControllerRevision,
    ("v1", "PersistentVolumeClaim"): storage.PersistentVolumeClaim,
    ("v1", "PersistentVolume"): storage.PersistentVolume,
    ("storage.k8s.io/v1", "StorageClass"): storage.StorageClass,
    ("v1", "ServiceAccount"): accounts.ServiceAccount,
}

#: Kinds the system derives and people do not write: why, as a sentence.
DERIVED_KINDS = {
    "Node": "Nodes are not written as manifests: declare the machine in inventory.yaml",
    "EndpointSlice": "EndpointSlices are derived from Services and their pods; write the "
                     "Service (with a selector) instead",
    "ControllerRevision": "ControllerRevisions are made by the DaemonSet and StatefulSet "
                          "controllers, one per template they roll out; change the "
                          "workload's template instead",
    "PersistentVolume": "PersistentVolumes are made by gitkube's local-path provisioner (a "
                        "directory on the node where the claim is first used); declare a "
                        "PersistentVolumeClaim instead",
}
#: Kinds people may write in Git.
MANIFEST_KINDS = {key: cls for key, cls in KINDS.items() if key[1] not in DERIVED_KINDS}

#: Kubernetes kinds gitkube does not implement yet, with the apiVersions Kubernetes serves.
UNSUPPORTED_KINDS: dict[str, tuple[str, ...]] = {
    "Endpoints": ("v1",), "LimitRange": ("v1",),
    "ResourceQuota": ("v1",), "ReplicationController": ("v1",), "PodTemplate": ("v1",),
    "Event": ("v1", "events.k8s.io/v1"),
    "HorizontalPodAutoscaler": ("autoscaling/v2", "autoscaling/v1"),
    "Ingress": ("networking.k8s.io/v1",), "IngressClass": ("networking.k8s.io/v1",),
    "NetworkPolicy": ("networking.k8s.io/v1",), "PodDisruptionBudget": ("policy/v1",),
    "Role": ("rbac.authorization.k8s.io/v1",), "RoleBinding": ("rbac.authorization.k8s.io/v1",),
    "ClusterRole": ("rbac.authorization.k8s.io/v1",),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io/v1",),
    "CustomResourceDefinition": ("apiextensions.k8s.io/v1",),
    "Lease": ("coordination.k8s.io/v1",),
}

_SERVED: dict[str, tuple[str, ...]] = {
    **UNSUPPORTED_KINDS, **{kind: (version,) for version, kind in KINDS}
}
_BY_KIND = {kind.lower(): cls for (_, kind), cls in KINDS.items()}
_BY_PLURAL = {cls.plural: cls for cls in KINDS.values()}

#: kubectl's short names (``kubectl api-resources``), the one alias table the CLI uses.
SHORT_NAMES = {"po": "pods", "deploy": "deployments", "rs": "replicasets", "no": "nodes",
               "cm": "configmaps", "ns": "namespaces", "cj": "cronjobs", "pc": "priorityclasses",
               "svc": "services", "ds": "daemonsets", "sts": "statefulsets",
               "pvc": "persistentvolumeclaims", "pv": "persistentvolumes",
               "sc": "storageclasses", "sa": "serviceaccounts"}


def plural_for(word: str) -> str | None:
    """The plural a word on a command line names (``po``, ``pod``, ``Pods`` → ``pods``);
    None when it names no kind gitkube has."""
    lowered = word.lower()
    if lowered in SHORT_NAMES:
        return SHORT_NAMES[lowered]
    cls = _BY_KIND.get(lowered) or _BY_PLURAL.get(lowered)
    return cls.plural if cls is not None else None


def kind_for(plural: str) -> str:
    """The kind a plural names: ``replicasets`` → ``ReplicaSet``."""
    return next(kind for (_, kind), cls in KINDS.items() if cls.plural == plural)


def names_for(plural: str) -> list[str]:
    """Every lowercase word that names a kind: its name, its plural, its short name."""
    return sorted({plural, *(name for name, cls in _BY_KIND.items() if cls.plural == plural),
                   *(short for short, of in SHORT_NAMES.items() if of == plural)})


def model_for_kind(kind: str) -> type[KubeObject]:
    """The model of a kind, by name (``Pod``), lowercase name or plural (``pods``)."""
    cls = _BY_KIND.get(kind.lower()) or _BY_PLURAL.get(kind.lower())
    if cls is None:
        raise KeyError(f"gitkube has no kind {kind!r}; kinds: {', '.join(sorted(_BY_PLURAL))}")
    return cls


def model_for_plural(plural: str) -> type[KubeObject]:
    cls = _BY_PLURAL.get(plural)
    if cls is None:
        raise KeyError(f"gitkube has no kind {plural!r}; kinds: {', '.join(sorted(_BY_PLURAL))}")
    return cls


def key_for(kind: str, namespace: str, name: str) -> str:
    """The store key of an object; cluster-scoped kinds leave the namespace out."""
    cls = model_for_kind(kind)
    return keys.object_key(cls.plural, (namespace or "default") if cls.namespaced else "", name)


def _describe(data: Mapping[str, Any]) -> str:
    kind = data.get("kind") if isinstance(data.get("kind"), str) else "object"
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    if not isinstance(name, str):
        return str(kind)
    namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
    return f"{kind} {namespace}/{name}" if isinstance(namespace, str) else f"{kind} {name}"


def _kind_issues(api_version: Any, kind: Any) -> list[errors.FieldIssue]:
    issues = []
    if not isinstance(kind, str) or not kind:
        issues.append(errors.FieldIssue(
            "kind", "field 'kind' is required (Pod, Deployment, ConfigMap, ...)"
            if kind is None else f"must be a kind name such as Pod, not {kind!r}"))
    served = _SERVED.get(kind, ()) if isinstance(kind, str) else ()
    if not isinstance(api_version, str) or not api_version:
        hint = f" (for a {kind}: {served[0]})" if served else ""
        issues.append(errors.FieldIssue("apiVersion", f"field 'apiVersion' is required{hint}"))
    elif served and api_version not in served:
        issues.append(errors.FieldIssue(
            "apiVersion", f"apiVersion {api_version} is not served for kind {kind}; "
                          f"use {' or '.join(served)}"))
    if issues or not isinstance(kind, str):
        if isinstance(kind, str) and kind in UNSUPPORTED_KINDS:
            issues.append(errors.FieldIssue(
                "kind", f"kind {kind} ({served[0]}) is not supported by gitkube yet"))
        return issues
    if kind in DERIVED_KINDS:
        return [errors.FieldIssue("kind", DERIVED_KINDS[kind])]
    if kind in UNSUPPORTED_KINDS:
        return [errors.FieldIssue("kind", f"kind {kind} ({api_version}) is not supported by "
                                          "gitkube yet")]
    if (api_version, kind) not in MANIFEST_KINDS:
        supported = ", ".join(f"{k} ({v})" for v, k in sorted(MANIFEST_KINDS, key=lambda x: x[1]))
        return [errors.FieldIssue("kind", f"kind {kind} ({api_version}) is not known to "
                                          f"gitkube; supported kinds: {supported}")]
    return []


def parse_object(data: Mapping[str, Any]) -> KubeObject:
    """A manifest document as an object, or ``ObjectInvalid`` naming every problem."""
    if not isinstance(data, Mapping):
        raise errors.ObjectInvalid([errors.FieldIssue(
            "", "a manifest must be a mapping with apiVersion, kind and metadata, not "
                f"{type(data).__name__}")], what="The document")
    what = _describe(data)
    api_version, kind = data.get("apiVersion"), data.get("kind")
    issues = _kind_issues(api_version, kind)
    if issues:
        raise errors.ObjectInvalid(issues, what=what)
    cls = MANIFEST_KINDS[(str(api_version), str(kind))]
    values = dict(data)
    metadata = values.get("metadata")
    if cls.namespaced and isinstance(metadata, Mapping) and metadata.get("namespace") is None:
        values["metadata"] = metadata = {**metadata, "namespace": "default"}
    if isinstance(metadata, Mapping) and metadata.get("name") in (None, ""):
        base = metadata.get("generateName")
        if isinstance(base, str) and base:
            values["metadata"] = {**metadata, "name": generated_name(base, data)}
    try:
        obj = cls.model_validate(values, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise errors.ObjectInvalid(errors.issues_from_validation_error(exc), what=what) from None
    issues = obj.check()
    if issues:
        raise errors.ObjectInvalid(issues, what=what)
    return obj


def generated_name(base: str, data: Mapping[str, Any]) -> str:
    """The name ``metadata.generateName`` makes for a manifest read from Git: the base and
    5 characters, as the API server makes it, but from a hash of the whole manifest instead
    of at random, so every pass reads the same name. A changed manifest is a new object (its
    predecessor leaves with the old text), as each ``kubectl create`` is a new object."""
    return names.generated_name(base, hashing.stable_hash(dict(data),
                                                           names.GENERATED_SUFFIX_LENGTH))


def from_stored(value: Mapping[str, Any]) -> KubeObject:
    """An object from the JSON the store holds (trusted: types are checked, rules are not)."""
    cls = KINDS.get((value.get("apiVersion", ""), value.get("kind", "")))
    if cls is None:
        raise errors.ObjectInvalid(
            [errors.FieldIssue("kind", f"the store holds an unknown kind "
                                       f"{value.get('kind')!r} ({value.get('apiVersion')!r})")],
            what="A stored object")
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        raise errors.ObjectInvalid(errors.issues_from_validation_error(exc),
                                   what=f"Stored {_describe(value)}") from None


def parse_inventory(data: Mapping[str, Any]) -> inventory.Inventory:
    """``inventory.yaml`` as a model, or ``ObjectInvalid`` with wire-name paths."""
    try:
        parsed = inventory.Inventory.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise errors.ObjectInvalid(errors.issues_from_validation_error(exc),
                                   what="The inventory") from None
    issues = parsed.check()
    if issues:
        raise errors.ObjectInvalid(issues, what="The inventory")
    return parsed
