"""``get services|endpointslices`` rows and ``describe service`` as kubectl prints them."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
from pathlib import Path
from typing import Any

from rich.console import Console

from gitkube.api import discovery, services
from gitkube.cli import main, serviceviews, tables
from gitkube.controllers import endpoints, endpointslices
from gitkube.reconcile import face
from tests.controllers import factories as f
from tests.controllers.test_endpointslices import http_pod, pod

NOW = f.START + dt.timedelta(minutes=5)


def svc(name: str = "web", status: dict[str, Any] | None = None, **spec: Any
        ) -> services.Service:
    made = f.service(name, **spec)
    return services.Service.model_validate({**made.to_dict(), "status": status or {}})


def table(*objs: services.Service) -> list[str]:
    return tables.render_table("services", objs, NOW, wide=True).splitlines()


def test_services_table_reads_like_kubectl() -> None:
    assert table(
        svc("web", clusterIP="10.96.0.40"),
        svc("db", clusterIP="None", ports=[{"port": 3306, "name": "mysql"}]),
        svc("front", type="NodePort", clusterIP="10.96.0.41",
            ports=[{"port": 80, "nodePort": 30080, "name": "http"},
                   {"port": 53, "protocol": "UDP", "nodePort": 30053, "name": "dns"}]),
        svc("lb", type="LoadBalancer", clusterIP="10.96.0.42",
            ports=[{"port": 80, "nodePort": 31000}],
            status={"loadBalancer": {"ingress": [{"ip": "198.18.0.2"}, {"ip": "198.18.0.3"}]}}),
        svc("pending", type="LoadBalancer", clusterIP="10.96.0.43",
            ports=[{"port": 80, "nodePort": 31001}]),
        svc("ext", type="ExternalName", externalName="db.example.com", ports=[], selector={}),
    ) == [
        "NAME      TYPE           CLUSTER-IP   EXTERNAL-IP             PORT(S)"
        "                     AGE   SELECTOR",
        "db        ClusterIP      None         <none>                  3306/TCP"
        "                    5m    app=web",
        "ext       ExternalName   <none>       db.example.com          <none>"
        "                      5m    <none>",
        "front     NodePort       10.96.0.41   <none>                  80:30080/TCP,53:30053/UDP"
        "   5m    app=web",
        "lb        LoadBalancer   10.96.0.42   198.18.0.2,198.18.0.3   80:31000/TCP"
        "                5m    app=web",
        "pending   LoadBalancer   10.96.0.43   <pending>               80:31001/TCP"
        "                5m    app=web",
        "web       ClusterIP      10.96.0.40   <none>                  80/TCP"
        "                      5m    app=web",
    ]


def settled_slices(*objs: Any) -> list[discovery.EndpointSlice]:
    snap = f.snapshot(f.node("node-1"), *objs)
    snap = snap.with_actions(endpointslices.plan_endpointslices(snap, f.clock()))
    return snap.of_kind(discovery.EndpointSlice)


def test_endpointslices_table_reads_like_kubectl() -> None:
    pods = [pod(f"web-{i}", ip=f"10.244.0.{i + 2}") for i in range(5)]
    [full] = settled_slices(svc(clusterIP="10.96.0.40"), *pods)
    [empty] = settled_slices(svc(clusterIP="10.96.0.40", selector={"app": "none"}))
    assert serviceviews.slice_row(full, NOW)[1:] == [
        "IPv4", "8080", "10.244.0.2,10.244.0.3,10.244.0.4 + 2 more...", "5m"]
    assert serviceviews.slice_row(empty, NOW)[1:] == ["IPv4", "<unset>", "<unset>", "5m"]


def test_describe_service_says_which_pods_get_no_traffic_and_why() -> None:
    service = svc(clusterIP="10.96.0.40", type="NodePort",
                  ports=[{"port": 80, "targetPort": "http", "nodePort": 30080, "name": "web"}])
    pods = [http_pod("web-1", 8080), http_pod("web-2", 8080, ip="10.244.0.6", ready=False),
            pod("web-3", ip="10.244.0.7"), http_pod("web-4", 8080, ip=None)]
    traffic = endpoints.explain(service, pods, {"node-1": {}})
    assert not isinstance(traffic, str)
    lines = serviceviews.describe_service(service, settled_slices(service, *pods),
                                          [(n.pod, n.reason) for n in traffic])
    assert lines == [
        "Name:                     web",
        "Namespace:                default",
        "Labels:                   <none>",
        "Annotations:              gitkube.io/source=web.yaml:1",
        "Selector:                 app=web",
        "Type:                     NodePort",
        "IP Family Policy:         SingleStack",
        "IP Families:              IPv4",
        "IP:                       10.96.0.40",
        "IPs:                      10.96.0.40",
        "Port:                     web  80/TCP",
        "TargetPort:               http/TCP",
        "NodePort:                 web  30080/TCP",
        "Endpoints:                10.244.0.5:8080",
        "Session Affinity:         None",
        "External Traffic Policy:  Cluster",
        "Internal Traffic Policy:  Cluster",
        "Pods without traffic:",
        "  POD     WHY IT GETS NO TRAFFIC",
        "  web-2   the pod is not Ready",
        "  web-3   the pod has no container port named http/TCP, so that port of the Service "
        "does not reach it",
        "  web-4   the pod has no IP address yet",
    ]


def test_describe_service_with_nothing_to_explain() -> None:
    service = svc(clusterIP="10.96.0.40")
    assert endpoints.explain(service, [pod("web-1")], {"node-1": {}}) == (
        "1 pod selected, all serving")
    assert endpoints.explain(svc(selector={"app": "x"}), [pod("web-1")], {}) == (
        "none match the selector app=x")
    lines = serviceviews.describe_service(service, [], "1 pod selected, all serving")
    assert lines[-1] == "Pods:                     1 pod selected, all serving"
    assert "Endpoints:                <none>" in lines


CLUSTER = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: svc
nodes:
  - name: sim-1
    transport: local
    runtime: {{kind: sim}}
    stateDir: {state}
"""
MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: "web:1", ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http, name: http}, {port: 81, targetPort: admin, name: admin}]
"""


def test_get_and_describe_a_service_on_a_cluster(tmp_path: Path) -> None:
    path = tmp_path / "cluster"
    face.init_cluster(path)
    (path / "inventory.yaml").write_text(CLUSTER.format(state=tmp_path / "node"))
    (path / "web.yaml").write_text(MANIFESTS)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "commit", "-qm", "web"], check=True, env=env)
    with face.open_cluster(path) as cluster:
        assert cluster.apply().ok and cluster.apply().ok

    def run(*argv: str) -> list[str]:
        out = io.StringIO()
        code = main.main(["--repo", str(path), *argv], out=Console(file=out, width=200),
                         err=Console(file=out, width=200))
        assert code == 0, out.getvalue()
        return out.getvalue().splitlines()

    [header, row] = run("get", "svc", "-o", "wide")
    assert header.split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE",
                              "SELECTOR"]
    assert row.split()[:5] == ["web", "ClusterIP", "10.96.184.169", "<none>", "80/TCP,81/TCP"]
    assert row.split()[-1] == "app=web"
    assert [r.split()[:6] for r in run("get", "svc", "-A")[1:]] == [
        ["default", "web", "ClusterIP", "10.96.184.169", "<none>", "80/TCP,81/TCP"],
        ["kube-system", "kube-dns", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP"]]
    with face.open_cluster(path) as cluster:
        pods = sorted((p.name, p.status.pod_ip or "") for p in cluster.objects("pods"))
    ips = [ip for _, ip in pods]
    assert len(ips) == 2 and all(ips)
    [_, slice_row] = run("get", "endpointslices")
    assert slice_row.split()[1:4] == ["IPv4", "8080", ",".join(ips)]
    described = run("describe", "svc", "web")
    assert "IP:                       10.96.184.169" in described
    at = described.index("Port:                     http  80/TCP")
    assert described[at:at + 3] == [
        "Port:                     http  80/TCP",
        "TargetPort:               http/TCP",
        f"Endpoints:                {ips[0]}:8080,{ips[1]}:8080"]
    assert described[at + 3:at + 6] == [
        "Port:                     admin  81/TCP",
        "TargetPort:               admin/TCP",
        "Endpoints:                <none>"]
    table = described[described.index("Pods without traffic:") + 1:]
    assert table[0].split() == ["POD", "WHY", "IT", "GETS", "NO", "TRAFFIC"]
    reason = ("the pod has no container port named admin/TCP, so that port of the Service "
              "does not reach it")
    assert [line.split(maxsplit=1) for line in table[1:3]] == [
        [name, reason] for name, _ in pods]
    assert table[3] == "Events:"
