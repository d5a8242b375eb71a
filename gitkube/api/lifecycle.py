"""Container lifecycle hooks: ``postStart`` and ``preStop``, as Kubernetes writes them.

A hook has one handler: ``exec`` (a command in the container), ``httpGet`` (a request
to the pod) or ``sleep`` (a pause, Kubernetes 1.30+). The node agent runs postStart
right after the container starts (a failing one kills it: FailedPostStartHook, then
the restart policy decides) and preStop before it stops the container, inside the
termination grace period. ``tcpSocket`` is in the API only for old manifests:
Kubernetes accepts it and the hook then always fails ("Cannot run handler"), so
gitkube refuses it by name instead.
"""

from __future__ import annotations

from gitkube.api import errors, fields
from gitkube.api.meta import KubeModel
from gitkube.api.probes import ExecAction, HTTPGetAction, TCPSocketAction


class SleepAction(KubeModel):
    seconds: fields.Int64


class LifecycleHandler(KubeModel):
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    sleep: SleepAction | None = None


class Lifecycle(KubeModel):
    post_start: LifecycleHandler | None = None
    pre_stop: LifecycleHandler | None = None


def check_lifecycle(lifecycle: Lifecycle | None, grace_seconds: int, port_names: set[str],
                    path: str) -> list[errors.FieldIssue]:
    """Kubernetes' validateLifecycle, plus the refusal of tcpSocket handlers."""
    if lifecycle is None:
        return []
    issues: list[errors.FieldIssue] = []
    for field, handler in (("postStart", lifecycle.post_start),
                           ("preStop", lifecycle.pre_stop)):
        if handler is not None:
            issues += _check_handler(handler, grace_seconds, port_names, f"{path}.{field}")
    return issues


def _check_handler(handler: LifecycleHandler, grace_seconds: int, port_names: set[str],
                   path: str) -> list[errors.FieldIssue]:
    given = [name for name, value in (("exec", handler.exec), ("httpGet", handler.http_get),
                                      ("tcpSocket", handler.tcp_socket),
                                      ("sleep", handler.sleep)) if value is not None]
    if not given:
        return [errors.FieldIssue(path, "must specify a handler type: exec, httpGet or sleep")]
    if len(given) > 1:
        return [errors.FieldIssue(path, "may not specify more than 1 handler type")]
    issues: list[errors.FieldIssue] = []
    if handler.tcp_socket is not None:
        issues.append(errors.FieldIssue(f"{path}.tcpSocket", (
            "tcpSocket is not supported as a lifecycle handler: Kubernetes keeps it only for "
            "old manifests and the hook always fails at run time; use exec, httpGet or sleep")))
    if handler.http_get is not None:
        port = handler.http_get.port
        if isinstance(port, int) and not 1 <= port <= 65535:
            issues.append(errors.FieldIssue(f"{path}.httpGet.port",
                                            "must be between 1 and 65535, inclusive"))
        elif isinstance(port, str) and not port.isdigit() and port not in port_names:
            issues.append(errors.FieldIssue(
                f"{path}.httpGet.port", f"names no port of the container: {port!r}"))
    if handler.sleep is not None:
        seconds = handler.sleep.seconds
        if seconds < 0 or seconds > grace_seconds:
            issues.append(errors.FieldIssue(f"{path}.sleep.seconds", (
                f"must be non-negative and less than terminationGracePeriodSeconds "
                f"({grace_seconds})")))
    return issues
