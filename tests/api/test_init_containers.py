"""initContainers and sidecars in the object model: Kubernetes' validation, path by path."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import registry

from . import manifests as m

C = m.container
PROBE = {"exec": {"command": ["true"]}}
FORBIDDEN = ("Forbidden: may not be set for init containers without restartPolicy=Always "
             "(an init container runs to completion; remove {} or make it a sidecar)")


def _pod(init: list[dict[str, Any]], containers: list[dict[str, Any]] | None = None,
         ) -> dict[str, Any]:
    return m.pod({"containers": containers or [C()], "initContainers": init})


@pytest.mark.parametrize(
    ("doc", "path", "message"),
    [
        pytest.param(_pod([C(name="setup", readinessProbe=PROBE)]),
                     "spec.initContainers[0].readinessProbe", FORBIDDEN.format("readinessProbe"),
                     id="readiness-on-plain-init"),
        pytest.param(_pod([C(name="setup", livenessProbe=PROBE)]),
                     "spec.initContainers[0].livenessProbe", FORBIDDEN.format("livenessProbe"),
                     id="liveness-on-plain-init"),
        pytest.param(_pod([C(name="setup", startupProbe=PROBE)]),
                     "spec.initContainers[0].startupProbe", FORBIDDEN.format("startupProbe"),
                     id="startup-on-plain-init"),
        pytest.param(_pod([C(name="setup", restartPolicy="Never")]),
                     "spec.initContainers[0].restartPolicy",
                     "unsupported value 'Never': supported values are 'Always'",
                     id="init-restartPolicy-only-Always"),
        pytest.param(_pod([C(name="a")], [C(restartPolicy="Always")]),
                     "spec.containers[0].restartPolicy",
                     "Forbidden: may not be set for non-init containers; an init container with "
                     "restartPolicy Always is a sidecar", id="restartPolicy-on-app-container"),
        pytest.param(_pod([C(name="a"), C(name="a")]), "spec.initContainers[1].name",
                     "Duplicate value: 'a'", id="duplicate-init-names"),
        pytest.param(_pod([C(name="setup", volumeMounts=[{"name": "nope", "mountPath": "/x"}])]),
                     "spec.initContainers[0].volumeMounts[0].name",
                     "Not found: no volume named 'nope' in the pod's volumes",
                     id="init-mount-names-no-volume"),
        pytest.param(_pod([C(name="setup", lifecycle={})]), "spec.initContainers[0].lifecycle",
                     "Forbidden: may not be set for init containers without restartPolicy=Always "
                     "(an init container runs to completion; remove lifecycle or make it a "
                     "sidecar)", id="lifecycle"),
    ],
)
def test_rejected(doc: dict[str, Any], path: str, message: str) -> None:
    assert m.issues(doc).get(path) == message


@pytest.mark.parametrize(
    "init",
    [
        pytest.param([C(name="setup", command=["sh", "-c", "true"])], id="plain"),
        pytest.param([C(name="proxy", restartPolicy="Always", readinessProbe=PROBE,
                        livenessProbe=PROBE, startupProbe=PROBE)], id="sidecar-with-probes"),
        pytest.param([C(name="a"), C(name="b", restartPolicy="Always"), C(name="c")],
                     id="mixed"),
    ],
)
def test_accepted(init: list[dict[str, Any]]) -> None:
    pod = registry.parse_object(_pod(init))
    names = [c.name for c in pod.spec.init_containers]  # type: ignore[attr-defined]
    assert names == [c["name"] for c in init]


def test_deployment_template_with_a_sidecar() -> None:
    doc = m.deployment()
    spec = doc["spec"]["template"]["spec"]
    spec["initContainers"] = [C(name="proxy", restartPolicy="Always")]
    deployment = registry.parse_object(doc)
    init = deployment.spec.template.spec.init_containers  # type: ignore[attr-defined]
    assert init[0].restart_policy == "Always"
