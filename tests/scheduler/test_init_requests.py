"""A pod's effective requests with init containers and sidecars: Kubernetes' PodRequests."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import core
from gitkube.scheduler import cluster


def _c(name: str, cpu: str | None = None, memory: str | None = None,
       sidecar: bool = False) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    out: dict[str, Any] = {"name": name, "image": "busybox:1",
                           "resources": {"requests": requests}}
    if sidecar:
        out["restartPolicy"] = "Always"
    return out


def _pod(containers: list[dict[str, Any]], inits: list[dict[str, Any]]) -> core.Pod:
    return core.Pod.model_validate({"metadata": {"name": "p"}, "spec": {
        "containers": containers, "initContainers": inits}})


@pytest.mark.parametrize(
    ("containers", "inits", "cpu", "memory"),
    [
        pytest.param([_c("a", "100m", "64Mi")], [], 100, 64 << 20, id="no-init"),
        pytest.param([_c("a", "100m", "64Mi")], [_c("i", "500m", "32Mi")], 500, 64 << 20,
                     id="init-larger-cpu-app-larger-memory"),
        pytest.param([_c("a", "100m"), _c("b", "100m")], [_c("i", "150m")], 200, 0,
                     id="apps-sum-beats-init"),
        pytest.param([_c("a", "300m", "128Mi")],
                     [_c("setup", "200m", "64Mi"), _c("ship", "50m", "64Mi", sidecar=True)],
                     350, 192 << 20, id="corpus-resources-yaml"),
        pytest.param([_c("a", "100m")],
                     [_c("proxy", "200m", sidecar=True), _c("late", "500m")], 700, 0,
                     id="init-after-sidecar-adds-it"),
        pytest.param([_c("a", "100m")],
                     [_c("early", "500m"), _c("proxy", "200m", sidecar=True)], 500, 0,
                     id="init-before-sidecar-does-not"),
        pytest.param([_c("a", "1")], [_c("p1", "1", sidecar=True), _c("p2", "1", sidecar=True),
                                      _c("i", "1500m")], 3500, 0, id="two-sidecars-then-init"),
    ],
)
def test_effective_requests(containers: list[dict[str, Any]], inits: list[dict[str, Any]],
                            cpu: int, memory: int) -> None:
    info = cluster.pod_info(_pod(containers, inits))
    assert (info.req_cpu, info.req_mem) == (cpu, memory)


def test_non_zero_requests_default_each_container_of_the_formula() -> None:
    # app: defaults 100m/200Mi; the init asks 1 cpu and no memory (default 200Mi).
    info = cluster.pod_info(_pod([_c("a")], [_c("i", "1")]))
    assert (info.nz_cpu, info.nz_mem) == (1000, 200 << 20)
    assert (info.req_cpu, info.req_mem) == (1000, 0)


def test_sidecar_host_ports_and_init_images_count() -> None:
    sidecar = {**_c("proxy", sidecar=True), "image": "proxy:2",
               "ports": [{"containerPort": 5432, "hostPort": 5432}]}
    plain = {**_c("setup"), "ports": [{"containerPort": 80, "hostPort": 8080}]}
    info = cluster.pod_info(_pod([_c("a")], [plain, sidecar]))
    assert [port for _, _, port in info.host_ports] == [5432]
    assert len(info.images) == 3
