"""lower_pod for emptyDir volumes and init containers (sidecars): what the agent is given."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import hashing
from gitkube.controllers import lowering

from . import factories as f

CM = f.configmap("cfg", {"app.conf": "a=1\n"})


def _lower(containers: list[dict[str, Any]], volumes: list[dict[str, Any]] | None = None,
           init: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    pod = f.pod("p", node="node-1", containers=containers, volumes=volumes, uid="u")
    if init is not None:
        pod = pod.model_validate({**pod.to_dict(), "spec": {**pod.to_dict()["spec"],
                                                            "initContainers": init}})
    return dict(lowering.lower_pod(pod, f.snapshot(CM, pod)))


def _app(*mounts: dict[str, Any], name: str = "app") -> dict[str, Any]:
    return {"name": name, "image": "busybox:1", "volumeMounts": list(mounts)}


@pytest.mark.parametrize(
    ("volume", "mount", "expected_volume", "expected_mount"),
    [
        pytest.param({"name": "v", "emptyDir": {}}, {"name": "v", "mountPath": "/data"},
                     {"name": "v", "kind": "emptyDir", "medium": ""},
                     {"volume": "v", "mountPath": "/data"}, id="disk"),
        pytest.param({"name": "v", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                     {"name": "v", "mountPath": "/cache", "readOnly": True},
                     {"name": "v", "kind": "emptyDir", "medium": "Memory", "sizeBytes": 64 << 20},
                     {"volume": "v", "mountPath": "/cache", "readOnly": True},
                     id="memory-size-readonly"),
        pytest.param({"name": "v", "emptyDir": {"sizeLimit": "1Gi"}},
                     {"name": "v", "mountPath": "/w", "subPath": "logs/a"},
                     {"name": "v", "kind": "emptyDir", "medium": "", "sizeBytes": 1 << 30},
                     {"volume": "v", "mountPath": "/w", "subPath": "logs/a"}, id="disk-subPath"),
    ],
)
def test_empty_dir(volume: dict[str, Any], mount: dict[str, Any],
                   expected_volume: dict[str, Any], expected_mount: dict[str, Any]) -> None:
    run = _lower([_app(mount)], [volume])
    assert run["volumes"] == [expected_volume]
    assert run["containers"][0]["mounts"] == [expected_mount]
    assert "files" not in run["containers"][0]


def test_empty_dir_beside_a_configmap_volume() -> None:
    run = _lower([_app({"name": "cfg", "mountPath": "/etc/app"},
                       {"name": "scratch", "mountPath": "/tmp/x"})],
                 [{"name": "cfg", "configMap": {"name": "cfg"}},
                  {"name": "scratch", "emptyDir": {}}])
    container = run["containers"][0]
    assert [f["path"] for f in container["files"]] == ["/etc/app/app.conf"]
    assert container["mounts"] == [{"volume": "scratch", "mountPath": "/tmp/x"}]


def test_pods_without_the_new_fields_keep_their_hash() -> None:
    """An upgrade must not replace every running pod: no emptyDir, no init → the old formula."""
    pod = f.pod("p", node="node-1", uid="u")
    run = lowering.lower_pod(pod, f.snapshot(CM, pod))
    spec = {k: v for k, v in pod.to_dict()["spec"].items() if k != "nodeName"}
    old = hashing.stable_hash({"spec": spec, "owner": "", "mounts": []}, length=12)
    assert "volumes" not in run and "initContainers" not in run
    assert run["hash"] == old


@pytest.mark.parametrize(
    ("change", "replaced"),
    [
        pytest.param({"mountPath": "/other"}, True, id="mount-path"),
        pytest.param({"readOnly": True}, True, id="read-only"),
        pytest.param({"subPath": "x"}, True, id="sub-path"),
        pytest.param({}, False, id="same"),
    ],
)
def test_a_changed_mount_replaces_the_pod(change: dict[str, Any], replaced: bool) -> None:
    volumes = [{"name": "v", "emptyDir": {}}]
    before = _lower([_app({"name": "v", "mountPath": "/data"})], volumes)
    after = _lower([_app({"name": "v", "mountPath": "/data", **change})], volumes)
    assert (before["hash"] != after["hash"]) is replaced


def test_init_containers_are_lowered_like_containers() -> None:
    run = _lower(
        [_app({"name": "v", "mountPath": "/data"})],
        [{"name": "v", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "cfg"}}],
        init=[
            {"name": "setup", "image": "busybox:1", "command": ["sh", "-c", "echo $(MODE)"],
             "env": [{"name": "MODE", "value": "fast"}],
             "resources": {"requests": {"cpu": "200m"}},
             "volumeMounts": [{"name": "v", "mountPath": "/work"},
                              {"name": "cfg", "mountPath": "/etc/app"}]},
            {"name": "shipper", "image": "busybox:1", "restartPolicy": "Always",
             "startupProbe": {"exec": {"command": ["true"]}}},
        ],
    )
    setup, shipper = run["initContainers"]
    assert setup["command"] == ["sh", "-c", "echo fast"]
    assert setup["env"] == {"MODE": "fast"}
    assert setup["cpuRequestMillis"] == 200
    assert setup["mounts"] == [{"volume": "v", "mountPath": "/work"}]
    assert [f["path"] for f in setup["files"]] == ["/etc/app/app.conf"]
    assert "restartPolicy" not in setup
    assert shipper["restartPolicy"] == "Always"
    assert shipper["startupProbe"]["handler"] == "exec"
    assert [c["name"] for c in run["containers"]] == ["app"]


def test_an_init_container_change_replaces_the_pod() -> None:
    init = [{"name": "setup", "image": "busybox:1"}]
    before = _lower([_app()], init=init)
    after = _lower([_app()], init=[{**init[0], "image": "busybox:2"}])
    assert before["hash"] != after["hash"]
    assert before["filesHash"] == after["filesHash"]
