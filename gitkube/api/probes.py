"""Container probes: liveness, readiness and startup checks, as Kubernetes writes them.

A probe has one handler (``exec``, ``httpGet``, ``tcpSocket`` or ``grpc``) and the timing
fields Kubernetes defaults (period 10 s, timeout 1 s, success threshold 1, failure
threshold 3, no initial delay). The control plane only carries probes to the node
(``controllers/lowering/handlers.py``); the node agent's supervisor runs them, restarts a
container whose liveness or startup probe fails, and reports readiness, which gates
the pod's Ready condition that rollouts count. A ``grpc`` probe calls
``grpc.health.v1.Health/Check`` on a port given by number (Kubernetes refuses names
there), in plaintext, and passes when the answer is SERVING.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from gitkube.api import errors, fields
from gitkube.api.meta import KubeModel

#: Kubernetes' defaults (pkg/apis/core/v1/defaults.go SetDefaults_Probe).
DEFAULT_PERIOD_SECONDS = 10
DEFAULT_TIMEOUT_SECONDS = 1
DEFAULT_SUCCESS_THRESHOLD = 1
DEFAULT_FAILURE_THRESHOLD = 3

PortRef = int | str


class ExecAction(KubeModel):
    command: list[str] = Field(min_length=1)


class HTTPHeader(KubeModel):
    name: str
    value: str


class HTTPGetAction(KubeModel):
    path: str = "/"
    #: A number, or the name of one of the container's ports.
    port: PortRef
    host: str | None = None
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"
    http_headers: list[HTTPHeader] = Field(default_factory=list)


class TCPSocketAction(KubeModel):
    port: PortRef
    host: str | None = None


class GRPCAction(KubeModel):
    #: A number only: Kubernetes has no named ports for gRPC probes.
    port: fields.Int32
    #: The service name asked about (``HealthCheckRequest.service``); "" is the server.
    service: str | None = None

    @field_validator("port", mode="before")
    @classmethod
    def _port_number(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(f"Invalid value: {value!r}: a grpc probe's port must be a number "
                             "(Kubernetes accepts no port names here); write the port number")
        return value


class Probe(KubeModel):
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initial_delay_seconds: fields.Int32 = Field(default=0, ge=0)
    timeout_seconds: fields.Int32 = Field(default=DEFAULT_TIMEOUT_SECONDS, ge=1)
    period_seconds: fields.Int32 = Field(default=DEFAULT_PERIOD_SECONDS, ge=1)
    success_threshold: fields.Int32 = Field(default=DEFAULT_SUCCESS_THRESHOLD, ge=1)
    failure_threshold: fields.Int32 = Field(default=DEFAULT_FAILURE_THRESHOLD, ge=1)

    @model_validator(mode="after")
    def _one_handler(self) -> Probe:
        given = [h for h in (self.exec, self.http_get, self.tcp_socket, self.grpc)
                 if h is not None]
        if len(given) != 1:
            raise ValueError(
                "a probe needs exactly one handler: exec, httpGet, tcpSocket or grpc "
                f"({len(given)} given)"
            )
        return self


def check_probes(
    liveness: Probe | None, readiness: Probe | None, startup: Probe | None,
    port_names: set[str], path: str,
) -> list[errors.FieldIssue]:
    """Kubernetes' validation: liveness and startup need successThreshold 1; ports resolve."""
    issues: list[errors.FieldIssue] = []
    for field, probe in (("livenessProbe", liveness), ("readinessProbe", readiness),
                         ("startupProbe", startup)):
        if probe is None:
            continue
        where = errors.child(path, field)
        if field != "readinessProbe" and probe.success_threshold != 1:
            issues.append(errors.FieldIssue(
                errors.child(where, "successThreshold"), "must be 1"))
        action = probe.http_get or probe.tcp_socket or probe.grpc
        port = action.port if action is not None else None
        handler = ("httpGet" if probe.http_get is not None else
                   "tcpSocket" if probe.tcp_socket is not None else "grpc")
        if isinstance(port, int) and not 1 <= port <= 65535:
            issues.append(errors.FieldIssue(
                errors.child(errors.child(where, handler), "port"),
                f"Invalid value: {port}: must be between 1 and 65535, inclusive"))
        elif isinstance(port, str) and not port.isdigit() and port not in port_names:
            issues.append(errors.FieldIssue(
                errors.child(errors.child(where, handler), "port"),
                f"Invalid value: {port!r}: names no port of this container; use a number or "
                "the name of one of its ports"))
    return issues
