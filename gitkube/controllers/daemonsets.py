"""DaemonSet → Pods: one pod on every node that should run it, rolled to new templates.

Kubernetes' DaemonSet controller (``pkg/controller/daemon``) as a planner. Each pass:

1. the template (stamped with its env values' hash, ``confighash``, so a changed value
   rolls the daemon as it rolls a Deployment) is the update revision
   (``revisions.sync_history``); pods carry its hash in ``controller-revision-hash``;
2. ``manage``: every node is asked ``daemonplacement.should_run``, and
   ``daemonupdate.pods_should_be_on_node`` says what to create and delete there. A new
   pod is pinned to its node by required node affinity on ``metadata.name`` and carries
   the daemon tolerations; the scheduler binds it, so resources and host ports are
   checked as for any pod. A node added to the inventory gets its pod in the pass that
   first sees it;
3. when ``manage`` had nothing to do (Kubernetes' expectations), RollingUpdate takes one
   step (``daemonupdate.rolling_update``); OnDelete waits for pods to go;
4. revisions beyond ``revisionHistoryLimit`` that no pod uses are deleted;
5. the status (desired/current/ready/up-to-date/available/misscheduled) is written
   when it changed.

Pod names are ``<daemonset>-<5 chars>``, hashed from the DaemonSet's uid, the node, the
revision and a slot, so a repeated pass never makes a second copy and a new revision's
pod never takes an old pod's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gitkube import clock as clocks
from gitkube.api import core, daemonsets, hashing, keys, names, podstate, revisions
from gitkube.api import node as node_api
from gitkube.api.meta import ObjectMeta
from gitkube.controllers import confighash, daemonplacement, daemonupdate, replicasets
from gitkube.controllers import revisions as history
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot

SOURCE = "daemonset"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"


def plan_daemonsets(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    nodes = sorted(snapshot.of_kind(node_api.Node), key=lambda n: n.name)
    owned = replicasets.pods_by_controller(snapshot)
    actions: list[Action] = []
    for ds in snapshot.of_kind(daemonsets.DaemonSet):
        if ds.metadata.deletion_timestamp or ds.spec.selector.empty:
            continue
        actions += sync_daemonset(snapshot, ds, nodes, owned.get(ds.metadata.uid or "", []),
                                  clock)
    return actions


def sync_daemonset(
    snapshot: Snapshot, ds: daemonsets.DaemonSet, nodes: Sequence[node_api.Node],
    pods: Sequence[core.Pod], clock: clocks.Clock,
) -> list[Action]:
    template = confighash.stamped_template(ds.spec.template, snapshot, ds.namespace)
    found = history.sync_history(snapshot, ds, template, clock, source=SOURCE,
                                 hash_label=revisions.REVISION_HASH_LABEL)
    placements = {n.name: daemonplacement.should_run(n, template.spec) for n in nodes}
    by_node = pods_by_node(pods)

    def available(pod: core.Pod) -> bool:
        return objects.is_available(pod, ds.spec.min_ready_seconds, clock)

    changes = manage(ds, nodes, placements, by_node, found.hash, available)
    if not changes and ds.spec.update_strategy.type == "RollingUpdate":
        desired = sum(1 for p in placements.values() if p.should_run)
        surge, unavailable = daemonsets.surge_and_unavailable(ds, desired)
        wanting = {**{n: [] for n, p in placements.items() if p.should_run}, **by_node}
        changes = daemonupdate.rolling_update(wanting, placements, found.hash, max_surge=surge,
                                              max_unavailable=unavailable, available=available)
    actions = [*found.actions, *carry_out(snapshot, ds, template, found.hash, changes, pods,
                                          clock)]
    if not changes:
        used = {p.metadata.labels.get(revisions.REVISION_HASH_LABEL) for p in pods}
        live = {r.name for r in found.known
                if r.metadata.labels.get(revisions.REVISION_HASH_LABEL) in used}
        actions += history.truncate(snapshot, found.known, live | {found.update.name},
                                    ds.spec.revision_history_limit, source=SOURCE, owner=ds)
    status = daemon_status(ds, nodes, placements, by_node, found.hash, available)
    if status != ds.status:
        stored = snapshot.get(ds.key)
        actions.append(Action(
            ActionKind.UPDATE, ObjectRef.of(ds),
            f"{objects.describe(ds)}: {status.number_ready}/{status.desired_number_scheduled} "
            "daemon pods ready", obj=ds.model_copy(update={"status": status}),
            expected_revision=stored.mod_revision if stored else None, status_only=True,
            source=SOURCE))
    return actions


def pods_by_node(pods: Sequence[core.Pod]) -> dict[str, list[core.Pod]]:
    """``getNodesToDaemonPods``: the pods by the node they target; a finished pod already
    being deleted is left out."""
    out: dict[str, list[core.Pod]] = {}
    for pod in pods:
        if podstate.is_terminal(pod) and pod.metadata.deletion_timestamp:
            continue
        out.setdefault(daemonplacement.target_node(pod.spec), []).append(pod)
    return out


def manage(
    ds: daemonsets.DaemonSet, nodes: Sequence[node_api.Node],
    placements: Mapping[str, daemonplacement.Placement],
    by_node: Mapping[str, Sequence[core.Pod]], hash_: str, available: daemonupdate.Available,
) -> daemonupdate.Changes:
    """What every node needs; pods waiting for a node that no longer exists go too."""
    surge, _ = daemonsets.surge_and_unavailable(ds, 1)
    out = daemonupdate.Changes()
    for node in nodes:
        out.extend(daemonupdate.pods_should_be_on_node(
            node.name, placements[node.name], by_node.get(node.name, []), hash_,
            surge=surge > 0, available=available))
    for target, pods in sorted(by_node.items()):
        if target not in placements:
            out.delete += [(p, f"node/{target or '?'} does not exist") for p in pods
                           if not p.spec.node_name and not p.metadata.deletion_timestamp]
    return out


def carry_out(
    snapshot: Snapshot, ds: daemonsets.DaemonSet, template: core.PodTemplateSpec, hash_: str,
    changes: daemonupdate.Changes, pods: Sequence[core.Pod], clock: clocks.Clock,
) -> list[Action]:
    actions = []
    for pod, why in changes.delete:
        stored = snapshot.get(pod.key)
        actions.append(Action(
            ActionKind.DELETE, ObjectRef.of(pod), f"{objects.describe(ds)}: {why}",
            expected_revision=stored.mod_revision if stored else None, source=SOURCE))
    taken = {p.name for p in pods}
    for node in changes.create:
        pod = new_pod(snapshot, ds, template, hash_, node, taken, clock)
        actions.append(Action(
            ActionKind.CREATE, ObjectRef.of(pod),
            f"{objects.describe(ds)}: node/{node} runs the daemon", obj=pod,
            expected_revision=0, source=SOURCE))
    return actions


def new_pod(
    snapshot: Snapshot, ds: daemonsets.DaemonSet, template: core.PodTemplateSpec, hash_: str,
    node: str, taken: set[str], clock: clocks.Clock,
) -> core.Pod:
    """``CreatePodTemplate`` + ``ReplaceDaemonSetPodNodeNameNodeAffinity`` for ``node``."""
    slot = 0
    while True:
        suffix = hashing.stable_hash([ds.metadata.uid, node, hash_, slot],
                                     names.GENERATED_SUFFIX_LENGTH)
        name = names.generated_name(f"{ds.name}-", suffix)
        key = keys.object_key(core.Pod.plural, ds.namespace, name)
        slot += 1
        if name not in taken and snapshot.get(key) is None:
            break
    taken.add(name)
    labels = {**template.metadata.labels, revisions.REVISION_HASH_LABEL: hash_,
              TEMPLATE_GENERATION_LABEL: str(ds.metadata.generation or 1)}
    spec = daemonplacement.for_node(daemonplacement.with_daemon_tolerations(template.spec), node)
    return core.Pod(
        metadata=ObjectMeta(
            name=name, namespace=ds.namespace, labels=labels,
            annotations=dict(template.metadata.annotations),
            owner_references=[objects.owner_reference(ds)],
            uid=objects.deterministic_uid(snapshot.cluster, key, snapshot.revision),
            creation_timestamp=objects.now_text(clock), generation=1,
        ),
        spec=spec.model_copy(deep=True),
    )


def daemon_status(
    ds: daemonsets.DaemonSet, nodes: Sequence[node_api.Node],
    placements: Mapping[str, daemonplacement.Placement],
    by_node: Mapping[str, Sequence[core.Pod]], hash_: str, available: daemonupdate.Available,
) -> daemonsets.DaemonSetStatus:
    """``updateDaemonSetStatus``: counted per node, from the oldest pod of each."""
    desired = current = ready = updated = up = misscheduled = 0
    for node in nodes:
        pods = by_node.get(node.name, [])
        if not placements[node.name].should_run:
            misscheduled += bool(pods)
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        pod = daemonupdate.oldest_first(pods)[0]
        if podstate.is_ready(pod):
            ready += 1
            up += available(pod)
        updated += daemonupdate.is_updated(pod, hash_)
    return ds.status.model_copy(update={
        "desired_number_scheduled": desired, "current_number_scheduled": current,
        "number_ready": ready, "number_available": up, "number_unavailable": desired - up,
        "updated_number_scheduled": updated, "number_misscheduled": misscheduled,
        "observed_generation": ds.metadata.generation or 1,
    })
