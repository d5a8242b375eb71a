"""Services end to end on three namespace nodes: a two-tier app keeps serving through a rolling
update and a killed pod, an unready pod stops getting traffic, NodePorts answer on every node,
headless DNS lists the pods.

``front`` (busybox httpd, a CGI script) asks ``back`` by its DNS name on every request; a client
in node-1's namespace asks ``front`` through the NodePort, as someone outside the cluster
would. Passes run in this process in a loop (``Passes``), as ``gitkube serve`` would run them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitkube.api.inventory import Settings
from tests.e2e.harness import ClusterRepo
from tests.e2e.test_selfhealing import Passes, _live, _ready
from tests.fixtures.netns import NetnsNode
from tests.waiting import until

pytestmark = [pytest.mark.ssh, pytest.mark.podman]

CLUSTER = f"e2esvc{os.getpid()}"
NODE_PORT = 30080
#: Ranges of this test's own (the nodes are the session's, shared with other tests' clusters).
SETTINGS = Settings(cluster_cidr="10.245.0.0/16", service_cidr="10.112.0.0/16")

ASK = """#!/bin/sh
echo Content-Type: text/plain
echo
printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 back 80 | tail -n 1
"""


def back(version: str) -> dict[str, Any]:
    script = (f"mkdir -p /www && echo \"back {version} $(hostname)\" > /www/index.html"
              " && touch /tmp/ready && exec httpd -f -p 8080 -h /www")
    return _deployment("back", 2, ["sh", "-c", script], env=[{"name": "VERSION",
                                                               "value": version}],
                       readinessProbe={"exec": {"command": ["test", "-f", "/tmp/ready"]},
                                       "periodSeconds": 1, "failureThreshold": 1},
                       lifecycle={"preStop": {"sleep": {"seconds": 2}}})


def front() -> list[dict[str, Any]]:
    """front's pods serve ``/cgi-bin/ask`` (a ConfigMap's script) with busybox httpd."""
    deployment = _deployment("front", 2, ["httpd", "-f", "-p", "8080", "-h", "/www"],
                             volumeMounts=[{"name": "cgi", "mountPath": "/www/cgi-bin"}])
    deployment["spec"]["template"]["spec"]["volumes"] = [
        {"name": "cgi", "configMap": {"name": "front-cgi", "defaultMode": 0o755}}]
    cgi = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "front-cgi"},
           "data": {"ask": ASK}}
    return [cgi, deployment]


def _deployment(name: str, replicas: int, command: list[str], **container: Any
                ) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {
                "terminationGracePeriodSeconds": 5,
                "containers": [{"name": "main", "image": "localhost/gitkube-test/busybox:v1",
                                "command": command,
                                "ports": [{"name": "http", "containerPort": 8080}],
                                "resources": {"requests": {"cpu": "10m", "memory": "8Mi"}},
                                **container}]}}}}


def services() -> list[dict[str, Any]]:
    def service(name: str, **spec: Any) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                "spec": {"selector": {"app": name.split("-")[0]}, **spec}}
    return [
        service("back", ports=[{"name": "http", "port": 80, "targetPort": "http"}]),
        service("back-peers", clusterIP="None", ports=[{"name": "http", "port": 8080}]),
        service("front", type="NodePort",
                ports=[{"port": 80, "targetPort": 8080, "nodePort": NODE_PORT}]),
    ]


class App:
    """The cluster, its passes, and a client on node-1 asking front through a NodePort."""

    def __init__(self, repo: ClusterRepo, nodes: list[NetnsNode]) -> None:
        self.repo = repo
        self.nodes = nodes
        self.passes = Passes(repo)

    def settle(self, what: str, check: Any) -> Any:
        def step() -> Any:
            self.passes.run()
            return check()
        return until(step, what, timeout=120, every=0.2)

    def ready(self, app: str) -> list[dict[str, Any]]:
        return [p for p in _live(self.passes.pods())
                if p["metadata"]["labels"].get("app") == app and _ready(p)]

    def ask(self, node: NetnsNode) -> str:
        """One request to front's NodePort on ``node`` from node-1: back's answer or ''."""
        line = (f"printf 'GET /cgi-bin/ask HTTP/1.0\\r\\n\\r\\n' | nc -w 3 "
                f"{node.wire_address} {NODE_PORT} | tail -n 1")
        done = self.nodes[0].run("busybox", "sh", "-c", line, check=False)
        return done.stdout.strip() if done.stdout.strip().startswith("back ") else ""

    def client(self, log: Path) -> subprocess.Popen[bytes]:
        """A client asking front every 50 ms, one line per answer ('' for a failure)."""
        line = (f"while true; do printf 'GET /cgi-bin/ask HTTP/1.0\\r\\n\\r\\n' | nc -w 3 "
                f"{self.nodes[1].wire_address} {NODE_PORT} | tail -n 1 | grep '^back' "
                f"|| echo FAILED; sleep 0.05; done")
        with log.open("wb") as out:
            return subprocess.Popen(
                ["nsenter", f"--net=/run/netns/{self.nodes[0].netns}", "busybox", "sh", "-c",
                 line], stdout=out, stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture(scope="module")
def app(netns_nodes: list[NetnsNode], tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[App]:
    repo = ClusterRepo(tmp_path_factory.mktemp("svc") / "cluster", CLUSTER,
                       [n.inventory_for(CLUSTER) for n in netns_nodes], settings=SETTINGS)
    repo.write("back.yaml", back("v1"))
    repo.write("front.yaml", "---\n".join(_yaml(d) for d in front()))
    repo.write("services.yaml", "---\n".join(_yaml(s) for s in services()))
    repo.commit("front and back")
    made = App(repo, netns_nodes)
    try:
        made.settle("two back and two front pods ready",
                    lambda: len(made.ready("back")) == 2 and len(made.ready("front")) == 2)
        yield made
    finally:
        made.passes.close()
        repo.remove("back.yaml")
        repo.remove("front.yaml")
        repo.commit("gone")
        Passes(repo).run()
        for node in netns_nodes:
            node.forget_cluster(CLUSTER)


def _yaml(data: dict[str, Any]) -> str:
    import io

    from ruamel.yaml import YAML
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, out)
    return out.getvalue()


def test_a_nodeport_answers_on_every_node_through_front_and_back(app: App) -> None:
    backs = {p["metadata"]["name"] for p in app.ready("back")}

    for node in app.nodes:
        answer = until(lambda node=node: app.ask(node), f"front answers on {node.name}")
        assert answer.startswith("back v1 ") and answer.split()[2] in backs


def test_headless_dns_lists_the_back_pods(app: App) -> None:
    addresses = sorted(p["status"]["podIP"] for p in app.ready("back"))
    pod = app.ready("front")[0]
    node = next(n for n in app.nodes if n.name == pod["spec"]["nodeName"])

    answer = node.podman("exec", f"gk_{CLUSTER}_default_{pod['metadata']['name']}_main",
                         "nslookup", "back-peers", check=False).stdout

    assert sorted(a for a in addresses if a in answer) == addresses
    assert "back-peers.default.svc.cluster.local" in answer


def test_a_rolling_update_of_back_serves_every_request(app: App, tmp_path: Path) -> None:
    log = tmp_path / "client.log"
    client = app.client(log)
    try:
        until(lambda: log.read_text().count("back v1") >= 3, "the client is answered")
        app.repo.write("back.yaml", back("v2"))
        app.repo.commit("back v2")
        app.settle("back v2 rolled out", lambda: {
            p["spec"]["containers"][0]["env"][0]["value"] for p in _live(app.passes.pods())
            if p["metadata"]["labels"]["app"] == "back"} == {"v2"} and len(app.ready("back"))
            == 2)
        until(lambda: log.read_text().count("back v2") >= 3, "v2 answers")
    finally:
        os.killpg(client.pid, 15)
        client.wait()
    answers = log.read_text().split("\n")

    assert "FAILED" not in answers, (f"{answers.count('FAILED')} of {len(answers)} failed: "
                                     + " ".join(a.split()[1][:2] if a.startswith("back") else a
                                                for a in answers))


def test_an_unready_back_pod_stops_getting_traffic(app: App) -> None:
    first, second = sorted(app.ready("back"), key=lambda p: p["metadata"]["name"])
    node = next(n for n in app.nodes if n.name == first["spec"]["nodeName"])
    name = f"gk_{CLUSTER}_default_{first['metadata']['name']}_main"

    node.podman("exec", name, "rm", "/tmp/ready")
    app.settle("the control plane sees it unready", lambda: len(app.ready("back")) == 1)
    answers = [app.ask(app.nodes[2]) for _ in range(12)]
    node.podman("exec", name, "touch", "/tmp/ready")
    app.settle("ready again", lambda: len(app.ready("back")) == 2)

    assert {a.split()[2] for a in answers} == {second["metadata"]["name"]}


def test_a_killed_back_pod_fails_requests_only_until_the_cluster_knows(app: App,
                                                                      tmp_path: Path) -> None:
    victim = app.ready("back")[0]
    name = victim["metadata"]["name"]
    node = next(n for n in app.nodes if n.name == victim["spec"]["nodeName"])
    log = tmp_path / "client.log"
    client = app.client(log)

    def restarted() -> bool:
        pod = next((p for p in app.ready("back") if p["metadata"]["name"] == name), None)
        return pod is not None and pod["status"]["containerStatuses"][0]["restartCount"] > (
            restarts)

    restarts = victim["status"]["containerStatuses"][0]["restartCount"]
    try:
        until(lambda: log.read_text().count("back") >= 3, "the client is answered")
        node.podman("kill", f"gk_{CLUSTER}_default_{name}_main")
        killed = len(log.read_text().split("\n"))
        # The supervisor restarts it; once a pass has seen it ready again, every node's
        # rules have it (and had the other pod all along).
        app.settle("the killed pod restarted and ready", restarted)
        learned = len(log.read_text().split("\n"))
        until(lambda: len(log.read_text().split("\n")) > learned + 20, "more answers")
    finally:
        os.killpg(client.pid, 15)
        client.wait()
    answers = log.read_text().split("\n")

    assert killed <= learned
    assert "FAILED" not in answers[learned:-1], answers[learned:]
