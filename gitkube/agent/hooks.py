"""Lifecycle hooks on the node: postStart after a container starts, preStop before it stops.

As kubelet runs them (pkg/kubelet/lifecycle/handlers.go, kuberuntime_container.go):

- ``exec`` runs the command in the container; it fails on a non-zero exit;
- ``httpGet`` sends a request to the pod (from inside its network namespace, through the
  same child the probes use: ``probing.run_network_probe``); any HTTP answer counts as
  done, only a connection that fails is a failure;
- ``sleep`` waits.

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

from . import probing, protocol

POST_START_TIMEOUT = 60.0
#: kubelet's minimumGracePeriodInSeconds: SIGTERM gets at least this long after a preStop.
MINIMUM_GRACE_AFTER_HOOK = 2

#: (container id, command, timeout) → (passed, output): the runtime's ``exec_probe``.
Exec = Callable[[str, list[str], float], tuple[bool, str]]
#: container ids → main process pid: the runtime's ``container_pids``.
Pids = Callable[[list[str]], dict[str, int]]


def run(hook: protocol.HookRun, container_id: str, timeout: float, exec_in: Exec,
        pids: Pids) -> tuple[bool, str]:
    """Run one hook against one container within ``timeout`` seconds: (done, output)."""
    handler = hook.get("handler")
    if handler == "sleep":
        time.sleep(max(0.0, min(float(hook.get("seconds", 0)), timeout)))
        return True, ""
    if handler == "exec":
        return exec_in(container_id, list(hook.get("command", [])), timeout)
    if handler == "httpGet":
        probe = protocol.ProbeRun(handler="httpGet", path=hook.get("path", "/"),
                                  port=int(hook.get("port", 80)),
                                  scheme=hook.get("scheme", "HTTP"),
                                  timeoutSeconds=max(1, int(timeout)))
        if hook.get("host"):
            probe["host"] = hook["host"]
        if hook.get("httpHeaders"):
            probe["httpHeaders"] = hook["httpHeaders"]
        pid = pids([container_id]).get(container_id, 0)
        ok, output = probing.run_network_probe(probe, pid, "")
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


def pre_stop(hook: protocol.HookRun, container_id: str, grace: int, exec_in: Exec,
             pids: Pids) -> tuple[int, str | None]:
    """Run a preStop hook within ``grace``; (seconds left for the stop, failure message)."""
    if grace <= 0:
        return grace, None
    began = time.monotonic()
    ok, output = run(hook, container_id, float(grace), exec_in, pids)
    spent = int(time.monotonic() - began)
    left = max(grace - spent, MINIMUM_GRACE_AFTER_HOOK)
    return left, None if ok else output


def pre_stop_all(due: list[tuple[str, protocol.HookRun, dict[str, str]]], grace: int,
                 exec_in: Exec, pids: Pids,
                 failed: Callable[[protocol.HookRun, dict[str, str], str], None]) -> int:
    """Run the preStop hooks of a pod's containers at once, as kubelet's killPod does;
    ``due`` holds (container id, hook, its labels). Answers the grace left for the stop:
    the least any container has left, and at least kubelet's minimum after a hook."""
    left: list[int] = []

    def one(item: tuple[str, protocol.HookRun, dict[str, str]]) -> None:
        container_id, hook, labels = item
        remaining, failure = pre_stop(hook, container_id, grace, exec_in, pids)
        left.append(remaining)
        if failure is not None:
            failed(hook, labels, failure)

    workers = [threading.Thread(target=one, args=(item,), daemon=True) for item in due]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(grace + 5)
    return min(left, default=grace)


def pod_name(pod: protocol.PodRun | dict[str, str]) -> str:
    """How kubelet names a pod in messages: ``name_namespace(uid)``."""
    return f"{pod.get('name', '')}_{pod.get('namespace', 'default')}({pod.get('uid', '')})"
