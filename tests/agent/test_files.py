"""What the agent writes on the node: env files and atomically updated volume files."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from gitkube.agent import files, protocol


def test_volume_uses_the_kubernetes_atomic_layout(tmp_path: Path) -> None:
    volume = tmp_path / "vol"
    files.write_atomic(volume, {"app.conf": (b"a=1\n", 0o644), "sub/key": (b"k", 0o400)})
    data = volume / "..data"
    assert data.is_symlink() and os.readlink(data).startswith("..")
    assert os.readlink(volume / "app.conf") == "..data/app.conf"
    assert os.readlink(volume / "sub") == "..data/sub"
    assert (volume / "app.conf").read_bytes() == b"a=1\n"
    assert stat.S_IMODE((volume / "sub" / "key").stat().st_mode) == 0o400


def test_an_update_swaps_the_content_and_drops_stale_keys(tmp_path: Path) -> None:
    volume = tmp_path / "vol"
    files.write_atomic(volume, {"old": (b"1", 0o644), "kept": (b"1", 0o644)})
    first = os.readlink(volume / "..data")
    files.write_atomic(volume, {"kept": (b"2", 0o644), "new": (b"3", 0o644)})
    assert os.readlink(volume / "..data") != first
    assert not (volume / first).exists(), "the previous generation is removed"
    assert sorted(p.name for p in volume.iterdir() if not p.name.startswith("..")) == [
        "kept",
        "new",
    ]
    assert (volume / "kept").read_bytes() == b"2"
    assert [p.name for p in volume.iterdir() if p.name.startswith("..")].count("..data") == 1


@pytest.mark.parametrize("bad", ["/etc/passwd", "../escape", "a/../../b", "..data/x"])
def test_volume_paths_must_stay_inside(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="inside its volume"):
        files.write_atomic(tmp_path / "vol", {bad: (b"", 0o644)})


def test_env_file_is_private_and_deleted(tmp_path: Path) -> None:
    with files.EnvFile(tmp_path, {"PLAIN": "v", "SPACED": " x = y ", "MULTI": "a\nb"}) as env:
        assert stat.S_IMODE(env.path.stat().st_mode) == 0o600
        assert env.path.read_text() == "PLAIN=v\nSPACED= x = y \nMULTI\n"
        assert env.process_env == {"MULTI": "a\nb"}
    assert not env.path.exists()


@pytest.mark.parametrize("name", ["", "A=B", "WITH SPACE", "#COMMENT", "GLOB*"])
def test_env_names_podman_would_misread_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not valid"):
        files.EnvFile(tmp_path, {name: "v"})


def file_run(path: str, content: bytes, **extra: str) -> protocol.FileRun:
    item = protocol.FileRun(path=path, content=base64.b64encode(content).decode(), mode=0o644)
    item.update(extra)  # type: ignore[typeddict-item]
    return item


def test_materialise_groups_files_by_volume_and_mounts_read_only_dirs(tmp_path: Path) -> None:
    pod = protocol.PodRun(
        uid="u1",
        name="p",
        containers=[
            protocol.ContainerRun(
                name="a",
                image="i",
                files=[
                    file_run("/etc/app/app.conf", b"conf"),
                    file_run("/etc/app/nested/key", b"k", volume="cfg", mountPath="/etc/app"),
                    file_run("/etc/tls/tls.key", b"secret"),
                ],
            ),
            protocol.ContainerRun(
                name="b",
                image="i",
                files=[
                    file_run(
                        "/etc/nginx/nginx.conf",
                        b"sub",
                        volume="one",
                        mountPath="/etc/nginx/nginx.conf",
                    ),
                ],
            ),
        ],
    )
    binds = files.materialise(tmp_path, pod)
    volumes = tmp_path / "pods" / "u1" / "volumes"
    assert sorted(path for _, path in binds["a"]) == ["/etc/app", "/etc/tls"]
    assert (volumes / "files-etc-tls" / "tls.key").read_bytes() == b"secret"
    assert binds["b"] == [(volumes / "one" / "nginx.conf", "/etc/nginx/nginx.conf")], (
        "a subPath mount binds the file alone, not its directory"
    )
    files.forget_pod(tmp_path, "u1")
    assert not (tmp_path / "pods" / "u1").exists()
