"""A cluster repository driven the way a user drives it: files, git commits, the gitkube CLI.

The e2e tests use this instead of calling the engine, so that what they assert is what a
person at a terminal would see (exit codes, `gitkube get -o json`, `git log gitkube/status`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from gitkube.api.inventory import Inventory, InventoryNode, Settings

GITKUBE = str(Path(sys.executable).with_name("gitkube"))
#: The loopback test nodes share this machine's network namespace with every other test
#: session, so their clusters leave its networking alone; the cluster network (pod subnets,
#: Service rules, DNS) is tested on nodes in their own namespaces (tests/fixtures/netns.py).
SETTINGS = Settings(pod_network="none")


@dataclass
class Run:
    code: int
    out: str
    err: str


class ClusterRepo:
    def __init__(self, path: Path, cluster: str, nodes: Sequence[InventoryNode],
                 settings: Settings = SETTINGS) -> None:
        """``settings``: inventory.yaml's (the loopback nodes' default leaves networking
        alone; netns nodes pass ``Settings()`` for the cluster network)."""
        self.path = path
        self.cluster = cluster
        self.nodes = list(nodes)
        self.settings = settings
        done = self.gitkube("init", str(path), cwd=path.parent)
        assert done.code == 0, done.err
        self.write_inventory()
        self.commit("Use the test nodes")

    # ---------------------------------------------------------------- files and git
    def write_inventory(self) -> None:
        inventory = Inventory(cluster=self.cluster, nodes=self.nodes, settings=self.settings)
        data = inventory.model_dump(mode="json", by_alias=True, exclude_none=True)
        self.write("inventory.yaml", data)

    def write(self, name: str, data: Any) -> None:
        write_file(self.path, name, data)

    def remove(self, name: str) -> None:
        self.git("rm", "-q", name)

    def git(self, *args: str) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
        done = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True,
                              text=True, env=env, check=True)
        return done.stdout

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-qm", message)
        return self.git("rev-parse", "HEAD").strip()

    def status_log(self) -> list[str]:
        return self.git("log", "--format=%s", "gitkube/status").splitlines()

    # ---------------------------------------------------------------- the CLI
    def gitkube(self, *args: str, cwd: Path | None = None, timeout: float = 240) -> Run:
        done = subprocess.run([GITKUBE, *args], cwd=cwd or self.path, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return Run(done.returncode, done.stdout, done.stderr)

    def apply(self) -> Run:
        done = self.gitkube("apply", "--yes")
        assert done.code == 0, f"apply failed ({done.code}):\n{done.out}\n{done.err}"
        return done

    def pods(self) -> list[dict[str, Any]]:
        done = self.gitkube("get", "pods", "-o", "json")
        assert done.code == 0, done.err
        listing = json.loads(done.out)
        assert listing["kind"] == "List"
        items: list[dict[str, Any]] = listing["items"]
        return items


def write_file(root: Path, name: str, data: Any) -> None:
    """Write ``data`` at ``root/name``: a string as it is, anything else as YAML."""
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        target.write_text(data)
        return
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with target.open("w") as stream:
        yaml.dump(data, stream)


def deployment(name: str, replicas: int, image: str, *, command: Sequence[str] | None = None,
               cpu: str = "50m") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{
                        "name": "main",
                        "image": image,
                        "command": list(command or ["/bin/sleep", "3600"]),
                        "resources": {"requests": {"cpu": cpu, "memory": "16Mi"}},
                    }],
                },
            },
        },
    }


def running(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if p.get("status", {}).get("phase") == "Running"]
