"""``gitkube logs``: a container's output, fetched from its node by the agent.

    gitkube logs pod/web-7xk2p [-c CONTAINER] [-f] [--tail N]
    gitkube logs job/pi                  one pod of the Job, as kubectl picks it

The pod (or the Job's pod) is looked up in the store, its node in the inventory,
and the node's agent answers with ``podman logs`` (``Cluster.logs``). ``-f`` asks
again every couple of seconds and prints what is new, until Ctrl-C or until the
store says the pod finished (after one last read, so the end is never lost).
Pods of a finished Job are kept until the Job goes, so their output stays readable.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from gitkube import clock, errors
from gitkube.api import batch, core, registry
from gitkube.cli import exits, render
from gitkube.cli.context import Context
from gitkube.reconcile import face

#: kubectl's annotation naming the container ``logs`` shows when none is given.
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
FOLLOW_INTERVAL = 2.0


def register(sub: Any, add: Any) -> None:
    del sub
    logs = add("logs", "Print a container's output, from its node.", cmd_logs)
    logs.add_argument("target", metavar="TARGET",
                      help="pod/NAME, job/NAME, or a pod's NAME")
    logs.add_argument("-c", "--container", metavar="CONTAINER",
                      help="which container (default: the only one, or the first)")
    logs.add_argument("-f", "--follow", action="store_true",
                      help="keep printing new output until Ctrl-C or the pod finishes")
    logs.add_argument("--tail", type=int, default=-1, metavar="N",
                      help="only the last N lines (default: all)")
    logs.add_argument("-n", "--namespace", default="default", metavar="NAMESPACE",
                      help="the namespace (default: default)")
    logs.add_argument("--interval", type=float, default=FOLLOW_INTERVAL,
                      help=argparse.SUPPRESS)


def cmd_logs(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.cluster(args) as cluster:
        pod = find_pod(cluster, args.target, args.namespace, ctx)
        container = pick_container(pod, args.container, ctx)
        text = cluster.logs(pod, container, tail=args.tail)
        _print(ctx, text)
        if not args.follow:
            return exits.OK
        try:
            while True:
                finished = _finished(cluster, pod)
                time.sleep(args.interval)
                latest = cluster.logs(pod, container)
                _print(ctx, _new_part(text, latest))
                text = latest
                if finished:
                    return exits.OK
        except KeyboardInterrupt:
            return exits.OK


def find_pod(cluster: face.Cluster, target: str, namespace: str, ctx: Context) -> core.Pod:
    kind, _, name = target.rpartition("/")
    plural = registry.plural_for(kind) if kind else "pods"
    if plural == "pods":
        found = cluster.get("pods", name, namespace)
        if not isinstance(found, core.Pod):
            raise errors.ConfigError(f'There is no pod named "{name}" in namespace '
                                     f'"{namespace}"; list them with `gitkube get pods`.')
        return found
    if plural == "jobs":
        job = cluster.get("jobs", name, namespace)
        if not isinstance(job, batch.Job):
            raise errors.ConfigError(f'There is no job named "{name}" in namespace '
                                     f'"{namespace}"; list them with `gitkube get jobs`.')
        pods = [p for p in cluster.owned_by(job, "pods") if isinstance(p, core.Pod)
                and p.namespace == namespace]
        if not pods:
            raise errors.ConfigError(f"Job {namespace}/{name} has no pods (yet, or any more); "
                                     "see `gitkube get jobs` and `gitkube events`.")
        chosen = min(pods, key=_preference)
        if len(pods) > 1:
            ctx.err.print(f"Found {len(pods)} pods, using pod/{chosen.name}", highlight=False)
        return chosen
    raise errors.ConfigError(f'gitkube logs takes pod/NAME or job/NAME, not "{target}".')


def _preference(pod: core.Pod) -> tuple[bool, float, str]:
    # Running first, then the newest: what a person most likely wants to read.
    created = pod.metadata.creation_timestamp
    age = -clock.parse_time(created).timestamp() if created else 0.0
    return (pod.status.phase != "Running", age, pod.name)


def pick_container(pod: core.Pod, wanted: str | None, ctx: Context) -> str:
    names = [c.name for c in pod.spec.containers]
    if wanted:
        if wanted not in names:
            raise errors.ConfigError(f"Pod {pod.namespace}/{pod.name} has no container "
                                     f"{wanted!r}; it has {', '.join(names)}.")
        return wanted
    default = pod.metadata.annotations.get(DEFAULT_CONTAINER)
    chosen = default if default in names else names[0]
    if len(names) > 1:
        ctx.err.print(f'Defaulted container "{chosen}" out of: {", ".join(names)}',
                      highlight=False)
    return chosen


def _finished(cluster: face.Cluster, pod: core.Pod) -> bool:
    now = cluster.get("pods", pod.name, pod.namespace)
    return not isinstance(now, core.Pod) or now.metadata.uid != pod.metadata.uid or (
        now.status.phase in ("Succeeded", "Failed"))


def _new_part(before: str, after: str) -> str:
    """What ``after`` adds to ``before``; all of it when the log was rotated or replaced."""
    return after[len(before):] if after.startswith(before) else after


def _print(ctx: Context, text: str) -> None:
    if text:
        render.out(ctx.out, text.rstrip("\n"))
