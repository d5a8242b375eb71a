"""The DaemonSet controller's decisions per node: which pods to create and which to delete.

Kept apart from objects and actions so it reads next to Kubernetes'
``pkg/controller/daemon`` (``podsShouldBeOnNode`` in ``daemon_controller.go``,
``rollingUpdate`` in ``update.go``) and is tested as a table:

- ``pods_should_be_on_node``: a node that should run the daemon and has no pod gets
  one; failed and succeeded pods are deleted (and replaced in the same step: gitkube
  plans a whole pass at once, so waiting for "the next sync" would only cost a round);
  of several running pods the oldest stays — or, while surging, the oldest of the new
  revision replaces the oldest old one once it is available (at once if the old one is
  not ready); a node that may no longer keep the pod loses it.
- ``rolling_update``: without surge, old pods are deleted while fewer than
  ``maxUnavailable`` of the desired nodes are unavailable (unavailable old pods first,
  they cost nothing); with surge, a new pod is created beside an old one on up to
  ``maxSurge`` nodes at a time (at once where the old one is unavailable), and the old
  one goes when the new one is available.

Nodes are visited in name order (Kubernetes walks a map), so a plan is the same every time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gitkube.api import core, podstate, revisions
from gitkube.controllers.daemonplacement import Placement
from gitkube.planning import objects

Available = Callable[[core.Pod], bool]


@dataclass
class Changes:
    """Nodes to give a pod (at the update revision) and pods to delete, with why."""

    create: list[str] = field(default_factory=list)
    delete: list[tuple[core.Pod, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create or self.delete)

    def extend(self, other: Changes) -> None:
        self.create += other.create
        self.delete += other.delete


def is_updated(pod: core.Pod, hash_: str) -> bool:
    """``IsPodUpdated`` by the revision hash label."""
    return bool(hash_) and pod.metadata.labels.get(revisions.REVISION_HASH_LABEL) == hash_


def oldest_first(pods: Sequence[core.Pod]) -> list[core.Pod]:
    """``podByCreationTimestampAndPhase``: scheduled first, then by creation, then name."""
    return sorted(pods, key=lambda p: (not p.spec.node_name,
                                       objects.parse_or_epoch(p.metadata.creation_timestamp),
                                       p.name))


def pods_should_be_on_node(
    node: str, placement: Placement, pods: Sequence[core.Pod], hash_: str, *, surge: bool,
    available: Available,
) -> Changes:
    """``podsShouldBeOnNode`` for one node and the daemon pods targeted at it."""
    out = Changes()
    if placement.should_run and not pods:
        out.create.append(node)
        return out
    if not placement.should_continue:
        out.delete += [(p, f"node/{node} should not run it ({placement.reason})")
                       for p in pods if not p.metadata.deletion_timestamp]
        return out
    running: list[core.Pod] = []
    for pod in pods:
        if pod.metadata.deletion_timestamp:
            continue
        if podstate.is_terminal(pod):
            out.delete.append((pod, f"{pod.status.phase.lower()} daemon pod on node/{node}; "
                                    "a new one replaces it"))
        else:
            running.append(pod)
    if not running:
        if placement.should_run and out.delete:
            out.create.append(node)
        return out
    ordered = oldest_first(running)
    if not surge:
        out.delete += [(p, f"more than one daemon pod on node/{node}; the oldest stays")
                       for p in ordered[1:]]
        return out
    out.delete += _surge_prune(node, ordered, hash_, available)
    return out


def _surge_prune(node: str, ordered: list[core.Pod], hash_: str,
                 available: Available) -> list[tuple[core.Pod, str]]:
    """While surging: the oldest new and the oldest old pod may stay side by side, until the
    old one is not ready or the new one is available."""
    newest: core.Pod | None = None
    oldest: core.Pod | None = None
    extra: list[tuple[core.Pod, str]] = []
    for pod in ordered:
        if is_updated(pod, hash_) and newest is None:
            newest = pod
        elif not is_updated(pod, hash_) and oldest is None:
            oldest = pod
        else:
            extra.append((pod, f"more than one daemon pod of a revision on node/{node}"))
    if newest is not None and oldest is not None:
        if not podstate.is_ready(oldest):
            extra.append((oldest, f"old daemon pod on node/{node} is not ready; "
                                  f"{newest.name} replaces it"))
        elif available(newest):
            extra.append((oldest, f"{newest.name} is available on node/{node}; "
                                  "the old pod goes"))
    return extra


def find_updated_pods(pods: Sequence[core.Pod], hash_: str
                      ) -> tuple[core.Pod | None, core.Pod | None, bool]:
    """``findUpdatedPodsOnNode``: (new pod, old pod, at most one of each) of a node."""
    new: core.Pod | None = None
    old: core.Pod | None = None
    for pod in pods:
        if pod.metadata.deletion_timestamp:
            continue
        if is_updated(pod, hash_):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def rolling_update(
    by_node: Mapping[str, Sequence[core.Pod]], placements: Mapping[str, Placement],
    hash_: str, *, max_surge: int, max_unavailable: int, available: Available,
) -> Changes:
    """``rollingUpdate``: ``by_node`` holds every node that should run the daemon (perhaps
    with no pod) and every node with a pod."""
    if max_surge == 0:
        return _replace_in_place(by_node, hash_, max_unavailable, available)
    return _surge(by_node, placements, hash_, max_surge, available)


def _replace_in_place(by_node: Mapping[str, Sequence[core.Pod]], hash_: str,
                      max_unavailable: int, available: Available) -> Changes:
    unavailable = 0
    replace: list[tuple[core.Pod, str]] = []
    candidates: list[core.Pod] = []
    for node in sorted(by_node):
        new, old, ok = find_updated_pods(by_node[node], hash_)
        if not ok or (new is None) == (old is None):
            unavailable += 1  # the manage step creates or prunes here
        elif new is not None:
            unavailable += not available(new)
        elif old is not None and not available(old):
            replace.append((old, f"old daemon pod on node/{node} is not available: "
                                 "replaced at once"))
            unavailable += 1
        elif old is not None and unavailable < max_unavailable:
            candidates.append(old)
    room = min(max(max_unavailable - unavailable, 0), len(candidates))
    why = f"rolling update, at most {max_unavailable} unavailable"
    return Changes(delete=replace + [(p, f"{why}; node/{p.spec.node_name or '?'} next")
                                     for p in candidates[:room]])


def _surge(by_node: Mapping[str, Sequence[core.Pod]], placements: Mapping[str, Placement],
           hash_: str, max_surge: int, available: Available) -> Changes:
    out = Changes()
    surging = available_count = 0
    candidates: list[str] = []
    leaving: list[core.Pod] = []
    for node in sorted(by_node):
        new, old, ok = find_updated_pods(by_node[node], hash_)
        if not ok:
            surging += 1
            continue
        current = old if old is not None else new
        available_count += current is not None and available(current)
        should_run = node in placements and placements[node].should_run
        if old is None:
            continue
        if new is None and not should_run:
            if available(old):
                leaving.append(old)
            else:
                out.delete.append((old, f"node/{node} should not run it any more"))
        elif new is None and not available(old):
            out.create.append(node)
        elif new is None:
            if surging < max_surge:
                candidates.append(node)
        elif not available(new):
            surging += 1
        else:
            out.delete.append((old, f"{new.name} is available on node/{node}; the old pod goes"))
    desired = sum(1 for p in placements.values() if p.should_run)
    spare = min(max(available_count - desired, 0), len(leaving))
    out.delete += [(p, "rolling update: the pod moves where it should run")
                   for p in leaving[:spare]]
    out.create += candidates[:min(max(max_surge - surging, 0), len(candidates))]
    return out
