"""hostPath checks and claim directories on the node: kubelet's types, the local-path dir's
mode, and removal only of what the agent made and no pod mounts (no podman needed)."""

from __future__ import annotations

import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from gitkube.agent import handler, protocol, volumes


def _volume(path: Path, kind: str = "", **extra: Any) -> protocol.VolumeRun:
    return protocol.VolumeRun(name="v", kind="hostPath", path=str(path), type=kind, **extra)


@pytest.mark.parametrize(("make", "kind", "problem"), [
    pytest.param("dir", "Directory", None, id="directory-is-a-directory"),
    pytest.param("file", "Directory", "{p} is not a directory", id="file-is-not-a-directory"),
    pytest.param(None, "Directory", "{p} is not a directory", id="missing-directory"),
    pytest.param("file", "File", None, id="file-is-a-file"),
    pytest.param("dir", "File", "{p} is not a file", id="directory-is-not-a-file"),
    pytest.param(None, "", None, id="no-type-checks-nothing"),
    pytest.param("socket", "Socket", None, id="socket-is-a-socket"),
    pytest.param("file", "Socket", "{p} is not a socket", id="file-is-not-a-socket"),
    pytest.param("file", "CharDevice", "{p} is not a character device", id="not-a-char-device"),
])
def test_host_path_types_are_checked_as_kubelet_does(
        tmp_path: Path, make: str | None, kind: str, problem: str | None) -> None:
    path = tmp_path / "thing"
    if make == "dir":
        path.mkdir()
    elif make == "file":
        path.write_text("x")
    elif make == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
    if problem is None:
        assert volumes.host_dir(_volume(path, kind)) == path
        return
    with pytest.raises(volumes.MountFailed) as caught:
        volumes.host_dir(_volume(path, kind))
    assert str(caught.value) == ('MountVolume.SetUp failed for volume "v" : hostPath type '
                                 f"check failed: {problem.format(p=path)}")


def test_or_create_types_make_what_is_missing(tmp_path: Path) -> None:
    made = volumes.host_dir(_volume(tmp_path / "a" / "b", "DirectoryOrCreate"))
    assert made.is_dir()
    touched = volumes.host_dir(_volume(tmp_path / "a" / "f", "FileOrCreate"))
    assert touched.is_file() and touched.read_text() == ""
    with pytest.raises(volumes.MountFailed, match="FileOrCreate makes no directory"):
        volumes.host_dir(_volume(tmp_path / "nowhere" / "f", "FileOrCreate"))


def test_a_claim_directory_is_made_for_any_user_to_write(tmp_path: Path) -> None:
    made = volumes.host_dir(_volume(tmp_path / "storage" / "pvc-1_default_data",
                                    "DirectoryOrCreate", claim=True))
    assert stat.S_IMODE(made.stat().st_mode) == 0o777


def _pod(uid: str, *paths: str) -> protocol.PodRun:
    return protocol.PodRun(uid=uid, name=f"p-{uid}", namespace="ns", hash="h",
                           containers=[{"name": "c", "image": "img:1"}],
                           volumes=[_volume(Path(p), "DirectoryOrCreate", claim=True)
                                    for p in paths])


def test_removal_only_of_held_unmounted_claim_directories(tmp_path: Path) -> None:
    held, mounted, foreign = (tmp_path / n for n in ("held", "mounted", "foreign"))
    for path in (held, mounted, foreign):
        path.mkdir()
        (path / "data").write_text("keep me?")
    removed, refused = volumes.remove(
        {str(held), str(mounted)}, [str(held), str(mounted), str(foreign)],
        [_pod("a", str(mounted))], on_disk=True)
    assert removed == [str(held)] and not held.exists()
    assert refused == [f"{foreign} is not a claim volume this agent made; left alone",
                       f"{mounted} is still mounted by a pod of this node; kept"]
    assert mounted.exists() and foreign.exists()


@pytest.fixture
def base(tmp_path: Path) -> dict[str, Any]:
    return {"cluster": "c1", "node": "n1", "runtime": {"kind": "sim", "images": ["img:1"]},
            "state_dir": str(tmp_path / "state")}


def test_the_agent_keeps_claim_directories_until_asked(base: dict[str, Any],
                                                      tmp_path: Path) -> None:
    data = "/srv/storage/pvc-1_ns_data"
    first = handler.handle({**base, "op": "converge", "pods": [_pod("a", data)]})
    assert first["ok"] and first["report"]["volumes"] == [data]
    refused = handler.handle({**base, "op": "converge", "pods": [_pod("a", data)],
                              "removeVolumes": [data]})
    assert refused["report"]["volumes"] == [data]
    assert refused["report"]["events"][-1]["reason"] == "VolumeFailedDelete"
    gone = handler.handle({**base, "op": "converge", "pods": [], "removeVolumes": [data]})
    assert gone["report"]["volumes"] == []
    assert gone["report"]["events"][-1] == {"type": "Normal", "reason": "VolumeDeleted",
                                            "message": f"removed {data}"}
    observed = handler.handle({**base, "op": "observe"})["report"]
    assert observed["volumes"] == []
    assert observed["facts"]["storageRoot"] == str(tmp_path / "state" / "storage")


@pytest.mark.parametrize(("volume", "error"), [
    pytest.param({"name": "v", "kind": "hostPath", "path": "relative"},
                 "volume v needs an absolute 'path' without '..'", id="relative-path"),
    pytest.param({"name": "v", "kind": "hostPath", "path": "/a/../etc"},
                 "volume v needs an absolute 'path' without '..'", id="backsteps"),
    pytest.param({"name": "v", "kind": "nfs"},
                 "volume v has an unknown kind 'nfs'; this agent knows emptyDir and hostPath.",
                 id="unknown-kind"),
])
def test_bad_volumes_are_refused_before_anything_runs(base: dict[str, Any],
                                                      volume: dict[str, Any],
                                                      error: str) -> None:
    pod = {**_pod("a"), "volumes": [volume]}
    answer = handler.handle({**base, "op": "converge", "pods": [pod]})
    assert not answer["ok"] and answer["permanent"] and error in answer["error"]


def test_removals_must_be_absolute(base: dict[str, Any]) -> None:
    answer = handler.handle({**base, "op": "converge", "pods": [], "removeVolumes": ["x"]})
    assert answer == {"ok": False, "permanent": True, "error": (
        "'removeVolumes' must be a list of absolute paths without '..'.")}
