"""Changes in Git that Kubernetes' API server forbids for the workload and storage kinds.

``desired`` asks ``refused_change`` before it updates a stored object with Git's copy; a
refused change is not written (the stored object keeps running as it is) and the plan
says why, with what to do instead — as kubectl would refuse the same ``apply``:

- StatefulSet: only replicas, ordinals, template, updateStrategy, revisionHistoryLimit,
  persistentVolumeClaimRetentionPolicy and minReadySeconds may change
  (``ValidateStatefulSetUpdate``); ``volumeClaimTemplates`` above all;
- DaemonSet: the selector is immutable;
- PersistentVolumeClaim: only ``resources.requests`` may change once it exists;
- StorageClass: provisioner, parameters, reclaimPolicy and volumeBindingMode are fixed.
"""

from __future__ import annotations

from typing import Any

STATEFULSET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                       "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy",
                       "minReadySeconds")
_CLASS_FIXED = ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")


def refused_change(want: dict[str, Any], have: dict[str, Any]) -> str:
    """Why this update of ``have`` (stored) to ``want`` (Git's) is refused; '' when it is not."""
    kind = str(have.get("kind", ""))
    meta = have.get("metadata") or {}
    name = f"{kind} {meta.get('namespace', 'default')}/{meta.get('name')}" if meta.get(
        "namespace") else f"{kind} {meta.get('name')}"
    spec, had = want.get("spec") or {}, have.get("spec") or {}
    if kind == "StatefulSet":
        changed = sorted(k for k in set(spec) | set(had)
                         if k not in STATEFULSET_MUTABLE and spec.get(k) != had.get(k))
        if changed:
            return (f"{name} keeps its {', '.join(changed)}: updates to statefulset spec for "
                    f"fields other than {_quoted(STATEFULSET_MUTABLE)} are forbidden; delete it "
                    "from Git and add it back in a later commit (its claims stay and the new "
                    "set finds them)")
    if kind == "DaemonSet" and spec.get("selector") != had.get("selector"):
        return (f"{name} keeps its selector: spec.selector is immutable; delete it from Git "
                "and add it back under a new name")
    if kind == "PersistentVolumeClaim":
        changed = sorted(k for k in set(spec) | set(had)
                         if k != "resources" and spec.get(k) != had.get(k))
        if changed:
            return (f"{name} keeps its {', '.join(changed)}: spec is immutable after creation "
                    "except resources.requests; delete the claim from Git (its data goes with "
                    "it unless its class retains volumes) and add a new one")
    if kind == "StorageClass":
        changed = [k for k in _CLASS_FIXED if want.get(k) != have.get(k)]
        if changed:
            return (f"{name} keeps its {', '.join(changed)}: updates to {', '.join(changed)} "
                    "are forbidden; add a class under a new name")
    return ""


def _quoted(names: tuple[str, ...]) -> str:
    quoted = [f"'{n}'" for n in names]
    return ", ".join(quoted[:-1]) + f" and {quoted[-1]}"
