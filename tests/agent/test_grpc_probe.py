"""The agent's gRPC probe client against a real gRPC health server (grpcio) on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import pytest

from gitkube.agent import grpc_health, probing, protocol

grpc = pytest.importorskip("grpc")
health = pytest.importorskip("grpc_health.v1.health")
health_pb2 = pytest.importorskip("grpc_health.v1.health_pb2")
health_pb2_grpc = pytest.importorskip("grpc_health.v1.health_pb2_grpc")


class _Servicer(health.HealthServicer):  # type: ignore[misc]
    """grpcio's health service, plus a service that answers SERVICE_UNKNOWN in the message
    (as some servers do) and one that never answers until the test ends."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def Check(self, request: Any, context: Any) -> Any:
        if request.service == "hang":
            self.release.wait(30)
        if request.service == "gone":
            return health_pb2.HealthCheckResponse(
                status=health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)
        return super().Check(request, context)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, _Servicer]]:
    servicer = _Servicer()
    made = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, made)
    port = made.add_insecure_port("127.0.0.1:0")
    made.start()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("billing", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("orders", health_pb2.HealthCheckResponse.NOT_SERVING)
    try:
        yield port, servicer
    finally:
        servicer.release.set()
        made.stop(0)


@pytest.mark.parametrize(
    ("service", "passed", "output"),
    [
        pytest.param("", True, "service healthy", id="server-serving"),
        pytest.param("billing", True, "service healthy", id="service-serving"),
        pytest.param("orders", False, 'service unhealthy (responded with "NOT_SERVING")',
                     id="not-serving"),
        pytest.param("gone", False, 'service unhealthy (responded with "SERVICE_UNKNOWN")',
                     id="service-unknown-status"),
        pytest.param("nosuch", False, "error: health rpc probe failed: rpc error: "
                     "code = NotFound desc = unknown service", id="unknown-service"),
        pytest.param("hang", False, "timeout: health rpc did not complete within 1s",
                     id="rpc-timeout"),
    ],
)
def test_health_check(server: tuple[int, _Servicer], service: str, passed: bool,
                      output: str) -> None:
    port, _ = server
    assert grpc_health.check("127.0.0.1", port, service, 1.0) == (passed, output)


def test_a_server_without_the_health_service() -> None:
    bare = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = bare.add_insecure_port("127.0.0.1:0")
    bare.start()
    try:
        passed, output = grpc_health.check("127.0.0.1", port, "", 1.0)
    finally:
        bare.stop(0)
    assert passed is False
    assert output.startswith("error: this server does not implement the grpc health protocol "
                             "(grpc.health.v1.Health)"), output


def test_nothing_listening_is_connection_refused() -> None:
    # A bound socket that does not listen: connecting is refused and nobody else can take it.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        assert grpc_health.check("127.0.0.1", port, "", 1.0) == (
            False, f'error: failed to connect service at "127.0.0.1:{port}": connection refused')


def test_a_server_that_accepts_and_never_answers_times_out() -> None:
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen()
        port = mute.getsockname()[1]
        assert grpc_health.check("127.0.0.1", port, "", 1.0) == (
            False, f'timeout: failed to connect service "127.0.0.1:{port}" within 1s: '
                   "context deadline exceeded")


@pytest.mark.parametrize(
    ("service", "passed", "output"),
    [
        pytest.param("", True, "service healthy", id="serving"),
        pytest.param("orders", False, 'service unhealthy (responded with "NOT_SERVING")',
                     id="not-serving"),
    ],
)
def test_through_the_probe_child(server: tuple[int, _Servicer], service: str, passed: bool,
                                 output: str) -> None:
    """The supervisor's path: a ``python3 -m <agent> probe`` child (no namespace to enter
    here, so it probes the pod IP it is given)."""
    port, _ = server
    probe = protocol.ProbeRun(handler="grpc", port=port, service=service, timeoutSeconds=1)
    assert probing.run_network_probe(probe, 0, "127.0.0.1") == (passed, output)
