"""The agent's own podman settings: only what the host needs, and containers start with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitkube.agent import handler
from gitkube.agent.runtimes import podman_hostconf as hostconf

from .storage import Storage

ROOMY = hostconf.HostFacts(
    nofile_hard=1048576, nproc_hard=4194304, cgroup_hybrid=False, systemd=True,
    has_runc=True, has_crun=True,
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, {}),
        ({"nofile_hard": 20000},
         {"containers": {"default_ulimits": ["nofile=1024:20000"]}}),
        ({"nofile_hard": 512, "nproc_hard": 96365},
         {"containers": {"default_ulimits": ["nofile=512:512", "nproc=4096:4096"]}}),
        ({"nproc_hard": 1000},
         {"containers": {"default_ulimits": ["nproc=1000:1000"]}}),
        ({"cgroup_hybrid": True}, {"engine": {"runtime": "runc"}}),
        ({"cgroup_hybrid": True, "has_runc": False}, {}),
        ({"cgroup_hybrid": True, "has_crun": False}, {}),
        ({"systemd": False}, {"engine": {"cgroup_manager": "cgroupfs"}}),
    ],
    ids=["roomy-host-needs-nothing", "low-nofile", "low-nofile-and-nproc", "very-low-nproc",
         "hybrid-cgroups-with-crun", "hybrid-without-runc-cannot-help", "hybrid-without-crun",
         "no-systemd"],
)
def test_needed_settings(changes: dict[str, object], expected: dict[str, object]) -> None:
    assert hostconf.needed_settings(ROOMY._replace(**changes)) == expected  # type: ignore[arg-type]


def test_render_is_containers_conf() -> None:
    text = hostconf.render({"containers": {"default_ulimits": ["nofile=1024:2048"]},
                            "engine": {"cgroup_manager": "cgroupfs"}})
    assert '[containers]\ndefault_ulimits = ["nofile=1024:2048"]\n' in text
    assert '[engine]\ncgroup_manager = "cgroupfs"\n' in text


def test_nothing_written_when_podman_is_already_configured(tmp_path: Path) -> None:
    assert hostconf.ensure_conf(tmp_path, {"CONTAINERS_CONF": "/etc/mine.conf"}) is None
    assert not (tmp_path / "containers.conf").exists()


@pytest.mark.podman
def test_a_pod_starts_with_no_containers_conf_given(
    podman_storage: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inventory names no containers.conf and none is in the environment: the agent works
    out what this host needs by itself (on the CI machine: the low nofile limit)."""
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    runtime = podman_storage.runtime(tmp_path / "state")
    del runtime["containers_conf"]
    pod = {
        "uid": "uid-hostconf", "name": "hostconf", "namespace": "default", "hash": "h1",
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "main", "image": podman_storage.image,
                        "imagePullPolicy": "Never", "command": ["/bin/sleep", "60"]}],
    }
    request = {"cluster": "hostconf", "node": "node-1", "runtime": runtime}
    try:
        answer = handler.handle({**request, "op": "converge", "pods": [pod]})
        assert answer["ok"], answer
        [report] = answer["report"]["pods"]
        assert report["containers"][0]["state"] == "running", json.dumps(answer, indent=1)
    finally:
        handler.handle({**request, "op": "converge", "pods": []})
