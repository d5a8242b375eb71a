"""A throwaway podman storage (``--root``/``--runroot``) with a busybox image, for agent tests.

Everything the agent tests create lives in a fresh directory under /tmp (short,
because podman's sockets live under the run root), so cleaning up means
removing that storage's pods, unmounting what podman mounted there, and
deleting the directory — nothing of the machine's own podman is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
"""

IMAGE = "localhost/gitkube-agent-test/busybox:1"
_APPLETS = ("sh", "httpd", "wget", "nc", "sleep", "echo", "cat", "ls", "env", "true", "false",
            "id", "touch", "dd")


@dataclass
class Storage:
    base: Path
    image: str = IMAGE
    #: libpod's run state (``--tmpdir``) in the storage too, not the machine's /run/libpod.
    own_tmpdir: bool = False

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def runroot(self) -> Path:
        return self.base / "run"

    @property
    def tmpdir(self) -> Path | None:
        return self.base / "tmp" if self.own_tmpdir else None

    @property
    def conf(self) -> Path:
        return self.base / "containers.conf"

    def runtime(self, state_dir: Path) -> dict[str, Any]:
        """The agent's RuntimeConfig for this storage."""
        config = {
            "kind": "podman",
            "root": str(self.root),
            "runroot": str(self.runroot),
            "containers_conf": str(self.conf),
            "state_dir": str(state_dir),
        }
        if self.tmpdir is not None:
            config["tmpdir"] = str(self.tmpdir)
        return config

    def podman(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = ["podman", "--root", str(self.root), "--runroot", str(self.runroot)]
        if self.tmpdir is not None:
            argv += ["--tmpdir", str(self.tmpdir)]
        argv += args
        env = {**os.environ, "CONTAINERS_CONF": str(self.conf)}
        return subprocess.run(
            argv, capture_output=True, text=True, check=check, env=env, timeout=120
        )

    def destroy(self) -> None:
        self.podman("pod", "rm", "-af", "-t", "0", check=False)
        self.podman("rm", "-af", "-t", "0", check=False)
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        for mount in reversed(mounts):
            if mount.startswith(str(self.base) + "/"):
                subprocess.run(["umount", mount], capture_output=True, check=False)
        shutil.rmtree(self.base, ignore_errors=True)


def create_storage(*, own_tmpdir: bool = False) -> Storage:
    storage = Storage(Path(tempfile.mkdtemp(prefix="gka-", dir="/tmp")), own_tmpdir=own_tmpdir)
    storage.conf.write_text(CONTAINERS_CONF)
    rootfs = storage.base / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", rootfs / "bin" / "busybox")
    for applet in _APPLETS:
        (rootfs / "bin" / applet).symlink_to("busybox")
    for directory in ("tmp", "etc", "proc", "sys", "dev"):
        (rootfs / directory).mkdir()
    archive = storage.base / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(rootfs, arcname=".")
    storage.podman("import", "--change", "ENV PATH=/bin", str(archive), storage.image)
    archive.unlink()
    shutil.rmtree(rootfs)
    return storage
