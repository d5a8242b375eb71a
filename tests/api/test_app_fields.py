"""Fields real applications carry and Kubernetes accepts, one table per field: what gitkube
takes, what it makes of it, and what it still refuses (with Kubernetes' reason)."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import accounts, apps, batch, core, errors, registry
from gitkube.controllers.lowering import environment
from tests.api import manifests as m


def job(**metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": {
        "template": {"spec": {"restartPolicy": "Never", "containers": [m.container()]}}}}


def issues_of(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(errors.ObjectInvalid) as caught:
        registry.parse_object(doc)
    return {issue.path: issue.message for issue in caught.value.issues}


# ------------------------------------------------------------------ metadata.generateName
def test_generate_name_makes_a_name_that_is_the_same_on_every_read() -> None:
    first = registry.parse_object(job(generateName="sample-job-"))
    again = registry.parse_object(job(generateName="sample-job-"))
    assert isinstance(first, batch.Job)
    assert first.name == again.name
    assert first.name.startswith("sample-job-") and len(first.name) == len("sample-job-") + 5
    assert first.metadata.generate_name == "sample-job-"


def test_a_changed_manifest_generates_another_name() -> None:
    one = registry.parse_object(job(generateName="run-"))
    other = job(generateName="run-")
    other["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    assert registry.parse_object(other).name != one.name


@pytest.mark.parametrize(
    ("metadata", "name"),
    [
        pytest.param({"name": "given", "generateName": "ignored-"}, "given", id="name-wins"),
        pytest.param({"generateName": "x" * 70}, None, id="base-cut-to-58"),
    ],
)
def test_generate_name_rules(metadata: dict[str, Any], name: str | None) -> None:
    obj = registry.parse_object(job(**metadata))
    if name is not None:
        assert obj.name == name
    else:
        assert len(obj.name) == 63 and obj.name.startswith("x" * 58)


@pytest.mark.parametrize(
    ("metadata", "path", "message"),
    [
        pytest.param({"generateName": "Bad_"}, "metadata.generateName",
                     "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                     "characters, '-' or '.', and must start and end with an alphanumeric "
                     "character", id="bad-prefix"),
        pytest.param({}, "metadata.name", "field 'name' is required", id="neither"),
    ],
)
def test_generate_name_refused(metadata: dict[str, Any], path: str, message: str) -> None:
    assert issues_of(job(**metadata)).get(path, "").startswith(message)


# ------------------------------------------------------------------ template metadata.name
@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(m.with_path(m.deployment(), ["spec", "template", "metadata", "name"],
                                 "web-pod"), id="deployment"),
        pytest.param(m.with_path(job(name="j"), ["spec", "template", "metadata"],
                                 {"name": "descheduler-pod"}), id="job"),
    ],
)
def test_a_pod_templates_name_is_accepted_and_names_nothing(doc: dict[str, Any]) -> None:
    obj = registry.parse_object(doc)
    assert isinstance(obj, apps.Deployment | batch.Job)
    assert obj.spec.template.metadata.name in ("web-pod", "descheduler-pod")


def test_other_template_metadata_is_still_refused_by_name() -> None:
    doc = m.with_path(m.deployment(), ["spec", "template", "metadata", "finalizers"], ["x"])
    assert "finalizers" in issues_of(doc).get("spec.template.metadata.finalizers", "")


# ------------------------------------------------------------------ ServiceAccounts
def test_a_service_account_is_an_object_of_its_namespace() -> None:
    account = registry.parse_object({
        "apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
        "metadata": {"name": "robot", "namespace": "shop", "labels": {"account": "robot"}}})
    assert isinstance(account, accounts.ServiceAccount)
    assert (account.key, account.automount_service_account_token) == (
        "/registry/serviceaccounts/shop/robot", False)


@pytest.mark.parametrize(
    ("spec", "runs_as"),
    [
        pytest.param({}, "default", id="none"),
        pytest.param({"serviceAccountName": "robot"}, "robot", id="name"),
        pytest.param({"serviceAccount": "robot"}, "robot", id="deprecated"),
        pytest.param({"serviceAccountName": "robot", "serviceAccount": "old"}, "robot",
                     id="both"),
        pytest.param({"serviceAccountName": "", "automountServiceAccountToken": True},
                     "default", id="empty-and-automount"),
    ],
)
def test_a_pod_names_its_account(spec: dict[str, Any], runs_as: str) -> None:
    pod = registry.parse_object(m.pod({"containers": [m.container()], **spec}))
    assert isinstance(pod, core.Pod)
    assert accounts.account_of(pod.spec) == runs_as


@pytest.mark.parametrize(
    ("doc", "path", "message"),
    [
        pytest.param(m.pod({"containers": [m.container()], "serviceAccountName": "Robot_1"}),
                     "spec.serviceAccountName", "a lowercase RFC 1123 subdomain",
                     id="bad-name"),
        pytest.param({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "r"},
                      "imagePullSecrets": [{"name": "creds"}]}, "imagePullSecrets",
                     "field 'imagePullSecrets' is not supported by gitkube yet",
                     id="pull-secrets"),
        pytest.param({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "r"},
                      "secrets": [{"name": "token"}]}, "secrets",
                     "field 'secrets' is not supported by gitkube yet", id="token-secrets"),
    ],
)
def test_service_account_fields_refused(doc: dict[str, Any], path: str, message: str) -> None:
    assert issues_of(doc).get(path, "").startswith(message)


def test_the_downward_api_gives_a_container_its_account() -> None:
    env = [{"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}}]
    for spec, value in (({}, "default"), ({"serviceAccountName": "robot"}, "robot")):
        pod = registry.parse_object(m.pod({"containers": [m.container(env=env)], **spec}))
        assert isinstance(pod, core.Pod)
        assert environment.field_value("spec.serviceAccountName", pod) == value
