"""lower_pod: env, envFrom, $(VAR), volumes and missing references, as kubelet resolves them."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gitkube.controllers import lowering
from gitkube.controllers.lowering import expansion

from . import factories as f

CM = f.configmap("cfg", {"MODE": "fast", "LEVEL": "3", "bad-key!": "x", "app.conf": "a=1\n"})
SECRET = f.secret("creds", {"PASSWORD": "hunter2", "tls.key": "KEY"})


def _container(**fields: Any) -> dict[str, Any]:
    return {"name": "app", "image": "busybox:1", **fields}


def _lower(container: dict[str, Any], volumes: list[dict[str, Any]] | None = None,
           ) -> dict[str, Any]:
    pod = f.pod("p", node="node-1", containers=[container], volumes=volumes, uid="pod-uid")
    run = lowering.lower_pod(pod, f.snapshot(CM, SECRET, pod))
    return dict(run["containers"][0])


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        pytest.param("$(A)-$(B)", {"A": "1", "B": "2"}, "1-2", id="two-vars"),
        pytest.param("$(MISSING)", {}, "$(MISSING)", id="undefined-kept"),
        pytest.param("$$(A)", {"A": "1"}, "$(A)", id="double-dollar-escapes"),
        pytest.param("$$$$", {}, "$$", id="escaped-dollars"),
        pytest.param("cost $5", {}, "cost $5", id="lone-dollar"),
        pytest.param("$(A", {"A": "1"}, "$(A", id="unclosed"),
        pytest.param("end$", {}, "end$", id="trailing-dollar"),
    ],
)
def test_expand(text: str, variables: dict[str, str], expected: str) -> None:
    assert expansion.expand(text, variables) == expected


@pytest.mark.parametrize(
    ("container", "expected_env"),
    [
        pytest.param(_container(env=[{"name": "A", "value": "x"},
                                     {"name": "B", "value": "$(A)-y"}]),
                     {"A": "x", "B": "x-y"}, id="value-and-expansion-of-earlier-var"),
        pytest.param(_container(env=[{"name": "B", "value": "$(A)"},
                                     {"name": "A", "value": "x"}]),
                     {"A": "x", "B": "$(A)"}, id="later-var-not-expanded"),
        pytest.param(_container(env=[{"name": "M", "valueFrom": {"configMapKeyRef": {
            "name": "cfg", "key": "MODE"}}}]), {"M": "fast"}, id="configMapKeyRef"),
        pytest.param(_container(env=[{"name": "P", "valueFrom": {"secretKeyRef": {
            "name": "creds", "key": "PASSWORD"}}}]), {"P": "hunter2"}, id="secretKeyRef"),
        pytest.param(_container(env=[{"name": "O", "valueFrom": {"configMapKeyRef": {
            "name": "nope", "key": "x", "optional": True}}}]), {}, id="optional-missing-skipped"),
        pytest.param(_container(env=[
            {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "U", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
            {"name": "L", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        ]), {"N": "p", "U": "pod-uid", "L": "web", "NODE": "node-1", "NS": "default"},
            id="fieldRef"),
        pytest.param(_container(envFrom=[{"configMapRef": {"name": "cfg"}, "prefix": "C_"}]),
                     {"C_MODE": "fast", "C_LEVEL": "3", "C_app.conf": "a=1\n"},
                     id="envFrom-prefix-invalid-keys-skipped"),
        pytest.param(_container(envFrom=[{"secretRef": {"name": "creds"}}],
                                env=[{"name": "URL", "value": "db:$(PASSWORD)"}]),
                     {"PASSWORD": "hunter2", "tls.key": "KEY", "URL": "db:hunter2"},
                     id="env-expands-envFrom"),
        pytest.param(_container(envFrom=[{"configMapRef": {"name": "cfg"}}],
                                env=[{"name": "MODE", "value": "slow"}]),
                     {"MODE": "slow", "LEVEL": "3", "app.conf": "a=1\n"},
                     id="env-overrides-envFrom"),
    ],
)
def test_environment(container: dict[str, Any], expected_env: dict[str, str]) -> None:
    assert _lower(container)["env"] == expected_env


def test_command_and_args_are_expanded_with_the_final_environment() -> None:
    run = _lower(_container(
        command=["sh", "-c", "echo $(GREETING) $$(HOME)"], args=["$(MISSING)", "$(GREETING)"],
        env=[{"name": "GREETING", "value": "hi"}], workingDir="/srv"))
    assert run["command"] == ["sh", "-c", "echo hi $(HOME)"]
    assert run["args"] == ["$(MISSING)", "hi"]
    assert run["workingDir"] == "/srv"


def test_ports_and_resources() -> None:
    run = _lower(_container(
        ports=[{"containerPort": 80, "hostPort": 8080}],
        resources={"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "0.1"}}))
    assert run["ports"] == [{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}]
    assert (run["cpuLimitMillis"], run["memoryLimitBytes"]) == (500, 128 << 20)
    assert (run["cpuRequestMillis"], run["memoryRequestBytes"]) == (100, 128 << 20)
    assert run["imagePullPolicy"] == "IfNotPresent"


def _files(run: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {f["path"]: (base64.b64decode(f["content"]).decode(), f["mode"])
            for f in run.get("files", [])}


@pytest.mark.parametrize(
    ("volume", "mount", "expected"),
    [
        pytest.param({"name": "v", "configMap": {"name": "cfg", "items": [
            {"key": "app.conf", "path": "conf/app.conf"}]}}, {"mountPath": "/etc/app"},
            {"/etc/app/conf/app.conf": ("a=1\n", 0o644)}, id="configmap-items"),
        pytest.param({"name": "v", "secret": {"secretName": "creds", "defaultMode": 0o400}},
                     {"mountPath": "/run/s"},
                     {"/run/s/PASSWORD": ("hunter2", 0o400), "/run/s/tls.key": ("KEY", 0o400)},
                     id="secret-all-keys-defaultMode"),
        pytest.param({"name": "v", "secret": {"secretName": "creds"}},
                     {"mountPath": "/etc/key.pem", "subPath": "tls.key"},
                     {"/etc/key.pem": ("KEY", 0o644)}, id="subPath-single-file"),
        pytest.param({"name": "v", "configMap": {"name": "nope", "optional": True}},
                     {"mountPath": "/x"}, {}, id="optional-missing-empty"),
    ],
)
def test_volumes(volume: dict[str, Any], mount: dict[str, Any],
                 expected: dict[str, tuple[str, int]]) -> None:
    run = _lower(_container(volumeMounts=[{"name": "v", **mount}]), volumes=[volume])
    assert _files(run) == expected


@pytest.mark.parametrize(
    ("container", "volumes", "message"),
    [
        pytest.param(_container(env=[{"name": "X", "valueFrom": {"configMapKeyRef": {
            "name": "x", "key": "k"}}}]), None, 'configmap "x" not found', id="missing-configmap"),
        pytest.param(_container(env=[{"name": "X", "valueFrom": {"secretKeyRef": {
            "name": "creds", "key": "nope"}}}]), None,
            "couldn't find key nope in Secret default/creds", id="missing-secret-key"),
        pytest.param(_container(envFrom=[{"secretRef": {"name": "gone"}}]), None,
                     'secret "gone" not found', id="missing-envFrom-secret"),
        pytest.param(_container(volumeMounts=[{"name": "v", "mountPath": "/x"}]),
                     [{"name": "v", "configMap": {"name": "absent"}}],
                     'configmap "absent" not found', id="missing-volume-configmap"),
        pytest.param(_container(volumeMounts=[{"name": "v", "mountPath": "/x", "subPath": "a"}]),
                     [{"name": "v", "emptyDir": {"medium": "Memory"}}],
                     'volume mount "v": subPath on a Memory emptyDir is not supported yet; '
                     "mount the whole volume", id="memory-emptyDir-subPath-rejected"),
    ],
)
def test_lowering_errors(container: dict[str, Any], volumes: list[dict[str, Any]] | None,
                         message: str) -> None:
    with pytest.raises(lowering.LoweringError) as caught:
        _lower(container, volumes)
    assert caught.value.reason == "CreateContainerConfigError"
    assert caught.value.message == message


def test_hash_ignores_uid_but_not_spec() -> None:
    snap = f.snapshot(CM, SECRET)
    one = lowering.lower_pod(f.pod("p", uid="a"), snap)
    other_uid = lowering.lower_pod(f.pod("p", uid="b"), snap)
    other_image = lowering.lower_pod(f.pod("p", uid="a", image="busybox:2"), snap)
    assert one["hash"] == other_uid["hash"]
    assert one["hash"] != other_image["hash"]


_ENV_POD = _container(envFrom=[{"configMapRef": {"name": "cfg"}}], env=[
    {"name": "P", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "PASSWORD"}}}])
_VOLUME_POD = _container(volumeMounts=[{"name": "v", "mountPath": "/etc/app"}])
_VOLUMES = [{"name": "v", "configMap": {"name": "cfg"}}]


@pytest.mark.parametrize(
    ("container", "volumes", "after", "replaced", "files_changed"),
    [
        pytest.param(_ENV_POD, None, [f.configmap("cfg", {"MODE": "slow"}), SECRET],
                     False, False, id="env-configmap-value-neither"),
        pytest.param(_ENV_POD, None, [CM, f.secret("creds", {"PASSWORD": "new"})],
                     False, False, id="env-secret-value-neither"),
        pytest.param(_VOLUME_POD, _VOLUMES, [f.configmap("cfg", {"MODE": "slow"}), SECRET],
                     False, True, id="volume-value-files-only"),
        pytest.param(_VOLUME_POD, _VOLUMES, [f.configmap("cfg", {**CM.data, "NEW": "1"}),
                                             SECRET],
                     False, True, id="volume-new-key-files-only"),
        pytest.param(_container(volumeMounts=[{"name": "v", "mountPath": "/x"}]),
                     [{"name": "v", "configMap": {"name": "late", "optional": True}}],
                     [CM, SECRET, f.configmap("late", {"a": "1"})],
                     True, True, id="optional-volume-appears-replaces"),
    ],
)
def test_what_a_config_change_does_to_a_running_pod(
    container: dict[str, Any], volumes: list[dict[str, Any]] | None, after: list[Any],
    replaced: bool, files_changed: bool,
) -> None:
    """Env values are read at container start (no replace); volume files update in place."""
    pod = f.pod("p", containers=[container], volumes=volumes, uid="u")
    before_run = lowering.lower_pod(pod, f.snapshot(CM, SECRET))
    after_run = lowering.lower_pod(pod, f.snapshot(*after))
    assert (before_run["hash"] != after_run["hash"]) is replaced
    assert (before_run["filesHash"] != after_run["filesHash"]) is files_changed
