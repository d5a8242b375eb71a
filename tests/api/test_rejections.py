"""Every rule: what a person sees when a manifest breaks it (field path and sentence)."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import registry
from tests.api import manifests as m

C = m.container
P = m.pod
D = m.deployment

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # Fields gitkube does not implement are named, never dropped.
    ("volume-devices",
     P({"containers": [C(volumeDevices=[{"name": "d", "devicePath": "/dev/x"}])]}),
     "spec.containers[0].volumeDevices",
     "field 'volumeDevices' is not supported by gitkube yet"),
    ("init-container-named-like-a-container", P({"containers": [C()], "initContainers": [C()]}),
     "spec.containers[0].name", "Duplicate value: 'app'"),
    ("affinity-required-as-list", P({"containers": [C()], "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{"weight": 5}]}}}),
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
     "must be a mapping of fields, not a list"),
    ("affinity-gt-two-values", P({"containers": [C()], "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["1", "2"]}]}]}}}}),
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
     ".nodeSelectorTerms[0].matchExpressions[0].values",
     "must be specified single value when `operator` is 'Lt' or 'Gt'"),
    ("affinity-no-terms", P({"containers": [C()], "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}}),
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
     ".nodeSelectorTerms", "must have at least one node selector term"),
    ("affinity-match-fields-key", P({"containers": [C()], "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.labels", "operator": "In", "values": ["a"]}]}]}}}}),
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
     ".nodeSelectorTerms[0].matchFields[0].key",
     "Unsupported value: 'metadata.labels': supported values: 'metadata.name'"),
    ("pod-affinity-no-topology-key", P({"containers": [C()], "affinity": {"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {}}]}}}),
     "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
     "can not be empty"),
    ("preferred-weight", P({"containers": [C()], "affinity": {"podAntiAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 101, "podAffinityTerm": {"topologyKey": "zone"}}]}}}),
     "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
     "must be in the range 1-100, not 101"),
    ("spread-max-skew", P({"containers": [C()], "topologySpreadConstraints": [
        {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]}),
     "spec.topologySpreadConstraints[0].maxSkew", "must be greater than zero, not 0"),
    ("spread-min-domains-soft", P({"containers": [C()], "topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
         "minDomains": 2}]}),
     "spec.topologySpreadConstraints[0].minDomains",
     "can only use minDomains if whenUnsatisfiable=DoNotSchedule"),
    ("spread-when", P({"containers": [C()], "topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Sometimes"}]}),
     "spec.topologySpreadConstraints[0].whenUnsatisfiable",
     "unsupported value 'Sometimes': supported values are 'DoNotSchedule' or 'ScheduleAnyway'"),
    ("priority-class-user-value", {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                   "metadata": {"name": "high"}, "value": 2000000000},
     "value", "must be no greater than 1000000000 (higher values are reserved for system "
              "classes), not 2000000000"),
    ("priority-class-system-name", {"apiVersion": "scheduling.k8s.io/v1",
                                    "kind": "PriorityClass",
                                    "metadata": {"name": "system-mine"}, "value": 5},
     "metadata.name", "priority class names with 'system-' prefix are reserved for system use; "
                      "choose another name"),
    ("scheduler-name", P({"containers": [C()], "schedulerName": "x"}),
     "spec.schedulerName", "field 'schedulerName' is not supported by gitkube yet"),
    ("image-pull-secrets", P({"containers": [C()], "imagePullSecrets": [{"name": "r"}]}),
     "spec.imagePullSecrets", "field 'imagePullSecrets' is not supported by gitkube yet"),
    ("termination-message-path", P({"containers": [C(terminationMessagePath="/x")]}),
     "spec.containers[0].terminationMessagePath",
     "field 'terminationMessagePath' is not supported by gitkube yet"),
    ("projected-volume", P({"containers": [C()], "volumes": [{"name": "v", "projected": {}}]}),
     "spec.volumes[0].projected", "field 'projected' is not supported by gitkube yet"),
    ("typo", P({"containers": [C(imagePulPolicy="Always")]}),
     "spec.containers[0].imagePulPolicy",
     "unknown field 'imagePulPolicy' (check its spelling and indentation)"),
    ("snake-case-is-not-a-wire-name", P({"containers": [C(ports=[{"container_port": 80}])]}),
     "spec.containers[0].ports[0].container_port",
     "unknown field 'container_port' (check its spelling and indentation)"),
    # Types.
    ("missing-image", P({"containers": [{"name": "app"}]}),
     "spec.containers[0].image", "field 'image' is required"),
    ("no-containers", P({"containers": []}), "spec.containers", "must have at least 1 item(s)"),
    ("env-value-number", P({"containers": [C(env=[{"name": "N", "value": 5}])]}),
     "spec.containers[0].env[0].value", "must be a string, not the number 5 (quote it in YAML)"),
    ("label-value-number", P(labels={"version": 2}),
     "metadata.labels.version", "must be a string, not the number 2 (quote it in YAML)"),
    ("replicas-text", D({"replicas": "three"}), "spec.replicas",
     "must be an integer, not the string 'three'"),
    ("restart-policy", P({"containers": [C()], "restartPolicy": "Sometimes"}),
     "spec.restartPolicy",
     "unsupported value 'Sometimes': supported values are 'Always', 'OnFailure' or 'Never'"),
    ("sctp", P({"containers": [C(ports=[{"containerPort": 80, "protocol": "SCTP"}])]}),
     "spec.containers[0].ports[0].protocol",
     "unsupported value 'SCTP': supported values are 'TCP' or 'UDP'"),
    ("spec-not-mapping", P(["x"]), "spec", "must be a mapping of fields, not a list"),
    # Quantities and resources.
    ("bad-quantity", P({"containers": [C(resources={"limits": {"cpu": "12Q"}})]}),
     "spec.containers[0].resources.limits.cpu",
     "'12Q' is not a Kubernetes quantity (expected a number with an optional suffix such as "
     "500m, 128Mi, 1G)"),
    ("negative-request", P({"containers": [C(resources={"requests": {"memory": "-1Mi"}})]}),
     "spec.containers[0].resources.requests.memory",
     "must be greater than or equal to 0, not '-1Mi'"),
    ("request-above-limit",
     P({"containers": [C(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}})]}),
     "spec.containers[0].resources.requests.cpu", "must be less than or equal to cpu limit of 1"),
    ("ephemeral-storage",
     P({"containers": [C(resources={"requests": {"ephemeral-storage": "1Gi"}})]}),
     "spec.containers[0].resources.requests.ephemeral-storage",
     "resource 'ephemeral-storage' is not supported by gitkube yet (supported: cpu, memory, "
     "and extended resources such as example.com/dongle)"),
    ("extended-fraction",
     P({"containers": [C(resources={"limits": {"example.com/dongle": "0.5"}})]}),
     "spec.containers[0].resources.limits[example.com/dongle]",
     "must be an integer for extended resource example.com/dongle"),
    # Names.
    ("pod-name", P(name="Web_1"), "metadata.name",
     "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
     "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
     "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
     "[a-z0-9])?)*')"),
    ("namespace-name", P(namespace="Shop"), "metadata.namespace",
     "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
     "and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc', "
     "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    ("container-name", P({"containers": [C(name="App")]}), "spec.containers[0].name",
     "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
     "and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc', "
     "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    ("duplicate-container", P({"containers": [C(), C()]}), "spec.containers[1].name",
     "Duplicate value: 'app'"),
    ("label-key", P(labels={"a/b/c": "x"}), "metadata.labels[a/b/c]",
     "key 'a/b/c': a qualified name must consist of alphanumeric characters, '-', '_' or '.', "
     "and must start and end with an alphanumeric character, with an optional DNS subdomain "
     "prefix and '/' (e.g. 'MyName', 'my.name' or 'example.com/MyName')"),
    ("label-value", P(labels={"tier": "front end"}), "metadata.labels.tier",
     "value 'front end': a valid label must be an empty string or consist of alphanumeric "
     "characters, '-', '_' or '.', and must start and end with an alphanumeric character "
     "(e.g. 'MyValue', 'my_value' or '12345', regex used for validation is "
     "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
    # Ports.
    ("port-range", P({"containers": [C(ports=[{"containerPort": 70000}])]}),
     "spec.containers[0].ports[0].containerPort", "must be less than or equal to 65535, not 70000"),
    ("port-zero", P({"containers": [C(ports=[{"containerPort": 0}])]}),
     "spec.containers[0].ports[0].containerPort", "must be greater than or equal to 1, not 0"),
    ("host-port-range", P({"containers": [C(ports=[{"containerPort": 80, "hostPort": 65536}])]}),
     "spec.containers[0].ports[0].hostPort", "must be less than or equal to 65535, not 65536"),
    ("port-name", P({"containers": [C(ports=[{"containerPort": 80, "name": "80"}])]}),
     "spec.containers[0].ports[0].name", "must contain at least one letter (a-z)"),
    # Environment.
    ("env-name", P({"containers": [C(env=[{"name": "1X", "value": "a"}])]}),
     "spec.containers[0].env[0].name",
     "a valid environment variable name must consist of alphabetic characters, digits, '_', "
     "'-', or '.', and must not start with a digit (e.g. 'my.env-name' or 'MY_ENV.NAME' or "
     "'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"),
    ("env-two-sources", P({"containers": [C(env=[{"name": "X", "valueFrom": {
        "configMapKeyRef": {"name": "c", "key": "k"}, "secretKeyRef": {"name": "s", "key": "k"}}
    }])]}), "spec.containers[0].env[0].valueFrom",
     "must specify exactly one of configMapKeyRef, secretKeyRef, fieldRef and resourceFieldRef"),
    ("env-value-and-from", P({"containers": [C(env=[{"name": "X", "value": "v", "valueFrom": {
        "fieldRef": {"fieldPath": "metadata.name"}}}])]}),
     "spec.containers[0].env[0].valueFrom", "may not be specified when `value` is not empty"),
    ("field-path", P({"containers": [C(env=[{"name": "X", "valueFrom": {
        "fieldRef": {"fieldPath": "spec.hostname"}}}])]}),
     "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
     "unsupported value 'spec.hostname': supported values are metadata.annotations, "
     "metadata.labels, metadata.name, metadata.namespace, metadata.uid, spec.nodeName, "
     "spec.serviceAccountName, status.hostIP, status.podIP, status.podIPs, "
     "metadata.labels['<key>'] and metadata.annotations['<key>']"),
    ("env-from-none", P({"containers": [C(envFrom=[{"prefix": "X_"}])]}),
     "spec.containers[0].envFrom[0]", "must specify exactly one of configMapRef and secretRef"),
    # Volumes.
    ("mount-unknown-volume",
     P({"containers": [C(volumeMounts=[{"name": "v", "mountPath": "/v"}])]}),
     "spec.containers[0].volumeMounts[0].name",
     "Not found: no volume named 'v' in the pod's volumes"),
    ("volume-no-type", P({"containers": [C()], "volumes": [{"name": "v"}]}), "spec.volumes[0]",
     "must specify a volume type: configMap, secret, emptyDir, downwardAPI, "
     "persistentVolumeClaim or hostPath (the types gitkube supports)"),
    ("volume-two-types", P({"containers": [C()], "volumes": [
        {"name": "v", "emptyDir": {}, "configMap": {"name": "c"}}]}), "spec.volumes[0]",
     "may not specify more than 1 volume type"),
    ("duplicate-volume", P({"containers": [C()], "volumes": [
        {"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]}), "spec.volumes[1].name",
     "Duplicate value: 'v'"),
    ("item-path-escapes", P({"containers": [C()], "volumes": [{"name": "v", "configMap": {
        "name": "c", "items": [{"key": "k", "path": "../x"}]}}]}),
     "spec.volumes[0].configMap.items[0].path", "must not contain '..'"),
    ("default-mode", P({"containers": [C()], "volumes": [{"name": "v", "secret": {
        "secretName": "s", "defaultMode": 1000}}]}),
     "spec.volumes[0].secret.defaultMode", "must be less than or equal to 511, not 1000"),
    # Tolerations.
    ("toleration-gt-not-a-number", P({"containers": [C()], "tolerations": [
        {"key": "k", "operator": "Gt", "value": "05"}]}),
     "spec.tolerations[0].value",
     "'05' must be a decimal integer (no leading zeros) when `operator` is 'Gt'"),
    ("toleration-operator", P({"containers": [C()], "tolerations": [
        {"key": "k", "operator": "Ge", "value": "5"}]}),
     "spec.tolerations[0].operator",
     "unsupported value 'Ge': supported values are 'Exists', 'Equal', 'Gt' or 'Lt'"),
    ("toleration-exists-value", P({"containers": [C()], "tolerations": [
        {"key": "k", "operator": "Exists", "value": "v"}]}),
     "spec.tolerations[0].operator", "value must be empty when `operator` is 'Exists'"),
    ("toleration-seconds", P({"containers": [C()], "tolerations": [
        {"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}]}),
     "spec.tolerations[0].effect", "effect must be 'NoExecute' when `tolerationSeconds` is set"),
    # Deployments and ReplicaSets.
    ("selector-mismatch", D({"selector": {"matchLabels": {"app": "db"}}}),
     "spec.template.metadata.labels",
     "`selector` does not match template `labels` (selector: app=db; labels: app=web)"),
    ("rs-selector-mismatch", m.replica_set(selector={"matchLabels": {"app": "db"}}),
     "spec.template.metadata.labels",
     "`selector` does not match template `labels` (selector: app=db; labels: app=web)"),
    ("empty-selector", D({"selector": {}}), "spec.selector",
     "empty selector is invalid for deployment"),
    ("missing-selector", m.with_path(D(), ["spec", "selector"], None), "spec.selector",
     "must be a mapping of fields, not null"),
    ("template-restart-policy", D(restartPolicy="OnFailure"), "spec.template.spec.restartPolicy",
     "unsupported value 'OnFailure': supported values are 'Always'"),
    ("template-container", D(containers=[C(livenessProbe={})]),
     "spec.template.spec.containers[0].livenessProbe",
     "a probe needs exactly one handler: exec, httpGet, tcpSocket or grpc (0 given)"),
    ("max-surge-text", D({"strategy": {"rollingUpdate": {"maxSurge": "5"}}}),
     "spec.strategy.rollingUpdate.maxSurge",
     "must be an integer or a percentage such as '25%', not '5' (a valid percent string must "
     "be a numeric string followed by an ending '%')"),
    ("both-zero", D({"strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}}),
     "spec.strategy.rollingUpdate.maxUnavailable", "may not be 0 when `maxSurge` is 0"),
    ("unavailable-over-100", D({"strategy": {"rollingUpdate": {"maxUnavailable": "150%"}}}),
     "spec.strategy.rollingUpdate.maxUnavailable", "must not be greater than 100%"),
    ("recreate-with-rolling", D({"strategy": {"type": "Recreate", "rollingUpdate": {}}}),
     "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"),
    ("expression-values", D({"selector": {"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "In"}]}}),
     "spec.selector.matchExpressions[0].values",
     "must be specified when `operator` is 'In' or 'NotIn'"),
    ("negative-replicas", D({"replicas": -1}), "spec.replicas",
     "must be greater than or equal to 0, not -1"),
]


@pytest.mark.parametrize(("doc", "path", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rejected_with_path_and_message(doc: dict[str, Any], path: str, message: str) -> None:
    found = m.issues(doc)
    assert found.get(path) == message, found


def config_map(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, **fields}


def secret(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, **fields}


DATA_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("config-key", config_map(data={"a/b": "x"}), "data[a/b]",
     "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
     "'key.name', 'KEY_NAME' or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"),
    ("config-value-number", config_map(data={"lives": 3}), "data.lives",
     "must be a string, not the number 3 (quote it in YAML)"),
    ("data-binary-overlap", config_map(data={"k": "x"}, binaryData={"k": "eA=="}),
     "binaryData.k", "duplicate key 'k': a key may appear in only one of the data fields"),
    ("binary-not-base64", config_map(binaryData={"k": "not base64!"}), "binaryData.k",
     "is not valid base64; encode the value (base64 -w0) or put it under stringData instead"),
    ("config-too-big", config_map(data={"big": "x" * (1024 * 1024 + 1)}), "data",
     "Too long: the data is 1048577 bytes; it must have at most 1048576 bytes"),
    ("secret-not-base64", secret(data={"tls.crt": "-----BEGIN"}), "data[tls.crt]",
     "is not valid base64; encode the value (base64 -w0) or put it under stringData instead"),
    ("secret-tls-keys", secret(type="kubernetes.io/tls", data={"tls.crt": "eA=="}),
     "data[tls.key]", "key 'tls.key' is required for a Secret of type kubernetes.io/tls"),
    ("secret-sa-token-account", secret(type="kubernetes.io/service-account-token"),
     "metadata.annotations[kubernetes.io/service-account.name]",
     "is required for a Secret of type kubernetes.io/service-account-token: the name of the "
     "ServiceAccount the token is for"),
    ("docker-config-nested-too-deep", secret(
        type="kubernetes.io/dockerconfigjson",
        stringData={".dockerconfigjson": '{"auths": ' + "[" * 5000 + "]" * 5000 + "}"}),
     "stringData[.dockerconfigjson]", "must be a JSON object (the content of a docker config "
                                      "file) for a Secret of type kubernetes.io/dockerconfigjson"),
    ("secret-too-big", secret(stringData={"big": "x" * (1024 * 1024 + 1)}), "data",
     "Too long: the data is 1048577 bytes; it must have at most 1048576 bytes"),
    ("namespace-name", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}},
     "metadata.name",
     "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
     "and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc', "
     "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    ("namespace-has-no-namespace",
     {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "namespace": "b"}},
     "metadata.namespace",
     "Namespace is cluster-scoped and has no namespace; remove metadata.namespace"),
]


@pytest.mark.parametrize(("doc", "path", "message"), [c[1:] for c in DATA_CASES],
                         ids=[c[0] for c in DATA_CASES])
def test_data_objects_rejected(doc: dict[str, Any], path: str, message: str) -> None:
    found = m.issues(doc)
    assert found.get(path) == message, found


def test_every_issue_is_reported_at_once() -> None:
    doc = P({"containers": [C(name="App", livenessProbe={}), C(name="b", image="x",
                                                                 readinessProbe={})]})
    found = m.issues(doc)
    assert set(found) == {"spec.containers[0].livenessProbe", "spec.containers[1].readinessProbe"}


def test_the_error_names_the_object() -> None:
    with pytest.raises(ValueError) as caught:
        registry.parse_object(P({"containers": [C(tty=True)]}, namespace="shop"))
    assert str(caught.value) == (
        "Pod shop/web is invalid: spec.containers[0].tty: field 'tty' is not supported by "
        "gitkube yet.")


def test_extended_resources_and_secret_types_that_are_fine() -> None:
    registry.parse_object(P({"containers": [C(resources={"limits": {"example.com/dongle": 3}})]}))
    registry.parse_object(secret(type="kubernetes.io/basic-auth",
                                 stringData={"username": "u", "password": "p"}))
    registry.parse_object(config_map(data={"a": "1"}, binaryData={"b": "eA=="}, immutable=True))
