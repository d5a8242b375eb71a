"""ConfigMaps and Secrets end to end on two SSH nodes, with a canary secret that must never leak.

A Deployment reads a ConfigMap value and an age-encrypted Secret (made with the ``age`` CLI)
from env and from files. A ConfigMap change reaches the running containers' files without a
restart; an env value change rolls the Deployment to a new ReplicaSet. A ciphertext copied
to another Secret and a tampered one are refused. All the while ``ps auxww`` is sampled, and
afterwards every gitkube output, the ``gitkube/status`` history, the repository and the
nodes' agent files (but the 0600 desired-state file) are searched for the canary.
"""

from __future__ import annotations

import json
import secrets as random_secrets
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ClusterRepo, Run
from tests.fixtures.nodes import LoopbackNode

from .conftest import age_encrypt

pytestmark = [pytest.mark.podman, pytest.mark.ssh]

CANARY = "canary-" + random_secrets.token_hex(8)


class PsWatch:
    """Samples ``ps auxww`` on this machine (where both nodes run) until stopped."""

    def __init__(self) -> None:
        self.samples = 0
        self.hits: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            out = subprocess.run(["ps", "auxww"], capture_output=True, text=True).stdout
            self.samples += 1
            self.hits += [line for line in out.splitlines() if CANARY in line]
            self._stop.wait(0.05)  # leave the two cores to the apply being watched

    def __enter__(self) -> PsWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Recorder:
    """The CLI, with every output kept so the test can search it afterwards."""

    def __init__(self, repo: ClusterRepo) -> None:
        self.repo = repo
        self.outputs: list[str] = []

    def run(self, *args: str) -> Run:
        done = self.repo.gitkube(*args)
        self.outputs.append(f"$ gitkube {' '.join(args)}\n{done.out}\n{done.err}")
        return done

    def apply(self) -> Run:
        done = self.run("apply", "--yes")
        assert done.code == 0, done.out + done.err
        return done

    def json(self, *args: str) -> Any:
        done = self.run(*args, "-o", "json")
        assert done.code == 0, done.err
        return json.loads(done.out)


def _manifests(public: str, *, greeting: str, mode: str) -> dict[str, str]:
    token = age_encrypt(f"gitkube:v1:default/db/password\n{CANARY}".encode(), public)
    armor = "".join(f"    {line}\n" for line in token.splitlines())
    secret = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  annotations:\n"
              f"    gitkube.io/encrypted: age\nstringData:\n  password: |\n{armor}")
    config = (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n"
              f"  greeting: {greeting}\n  MODE: {mode}\n")
    deployment = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  strategy: {rollingUpdate: {maxSurge: 2, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: app}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: main
          image: IMAGE
          command: ["/bin/sleep", "3600"]
          resources: {requests: {cpu: 10m, memory: 8Mi}}
          env:
            - name: MODE
              valueFrom: {configMapKeyRef: {name: app, key: MODE}}
            - name: PASSWORD
              valueFrom: {secretKeyRef: {name: db, key: password}}
          volumeMounts:
            - {name: config, mountPath: /etc/config}
            - {name: secret, mountPath: /etc/secret}
      volumes:
        - name: config
          configMap: {name: app}
        - name: secret
          secret: {secretName: db, defaultMode: 0400}
"""
    return {"secret.yaml": secret, "config.yaml": config, "app.yaml": deployment}


@pytest.fixture
def nodes(ssh_nodes: Callable[..., list[LoopbackNode]]) -> list[LoopbackNode]:
    return ssh_nodes(2, prefix="cfg")


def _containers(nodes: list[LoopbackNode], cluster: str) -> Iterator[tuple[LoopbackNode, dict]]:
    for node in nodes:
        listing = node.podman("ps", "--format", "json", "--filter",
                              f"label=io.gitkube.cluster={cluster}").stdout
        for container in json.loads(listing or "[]"):
            if not container.get("IsInfra"):
                yield node, container


def _exec(node: LoopbackNode, cid: str, *argv: str) -> str:
    return node.podman("exec", cid, *argv).stdout


def _env(node: LoopbackNode, cid: str, name: str) -> str:
    # The value is expanded inside the container: only "$NAME" is on a command line.
    return _exec(node, cid, "sh", "-c", f'printf %s "${name}"')


def _settle(cli: Recorder, done: Callable[[], bool], passes: int = 8) -> None:
    for _ in range(passes):
        cli.apply()
        if done():
            return
    raise AssertionError("the cluster did not settle:\n" + "\n".join(cli.outputs[-2:]))


def test_config_and_secrets_on_two_ssh_nodes(
    tmp_path: Path, nodes: list[LoopbackNode], busybox_image: str,
) -> None:
    cluster = "e2e-config"
    repo = ClusterRepo(tmp_path / "cluster", cluster, [n.inventory for n in nodes])
    cli = Recorder(repo)
    keygen = cli.run("secret", "keygen")
    assert keygen.code == 0, keygen.err
    public = keygen.out.strip()
    assert public.startswith("age1")
    files = _manifests(public, greeting="hello-v1", mode="one")
    for name, text in files.items():
        repo.write(name, text.replace("IMAGE", busybox_image))
    repo.commit("An app reading config and an encrypted secret")

    with PsWatch() as ps:
        assert cli.run("plan", "-o", "json").code == 0
        _settle(cli, lambda: len(list(_containers(nodes, cluster))) == 2)
        first = {c["Id"]: (node, c) for node, c in _containers(nodes, cluster)}
        for node, container in first.values():
            assert _env(node, container["Id"], "MODE") == "one"
            assert _env(node, container["Id"], "PASSWORD") == CANARY
            assert _exec(node, container["Id"], "cat", "/etc/config/greeting") == "hello-v1"
            assert _exec(node, container["Id"], "cat", "/etc/secret/password") == CANARY
            mode = _exec(node, container["Id"], "stat", "-L", "-c", "%a", "/etc/secret/password")
            assert mode.strip() == "400"

        # A ConfigMap change reaches the files of the running containers: no restart.
        config = files["config.yaml"].replace("hello-v1", "hello-v2")
        repo.write("config.yaml", config)
        repo.commit("New greeting")
        cli.apply()
        now = {c["Id"]: (node, c) for node, c in _containers(nodes, cluster)}
        assert now.keys() == first.keys(), "the pods were replaced, not updated in place"
        for node, container in now.values():
            assert _exec(node, container["Id"], "cat", "/etc/config/greeting") == "hello-v2"
            assert _env(node, container["Id"], "MODE") == "one"
        pods = cli.json("get", "pods")["items"]
        assert {p["status"]["containerStatuses"][0]["restartCount"] for p in pods} == {0}
        replicasets = {p["metadata"]["ownerReferences"][0]["name"] for p in pods}

        # An env value change rolls the Deployment: a new ReplicaSet, every pod replaced.
        repo.write("config.yaml", config.replace("MODE: one", "MODE: two"))
        repo.commit("New mode")
        plan = cli.run("plan")
        assert "new pod template" in plan.out, plan.out

        def rolled() -> bool:
            running = list(_containers(nodes, cluster))
            return len(running) == 2 and not {c["Id"] for _, c in running} & first.keys()

        _settle(cli, rolled)
        for node, container in _containers(nodes, cluster):
            assert _env(node, container["Id"], "MODE") == "two"
        pods = cli.json("get", "pods")["items"]
        after = {p["metadata"]["ownerReferences"][0]["name"] for p in pods}
        assert len(after) == 1 and not after & replicasets, (replicasets, after)

        cli.run("get", "secrets", "-o", "yaml")
        cli.run("describe", "pod", pods[0]["metadata"]["name"])
        cli.run("describe", "deployment", "app")
        cli.run("status")
    assert ps.samples > 10
    assert ps.hits == [], "the canary was on a command line"

    # The same ciphertext under another name is refused; so is a tampered one.
    copied = files["secret.yaml"].replace("name: db", "name: stolen")
    repo.write("stolen.yaml", copied)
    repo.commit("Copy the secret")
    refused = cli.run("apply", "--yes")
    assert refused.code != 0
    assert ("stolen.yaml:8: stringData[password]: The ciphertext was encrypted for "
            "default/db/password, not for default/stolen/password") in refused.out + refused.err
    lines = files["secret.yaml"].splitlines()
    end = max(i for i, line in enumerate(lines) if "END AGE" in line) - 1
    lines[end] = lines[end][:-4] + ("AAAA" if not lines[end].endswith("AAAA") else "BBBB")
    repo.write("stolen.yaml", "\n".join(lines).replace("name: db", "name: tampered") + "\n")
    repo.commit("Tamper with it")
    refused = cli.run("apply", "--yes")
    assert "The ciphertext is not a valid age ciphertext" in refused.out + refused.err
    assert "damaged or tampered with" in refused.out + refused.err

    _assert_never_leaked(repo, cli, nodes)
    repo.remove("app.yaml")
    repo.remove("stolen.yaml")
    repo.commit("Clean up")
    cli.apply()
    assert list(_containers(nodes, cluster)) == []


def _assert_never_leaked(repo: ClusterRepo, cli: Recorder, nodes: list[LoopbackNode]) -> None:
    outputs = "\n".join(cli.outputs)
    assert "password" in outputs and "stolen.yaml" in outputs  # the search looks at real text
    assert CANARY not in outputs
    assert CANARY not in repo.git("log", "-p", "gitkube/status")
    assert CANARY not in repo.git("log", "-p", "main")
    assert repo.git("log", "--format=%s", "gitkube/status")
    for node in nodes:
        state = Path(node.state_dir or "")
        assert (state / "desired.json").stat().st_mode & 0o077 == 0
        assert (state / "pods").stat().st_mode & 0o077 == 0
        for path in state.rglob("*"):
            if path.is_symlink() or not path.is_file() or path.name == "desired.json":
                continue
            if "volumes" in path.parts:  # the secret volume's own file holds it, by design
                continue
            assert CANARY.encode() not in path.read_bytes(), path
