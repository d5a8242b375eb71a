"""Label selectors: how a Deployment or ReplicaSet finds the pods it owns.

``matches`` is Kubernetes' semantics (all of matchLabels and all of matchExpressions
must hold; the empty selector matches everything); the controllers call it for
every pod of a pass, so it is plain dictionary work with nothing compiled per call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from gitkube.api import errors, names, validation
from gitkube.api.meta import KubeModel


class LabelSelectorRequirement(KubeModel):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values


class LabelSelector(KubeModel):
    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.match_labels.items():
            if labels.get(key) != value:
                return False
        return all(expression.matches(labels) for expression in self.match_expressions)

    def __str__(self) -> str:
        """The kubectl form: ``app=web,tier in (a,b)``."""
        parts = [f"{k}={v}" for k, v in sorted(self.match_labels.items())]
        for e in self.match_expressions:
            if e.operator == "Exists":
                parts.append(e.key)
            elif e.operator == "DoesNotExist":
                parts.append(f"!{e.key}")
            else:
                parts.append(f"{e.key} {e.operator.lower()} ({','.join(e.values)})")
        return ",".join(parts)


def check_selector(selector: LabelSelector, path: str) -> list[errors.FieldIssue]:
    issues = validation.check_labels(f"{path}.matchLabels", selector.match_labels)
    for i, expression in enumerate(selector.match_expressions):
        where = f"{path}.matchExpressions[{i}]"
        issues += [errors.FieldIssue(f"{where}.key", p)
                   for p in names.qualified_name_errors(expression.key)]
        if expression.operator in ("In", "NotIn") and not expression.values:
            issues.append(errors.FieldIssue(
                f"{where}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        if expression.operator in ("Exists", "DoesNotExist") and expression.values:
            issues.append(errors.FieldIssue(
                f"{where}.values",
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        for j, value in enumerate(expression.values):
            issues += [errors.FieldIssue(f"{where}.values[{j}]", p)
                       for p in names.label_value_errors(value)]
    return issues
