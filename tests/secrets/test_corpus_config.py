"""The corpus's ConfigMaps, Secrets and the pods that use them, lowered as a node would get them.

Every accepted ConfigMap and Secret of shared/corpus goes into one snapshot; every accepted Pod
that reads one is lowered: it either gets its env and files, or is kept from starting with a
reason that names what is missing (kubelet's CreateContainerConfigError).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from gitkube.api import core, errors, registry
from gitkube.controllers import lowering
from tests.controllers import factories as f
from tests.corpus import CORPUS

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not present")

_NAMED = re.compile(r'^(configmap|secret) "[a-z0-9.-]+" not found$|^couldn\'t find key \S+ in '
                    r"(ConfigMap|Secret) \S+$|references non-existent config key: \S+$|"
                    r"^volume \"\S+\": \w+ volumes are not supported yet")


def _objects() -> dict[str, Any]:
    """file#index → the object, or the ObjectInvalid that refused it (YAML errors left out)."""
    out: dict[str, Any] = {}
    for path in sorted(CORPUS.rglob("*.yaml")):
        try:
            docs = [d for d in YAML(typ="safe").load_all(path.read_text()) if d]
        except YAMLError:
            continue
        for index, doc in enumerate(docs):
            if not isinstance(doc, dict):
                continue
            name = f"{path.relative_to(CORPUS).as_posix()}#{index}"
            try:
                out[name] = registry.parse_object(doc)
            except errors.ObjectInvalid as exc:
                out[name] = exc
    return out


OBJECTS = _objects()
CONFIG = [o for o in OBJECTS.values() if isinstance(o, (core.ConfigMap, core.Secret))]
READERS = {name: o for name, o in OBJECTS.items() if isinstance(o, core.Pod) and re.search(
    "configMap|secret", str(o.to_dict()))}


@pytest.mark.parametrize("name", sorted(READERS))
def test_a_corpus_pod_gets_its_config_or_a_named_reason(name: str) -> None:
    pod = READERS[name]
    snapshot = f.snapshot(*CONFIG)
    try:
        run = lowering.lower_pod(pod, snapshot)
    except lowering.LoweringError as exc:
        assert exc.reason == "CreateContainerConfigError"
        assert _NAMED.search(exc.message), exc.message
        return
    assert run["containers"] and run["hash"] and run["filesHash"]


def test_the_secret_pods_of_the_tutorial_get_env_and_files() -> None:
    secret = OBJECTS["pods/inject/secret.yaml#0"]
    envars = OBJECTS["pods/inject/secret-envars-pod.yaml#0"]
    volume = OBJECTS["pods/inject/secret-pod.yaml#0"]
    env = lowering.lower_pod(envars, f.snapshot(secret))["containers"][0]["env"]
    assert env == {"SECRET_USERNAME": "my-app", "SECRET_PASSWORD": "39528$vdg7Jb"}
    files = lowering.lower_pod(volume, f.snapshot(secret))["containers"][0]["files"]
    assert {(i["path"], base64.b64decode(i["content"])) for i in files} == {
        ("/etc/secret-volume/username", b"my-app"),
        ("/etc/secret-volume/password", b"39528$vdg7Jb")}
    with pytest.raises(lowering.LoweringError) as missing:
        lowering.lower_pod(envars, f.snapshot())
    assert missing.value.message == 'secret "test-secret" not found'


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("secret/tls-auth-secret.yaml#0", "is not valid base64"),
    ],
)
def test_corpus_secrets_refused_by_name(name: str, message: str) -> None:
    refused = OBJECTS[name]
    assert isinstance(refused, errors.ObjectInvalid)
    assert any(message in issue.message for issue in refused.issues), refused.issues


@pytest.mark.parametrize(
    ("secret_type", "data", "path", "message"),
    [
        pytest.param("kubernetes.io/basic-auth", {"other": "eA=="}, "data",
                     "a kubernetes.io/basic-auth Secret needs a 'username' or 'password' key",
                     id="basic-auth-without-username-or-password"),
        pytest.param("kubernetes.io/tls", {"tls.crt": "eA=="}, "data[tls.key]",
                     "key 'tls.key' is required for a Secret of type kubernetes.io/tls",
                     id="tls-without-key"),
        pytest.param("kubernetes.io/dockerconfigjson", {".dockerconfigjson": "bm90IGpzb24="},
                     "data[.dockerconfigjson]", "must be a JSON object (the content of a docker "
                     "config file) for a Secret of type kubernetes.io/dockerconfigjson",
                     id="dockerconfigjson-not-json"),
        pytest.param("kubernetes.io/dockerconfigjson", {}, "data[.dockerconfigjson]",
                     "key '.dockerconfigjson' is required for a Secret of type "
                     "kubernetes.io/dockerconfigjson", id="dockerconfigjson-missing"),
        pytest.param("Opaque", {"bad key": "eA=="}, "data[bad key]", "a valid config key",
                     id="bad-key"),
    ],
)
def test_secret_types_are_checked_as_kubernetes_does(
    secret_type: str, data: dict[str, str], path: str, message: str,
) -> None:
    with pytest.raises(errors.ObjectInvalid) as caught:
        registry.parse_object({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                               "type": secret_type, "data": data})
    found = {issue.path: issue.message for issue in caught.value.issues}
    assert message in found.get(path, ""), found


@pytest.mark.parametrize(
    ("secret_type", "data"),
    [
        pytest.param("kubernetes.io/basic-auth", {"password": ""}, id="basic-auth-password"),
        pytest.param("kubernetes.io/tls", {"tls.crt": "eA==", "tls.key": "eA=="}, id="tls"),
        pytest.param("kubernetes.io/dockerconfigjson",
                     {".dockerconfigjson": base64.b64encode(b'{"auths": {}}').decode()},
                     id="dockerconfigjson"),
        # Kubernetes accepts any type; only the ones it knows have rules.
        pytest.param("helm.sh/release.v1", {"release": "eA=="}, id="helm-release"),
        pytest.param("example.com/anything", {}, id="vendor-type"),
        pytest.param("bootstrap.kubernetes.io/token", {"token-id": "YWJjZGVm"},
                     id="bootstrap-token"),
    ],
)
def test_secret_types_accepted(secret_type: str, data: dict[str, str]) -> None:
    secret = registry.parse_object({"apiVersion": "v1", "kind": "Secret",
                                    "metadata": {"name": "s"}, "type": secret_type,
                                    "data": data})
    assert isinstance(secret, core.Secret) and secret.type == secret_type


def test_the_corpus_service_account_token_secret_is_accepted_with_its_account() -> None:
    secret = OBJECTS["secret/serviceaccount-token-secret.yaml#0"]
    assert isinstance(secret, core.Secret)
    assert secret.type == "kubernetes.io/service-account-token"
    assert secret.metadata.annotations[core.SERVICE_ACCOUNT_NAME_ANNOTATION] == "sa-name"
