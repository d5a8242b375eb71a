"""PriorityClass (``scheduling.k8s.io/v1``): a name for a pod priority, kept in Git.

A pod names its class in ``spec.priorityClassName``; the scheduler resolves the name
to the class's ``value`` and takes higher values first. A class with
``globalDefault: true`` gives its value to pods that name no class. Kubernetes'
two built-in classes (``system-cluster-critical``, ``system-node-critical``) exist
without being declared, and user classes may not use the reserved ``system-`` prefix
nor values above one billion, as on Kubernetes.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from gitkube.api import errors, fields, validation
from gitkube.api.meta import KubeObject

#: ``scheduling.HighestUserDefinablePriority``.
HIGHEST_USER_PRIORITY = 1_000_000_000
#: The classes every Kubernetes cluster has.
BUILTIN_CLASSES = {
    "system-cluster-critical": 2 * HIGHEST_USER_PRIORITY,
    "system-node-critical": 2 * HIGHEST_USER_PRIORITY + 1000,
}
RESERVED_PREFIX = "system-"


class PriorityClass(KubeObject):
    plural: ClassVar[str] = "priorityclasses"
    namespaced: ClassVar[bool] = False

    api_version: Literal["scheduling.k8s.io/v1"] = "scheduling.k8s.io/v1"
    kind: Literal["PriorityClass"] = "PriorityClass"
    value: fields.Int32
    global_default: bool = False
    description: str | None = None
    preemption_policy: Literal["PreemptLowerPriority", "Never"] | None = None

    def check(self) -> list[errors.FieldIssue]:
        issues = validation.check_metadata(self)
        if self.name.startswith(RESERVED_PREFIX):
            issues.append(errors.FieldIssue(
                "metadata.name", f"priority class names with {RESERVED_PREFIX!r} prefix are "
                                 "reserved for system use; choose another name"))
        if self.value > HIGHEST_USER_PRIORITY:
            issues.append(errors.FieldIssue(
                "value", f"must be no greater than {HIGHEST_USER_PRIORITY} (higher values are "
                         f"reserved for system classes), not {self.value}"))
        return issues
