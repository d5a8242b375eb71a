"""Defaults follow Kubernetes, so a manifest behaves as it would on a real cluster."""

from __future__ import annotations

import pytest

from gitkube.api import apps, core, meta, pods, registry
from tests.api import manifests


def test_pod_defaults() -> None:
    obj = registry.parse_object(manifests.pod())
    assert isinstance(obj, core.Pod)
    assert obj.metadata.namespace == "default"
    assert obj.spec.restart_policy == "Always"
    assert obj.spec.termination_grace_period_seconds == 30
    assert obj.status.phase == "Pending"
    [port_free] = obj.spec.containers
    assert port_free.image_pull_policy == "IfNotPresent"
    assert obj.key == "/registry/pods/default/web"


def test_namespace_is_kept_when_given() -> None:
    obj = registry.parse_object(manifests.pod(namespace="shop"))
    assert obj.namespace == "shop"
    assert obj.key == "/registry/pods/shop/web"


PULL = [("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
        ("localhost:5000/nginx", "Always"), ("localhost:5000/nginx:1.0", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("registry.example.com:443/team/app:v2", "IfNotPresent")]


@pytest.mark.parametrize(("image", "policy"), PULL, ids=[i[:40] for i, _ in PULL])
def test_image_pull_policy_defaults_from_the_tag(image: str, policy: str) -> None:
    obj = registry.parse_object(manifests.pod({"containers": [manifests.container(image=image)]}))
    assert isinstance(obj, core.Pod)
    assert obj.spec.containers[0].image_pull_policy == policy


def test_explicit_pull_policy_is_kept() -> None:
    doc = manifests.pod({"containers": [manifests.container(image="nginx",
                                                             imagePullPolicy="Never")]})
    obj = registry.parse_object(doc)
    assert isinstance(obj, core.Pod)
    assert obj.spec.containers[0].image_pull_policy == "Never"


def test_requests_default_to_limits() -> None:
    resources = {"limits": {"cpu": "1", "memory": "128Mi"}, "requests": {"cpu": "250m"}}
    obj = registry.parse_object(manifests.pod({"containers": [
        manifests.container(resources=resources)]}))
    assert isinstance(obj, core.Pod)
    assert obj.spec.containers[0].resources.requests == {"cpu": "250m", "memory": "128Mi"}


def test_quantities_given_as_yaml_numbers_are_kept_as_text() -> None:
    resources = {"requests": {"cpu": 0.5, "memory": 1024}}
    obj = registry.parse_object(manifests.pod({"containers": [
        manifests.container(resources=resources)]}))
    assert isinstance(obj, core.Pod)
    assert obj.spec.containers[0].resources.requests == {"cpu": "0.5", "memory": "1024"}


def test_deployment_defaults() -> None:
    obj = registry.parse_object(manifests.deployment())
    assert isinstance(obj, apps.Deployment)
    spec = obj.spec
    assert spec.replicas == 1
    assert spec.strategy.type == "RollingUpdate"
    assert spec.strategy.rolling_update == apps.RollingUpdateDeployment(
        max_surge="25%", max_unavailable="25%")
    assert (spec.revision_history_limit, spec.progress_deadline_seconds) == (10, 600)
    assert (spec.min_ready_seconds, spec.paused) == (0, False)
    assert obj.status.replicas == 0


def test_recreate_strategy_has_no_rolling_update() -> None:
    obj = registry.parse_object(manifests.deployment({"strategy": {"type": "Recreate"}}))
    assert isinstance(obj, apps.Deployment)
    assert obj.spec.strategy.rolling_update is None


def test_replica_set_defaults() -> None:
    obj = registry.parse_object(manifests.replica_set())
    assert isinstance(obj, apps.ReplicaSet)
    assert obj.spec.replicas == 1
    assert obj.key == "/registry/replicasets/default/web"


FENCEPOSTS = [("25%", "25%", 4, (1, 1)), ("25%", "25%", 10, (3, 2)), (0, 0, 3, (0, 1)),
              ("0%", "0%", 3, (0, 1)), (2, "50%", 3, (2, 1)), ("100%", 0, 5, (5, 0))]


@pytest.mark.parametrize(("surge", "unavailable", "desired", "expected"), FENCEPOSTS,
                         ids=[f"{s}/{u}/{d}" for s, u, d, _ in FENCEPOSTS])
def test_resolve_fenceposts(surge: int | str, unavailable: int | str, desired: int,
                            expected: tuple[int, int]) -> None:
    update = apps.RollingUpdateDeployment(max_surge=surge, max_unavailable=unavailable)
    assert apps.resolve_fenceposts(update, desired) == expected


def test_python_callers_may_build_objects_by_attribute_name() -> None:
    container = pods.Container(name="app", image="busybox", image_pull_policy="Never")
    pod = core.Pod(metadata=meta.ObjectMeta(name="p"), spec=pods.PodSpec(containers=[container]))
    assert pod.to_dict()["spec"]["containers"][0]["imagePullPolicy"] == "Never"
    assert pod.namespace == "default"


def test_wire_names_that_to_camel_gets_wrong() -> None:
    status = core.PodStatus.model_validate({"podIP": "10.0.0.2", "hostIP": "127.0.0.1"})
    assert (status.pod_ip, status.host_ip) == ("10.0.0.2", "127.0.0.1")
    assert status.to_dict()["podIP"] == "10.0.0.2"
    port = pods.ContainerPort.model_validate({"containerPort": 80, "hostIP": "127.0.0.1"})
    assert port.to_dict() == {"containerPort": 80, "hostIP": "127.0.0.1", "protocol": "TCP"}
    state = core.ContainerStatus.model_validate({"name": "a", "imageID": "x", "containerID": "y"})
    assert (state.image_id, state.container_id) == ("x", "y")


def test_secret_decoded_merges_string_data() -> None:
    obj = registry.parse_object({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"user": "YWRtaW4=", "pass": "eA=="}, "stringData": {"pass": "hunter2"}})
    assert isinstance(obj, core.Secret)
    assert obj.decoded() == {"user": b"admin", "pass": b"hunter2"}
    assert obj.type == "Opaque"


def test_toleration_matching() -> None:
    exists = pods.Toleration(key="dedicated", operator="Exists")
    equal = pods.Toleration(key="dedicated", value="gpu", effect="NoSchedule")
    everything = pods.Toleration(operator="Exists")
    assert exists.tolerates("dedicated", "gpu", "NoExecute")
    assert equal.tolerates("dedicated", "gpu", "NoSchedule")
    assert not equal.tolerates("dedicated", "gpu", "NoExecute")
    assert not equal.tolerates("dedicated", "db", "NoSchedule")
    assert everything.tolerates("anything", None, "NoSchedule")
