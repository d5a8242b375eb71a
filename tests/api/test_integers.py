"""Kubernetes' integer fields: int32 and int64 within their ranges, numbers only.

Kubernetes decodes ``replicas`` into an ``int32``; a larger value, a quoted number or a
boolean is refused by kubectl before anything is created, and so it is here, at validate,
with the field's path (the source layer adds file:line).
"""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import registry
from tests.api import manifests as m

INT32_MAX = 2**31 - 1
TOO_BIG_32 = "must be less than or equal to 2147483647 (the largest int32), not {}"
TOO_BIG_64 = "must be less than or equal to 9223372036854775807 (the largest int64), not {}"


def _job(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "spec": {"template": {"spec": {"containers": [m.container()],
                                           "restartPolicy": "Never"}}, **spec}}


CASES = [
    ("replicas-int32-plus-one", m.deployment({"replicas": 2**31}), "spec.replicas",
     TOO_BIG_32.format(2**31)),
    ("replicas-int64-plus-one", m.deployment({"replicas": 2**63}), "spec.replicas",
     TOO_BIG_32.format(2**63)),
    ("replicas-a-quoted-number", m.deployment({"replicas": "3"}), "spec.replicas",
     "must be an integer, not the string '3' (write the number without quotes)"),
    ("replicas-a-boolean", m.deployment({"replicas": True}), "spec.replicas",
     "must be an integer, not the boolean true"),
    ("replicas-a-fraction", m.deployment({"replicas": 2.5}), "spec.replicas",
     "must be an integer, not the number 2.5"),
    ("replicaset-replicas", m.replica_set(replicas=2**40), "spec.replicas",
     TOO_BIG_32.format(2**40)),
    ("revision-history", m.deployment({"revisionHistoryLimit": 2**31}),
     "spec.revisionHistoryLimit", TOO_BIG_32.format(2**31)),
    ("max-surge-number", m.deployment({"strategy": {"rollingUpdate": {"maxSurge": 2**31}}}),
     "spec.strategy.rollingUpdate.maxSurge",
     "must be an int32 (-2147483648 to 2147483647), not 2147483648"),
    ("job-parallelism", _job(parallelism=2**31), "spec.parallelism", TOO_BIG_32.format(2**31)),
    ("job-completions-quoted", _job(completions="5"), "spec.completions",
     "must be an integer, not the string '5' (write the number without quotes)"),
    ("job-deadline-int64", _job(activeDeadlineSeconds=2**63), "spec.activeDeadlineSeconds",
     TOO_BIG_64.format(2**63)),
    ("grace-period-int64", m.pod({"containers": [m.container()],
                                  "terminationGracePeriodSeconds": 2**64}),
     "spec.terminationGracePeriodSeconds", TOO_BIG_64.format(2**64)),
    ("probe-period", m.pod({"containers": [m.container(livenessProbe={
        "exec": {"command": ["true"]}, "periodSeconds": 2**31})]}),
     "spec.containers[0].livenessProbe.periodSeconds", TOO_BIG_32.format(2**31)),
    ("priority", m.pod({"containers": [m.container()], "priority": -(2**31) - 1}),
     "spec.priority", "must be greater than or equal to -2147483648 (the smallest int32), "
                      "not -2147483649"),
    ("run-as-user-quoted", m.pod({"containers": [m.container()],
                                  "securityContext": {"runAsUser": "1000"}}),
     "spec.securityContext.runAsUser",
     "must be an integer, not the string '1000' (write the number without quotes)"),
    ("toleration-seconds", m.pod({"containers": [m.container()], "tolerations": [
        {"key": "k", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 2**63}]}),
     "spec.tolerations[0].tolerationSeconds", TOO_BIG_64.format(2**63)),
]


@pytest.mark.parametrize(("doc", "path", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_out_of_range_or_quoted_integers_are_refused(
        doc: dict[str, Any], path: str, message: str) -> None:
    assert m.issues(doc).get(path) == message, m.issues(doc)


def test_the_largest_int32_is_a_valid_replica_count() -> None:
    deployment = registry.parse_object(m.deployment({"replicas": INT32_MAX}))
    assert deployment.spec.replicas == INT32_MAX  # type: ignore[attr-defined]
