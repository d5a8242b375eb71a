"""The agent's in-place update of ConfigMap/Secret volumes under a running pod (files only)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

from gitkube.agent import files, protocol


def _pod(content: bytes, *, files_hash: str, spec_hash: str = "spec-1", mode: int = 0o400,
         sub_path: bool = False) -> protocol.PodRun:
    item: dict[str, Any] = {"path": "/etc/secret/password", "content":
                            base64.b64encode(content).decode(), "mode": mode, "volume": "creds",
                            "mountPath": "/etc/secret"}
    if sub_path:
        item["mountPath"] = item["path"]
    return {"uid": "u1", "name": "web", "namespace": "default", "hash": spec_hash,
            "filesHash": files_hash, "containers": [{"name": "app", "image": "busybox",
                                                     "files": [item]}]}  # type: ignore[list-item]


def _running(spec_hash: str = "spec-1") -> list[protocol.PodReport]:
    return [{"uid": "u1", "name": "web", "namespace": "default", "hash": spec_hash}]


def test_a_changed_file_is_swapped_in_place_under_the_same_bind(tmp_path: Path) -> None:
    binds = files.materialise(tmp_path, _pod(b"one", files_hash="f1"))
    [(host, mount)] = binds["app"]
    assert mount == "/etc/secret"
    generation = os.readlink(host / "..data")
    assert files.refresh(tmp_path, [_pod(b"one", files_hash="f1")], _running()) == []
    assert os.readlink(host / "..data") == generation, "an unchanged pod is left alone"

    assert files.refresh(tmp_path, [_pod(b"two", files_hash="f2")], _running()) == [
        "default/web"]
    assert (host / "password").read_bytes() == b"two"  # the same directory the container binds
    assert os.readlink(host / "..data") != generation
    assert stat.S_IMODE((host / "password").stat().st_mode) == 0o400
    assert files.refresh(tmp_path, [_pod(b"two", files_hash="f2")], _running()) == []


def test_pods_being_replaced_or_absent_are_not_refreshed(tmp_path: Path) -> None:
    files.materialise(tmp_path, _pod(b"one", files_hash="f1"))
    changed_spec = _pod(b"two", files_hash="f2", spec_hash="spec-2")
    assert files.refresh(tmp_path, [changed_spec], _running("spec-1")) == []
    assert files.refresh(tmp_path, [_pod(b"two", files_hash="f2")], []) == []


def test_secret_files_are_readable_by_the_agents_user_only(tmp_path: Path) -> None:
    (tmp_path / "pods").mkdir(mode=0o755)
    os.chmod(tmp_path / "pods", 0o755)
    files.materialise(tmp_path, _pod(b"x", files_hash="f1"))
    assert stat.S_IMODE((tmp_path / "pods").stat().st_mode) == 0o700


def test_a_sub_path_mount_binds_the_file_which_keeps_its_content(tmp_path: Path) -> None:
    """As in Kubernetes: a subPath mount never sees updates (the bind holds the old inode)."""
    binds = files.materialise(tmp_path, _pod(b"one", files_hash="f1", sub_path=True))
    [(host, mount)] = binds["app"]
    assert mount == "/etc/secret/password"
    with open(host.resolve(), "rb") as held:  # what the container's bind mount pins
        files.refresh(tmp_path, [_pod(b"two", files_hash="f2", sub_path=True)], _running())
        assert held.read() == b"one"
    assert host.read_bytes() == b"two"
