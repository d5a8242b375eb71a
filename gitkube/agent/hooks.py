"""Lifecycle hooks on the node: postStart after a container starts, preStop before it stops.

As kubelet runs them (pkg/kubelet/lifecycle/handlers.go, kuberuntime_container.go), through
the runtime (a ``Runner``: ``runtimes.base.Runtime`` calls these with itself):

- ``exec`` runs the command in the container; it fails on a non-zero exit;
- ``httpGet`` sends a request to the pod (from inside its network namespace, as the probes
  do: the runtime's ``network_probe``); any HTTP answer counts as done, only a connection
  that fails is a failure;
- ``sleep`` waits (the runtime's ``pause``: a simulated node waits on its own clock).

A preStop hook runs within the termination grace period and its time counts against
it: ``pre_stop`` answers the seconds left for SIGTERM → SIGKILL, at least kubelet's
minimum of 2 once a hook ran. With a grace period of 0 no hook runs (kubelet skips it
too). A failed hook is an event (FailedPreStopHook / FailedPostStartHook, Warning) and
the container is stopped anyway; a failed postStart hook kills the container, whose
restart policy then decides.

kubelet gives postStart no time limit; gitkube bounds it at ``POST_START_TIMEOUT`` so a
hung hook cannot hold a converge for ever.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from . import protocol

POST_START_TIMEOUT = 60.0
#: kubelet's minimumGracePeriodInSeconds: SIGTERM gets at least this long after a preStop.
MINIMUM_GRACE_AFTER_HOOK = 2



class Runner(Protocol):
    """What a hook needs of the runtime (``runtimes.base.Runtime`` has it all)."""

    def exec_in(self, container_id: str, command: list[str], timeout: float
                ) -> tuple[bool, str]: ...

    def network_probe(self, container_id: str, probe: protocol.ProbeRun, pod_ip: str
                      ) -> tuple[bool, str]: ...

    def pause(self, seconds: float) -> None: ...


def run(hook: protocol.HookRun, container_id: str, timeout: float,
        runner: Runner) -> tuple[bool, str]:
    """Run one hook against one container within ``timeout`` seconds: (done, output)."""
    handler = hook.get("handler")
    if handler == "sleep":
        runner.pause(max(0.0, min(float(hook.get("seconds", 0)), timeout)))
        return True, ""
    if handler == "exec":
        return runner.exec_in(container_id, list(hook.get("command", [])), timeout)
    if handler == "httpGet":
        probe = protocol.ProbeRun(handler="httpGet", path=hook.get("path", "/"),
                                  port=int(hook.get("port", 80)),
                                  scheme=hook.get("scheme", "HTTP"),
                                  timeoutSeconds=max(1, int(timeout)))
        if hook.get("host"):
            probe["host"] = hook["host"]
        if hook.get("httpHeaders"):
            probe["httpHeaders"] = hook["httpHeaders"]
        ok, output = runner.network_probe(container_id, probe, "")
        # kubelet's hook takes any answer: only a request that got none failed.
        return ok or output.startswith("HTTP "), output
    return False, f"Cannot run handler: invalid handler {handler!r}"


def failure_message(hook: protocol.HookRun, container: str, pod: str, output: str) -> str:
    """kubelet's words for a failed hook (``pod`` as kubelet names it: ``name_ns(uid)``)."""
    if hook.get("handler") == "httpGet":
        what = f"HTTP lifecycle hook ({hook.get('path', '/')})"
    else:
        what = f"Exec lifecycle hook ([{' '.join(hook.get('command', []))}])"
    return (f"{what} for Container \"{container}\" in Pod \"{pod}\" failed - error: "
            f"{output.strip()[:300]}")


def pre_stop(hook: protocol.HookRun, container_id: str, grace: int,
             runner: Runner) -> tuple[int, str | None]:
    """Run a preStop hook within ``grace``; (seconds left for the stop, failure message)."""
    if grace <= 0:
        return grace, None
    began = time.monotonic()
    ok, output = run(hook, container_id, float(grace), runner)
    spent = int(time.monotonic() - began)
    left = max(grace - spent, MINIMUM_GRACE_AFTER_HOOK)
    return left, None if ok else output


def pre_stop_all(due: list[tuple[str, protocol.HookRun, dict[str, str]]], grace: int,
                 runner: Runner,
                 failed: Callable[[protocol.HookRun, dict[str, str], str], None]) -> int:
    """Run the preStop hooks of a pod's containers at once, as kubelet's killPod does;
    ``due`` holds (container id, hook, its labels). Answers the grace left for the stop:
    the least any container has left, and at least kubelet's minimum after a hook."""
    left: list[int] = []

    def one(item: tuple[str, protocol.HookRun, dict[str, str]]) -> None:
        container_id, hook, labels = item
        remaining, failure = pre_stop(hook, container_id, grace, runner)
        left.append(remaining)
        if failure is not None:
            failed(hook, labels, failure)

    workers = [threading.Thread(target=one, args=(item,), daemon=True) for item in due]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(grace + 5)
    return min(left, default=grace)

