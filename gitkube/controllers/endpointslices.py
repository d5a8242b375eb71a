"""The EndpointSlice controller: Services + pods → EndpointSlices, as Kubernetes keeps them.

A planner (snapshot in, actions out, no I/O). For each Service with a selector,
``endpoints.desired_endpoints`` says which pods stand behind it on which ports; this
module packs them into slices the way Kubernetes' reconciler does:

- slices hold at most ``MAX_ENDPOINTS`` (100) endpoints and one set of resolved ports;
- an existing slice keeps the endpoints that are still wanted (updated in place when
  their conditions change) and loses the others; a slice left empty is deleted;
- new endpoints first fill the slices already being rewritten, then the fullest
  unchanged slice they fit in, then new slices — so a pod that turns Ready rewrites one
  slice, not all of them;
- a Service whose selector matches nothing keeps one empty slice (Kubernetes' placeholder);
- slices carry the Service's labels plus ``kubernetes.io/service-name``, the managed-by
  label and ``service.kubernetes.io/headless`` for headless Services, and are owned by the
  Service, so garbage collection removes them with it.

Names are ``<service>-<5 characters>`` like Kubernetes' generated names, derived from the
Service's uid so that a repeated plan names them the same. Slice writes follow observed
state (pod addresses, readiness), so they are status-only: they never make a plan a change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from gitkube import clock as clocks
from gitkube.api import core, discovery, services
from gitkube.api import node as node_api
from gitkube.api.meta import ObjectMeta
from gitkube.controllers import endpoints
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind, ObjectRef
from gitkube.planning.snapshot import Snapshot, Stored

SOURCE = "endpointslice"
#: kube-controller-manager's --max-endpoints-per-slice default.
MAX_ENDPOINTS = 100
#: Kubernetes' alphabet for generated name suffixes (no vowels, no look-alikes).
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_RESERVED_LABELS = frozenset({discovery.SERVICE_NAME_LABEL, discovery.MANAGED_BY_LABEL,
                              discovery.HEADLESS_LABEL})


def plan_endpointslices(snapshot: Snapshot, clock: clocks.Clock) -> list[Action]:
    index = PodIndex(snapshot.of_kind(core.Pod))
    nodes = {n.name: dict(n.metadata.labels) for n in snapshot.of_kind(node_api.Node)}
    owned: dict[str, list[Stored]] = {}
    for stored in snapshot.stored_of_kind(discovery.EndpointSlice):
        ref = stored.obj.controller_ref()
        if ref is not None and ref.kind == "Service":
            owned.setdefault(ref.uid, []).append(stored)
    actions: list[Action] = []
    for svc in snapshot.of_kind(services.Service):
        existing = owned.get(svc.metadata.uid or "", [])
        if not endpoints.manages_endpoints(svc):
            actions += [_delete(s, f"{objects.describe(svc)} has no selector") for s in existing]
            continue
        wanted, _ = endpoints.desired_endpoints(svc, index.selected(svc), nodes)
        actions += reconcile_slices(svc, wanted, existing, stamper(snapshot, clock))
    return actions


Stamp = Callable[[discovery.EndpointSlice], discovery.EndpointSlice]


def stamper(snapshot: Snapshot, clock: clocks.Clock) -> Stamp:
    """What the apiserver gives a new object: a uid (the same when planned again) and the
    creation time."""
    now = objects.now_text(clock)

    def stamp(slice_: discovery.EndpointSlice) -> discovery.EndpointSlice:
        uid = objects.deterministic_uid(snapshot.cluster, slice_.key, snapshot.revision)
        meta = slice_.metadata.model_copy(update={"uid": uid, "creation_timestamp": now})
        return slice_.model_copy(update={"metadata": meta})

    return stamp


class PodIndex:
    """Pods by namespace and label, so each Service's selector costs what it selects."""

    def __init__(self, pods: Iterable[core.Pod]) -> None:
        self._by_label: dict[tuple[str, str, str], list[core.Pod]] = {}
        for pod in pods:
            for key, value in pod.metadata.labels.items():
                self._by_label.setdefault((pod.namespace, key, value), []).append(pod)

    def selected(self, svc: services.Service) -> list[core.Pod]:
        """The pods ``svc`` selects, by name (none when it has no selector)."""
        lists = [self._by_label.get((svc.namespace, k, v), [])
                 for k, v in svc.spec.selector.items()]
        if not lists:
            return []
        shortest = min(lists, key=len)
        return sorted((p for p in shortest if endpoints.selects(svc, p)), key=lambda p: p.name)


def reconcile_slices(svc: services.Service,
                     wanted: dict[endpoints.PortKey, list[discovery.Endpoint]],
                     existing: list[Stored], stamp: Stamp) -> list[Action]:
    """The writes that make ``existing`` slices hold ``wanted`` endpoints."""
    labels = slice_labels(svc)
    taken = {s.obj.name for s in existing}
    actions: list[Action] = []
    kept: list[discovery.EndpointSlice] = []
    for key in sorted(set(wanted) | {endpoints.port_key_of(_slice(s)) for s in existing}):
        of_key = [s for s in existing if endpoints.port_key_of(_slice(s)) == key]
        packed, doomed = _pack(wanted.get(key, []), [_slice(s) for s in of_key])
        for new in packed:
            new = _with(new, svc, labels, key)
            kept.append(new if new.name else stamp(_named(new, svc, taken)))
        for gone in doomed:
            stored = next(s for s in of_key if s.obj.name == gone.name)
            actions.append(_delete(stored, f"no endpoint of {objects.describe(svc)} left"))
    if not kept:
        placeholder = _placeholder(svc, labels, existing, taken, stamp)
        actions = [a for a in actions if a.target.name != placeholder.name]
        kept.append(placeholder)
    before = {s.obj.name: s for s in existing}
    for new in kept:
        old = before.get(new.name)
        if old is None:
            actions.append(Action(ActionKind.CREATE, ObjectRef.of(new), _summary(svc, new),
                                  obj=new, source=SOURCE, status_only=True))
        elif not objects.same(new, old.obj):
            actions.append(Action(ActionKind.UPDATE, ObjectRef.of(new), _summary(svc, new),
                                  obj=new, expected_revision=old.mod_revision, source=SOURCE,
                                  status_only=True))
    return actions


def _pack(wanted: list[discovery.Endpoint], slices: list[discovery.EndpointSlice]
          ) -> tuple[list[discovery.EndpointSlice], list[discovery.EndpointSlice]]:
    """The slices to keep (new ones unnamed), with their endpoints, and those to delete."""
    by_key = {_identity(e): e for e in wanted}
    placed: set[tuple[str, ...]] = set()
    kept: list[tuple[discovery.EndpointSlice, bool]] = []  # (slice, changed)
    doomed = []
    for old in slices:
        fresh = [by_key[_identity(e)] for e in old.endpoints
                 if _identity(e) in by_key and _identity(e) not in placed]
        placed.update(_identity(e) for e in fresh)
        if not fresh:
            doomed.append(old)
            continue
        kept.append((old.model_copy(update={"endpoints": fresh}), fresh != old.endpoints))
    remaining = [e for e in wanted if _identity(e) not in placed]
    # New endpoints: slices already being rewritten first, then the fullest unchanged one
    # that can take them all, then new slices.
    order = sorted(range(len(kept)), key=lambda i: (not kept[i][1], -len(kept[i][0].endpoints)))
    for i in order:
        slice_, changed = kept[i]
        room = MAX_ENDPOINTS - len(slice_.endpoints)
        if not remaining or room <= 0 or (not changed and room < len(remaining)):
            continue
        taking, remaining = remaining[:room], remaining[room:]
        kept[i] = (slice_.model_copy(update={"endpoints": [*slice_.endpoints, *taking]}), True)
    out = [s for s, _ in kept]
    for start in range(0, len(remaining), MAX_ENDPOINTS):
        out.append(discovery.EndpointSlice(metadata=ObjectMeta(name=""),
                                           endpoints=remaining[start:start + MAX_ENDPOINTS]))
    return out, doomed


def _identity(endpoint: discovery.Endpoint) -> tuple[str, ...]:
    ref = endpoint.target_ref
    return (ref.uid or ref.name if ref else "", *endpoint.addresses)


def slice_labels(svc: services.Service) -> dict[str, str]:
    labels = {k: v for k, v in svc.metadata.labels.items() if k not in _RESERVED_LABELS}
    if svc.spec.headless:
        labels[discovery.HEADLESS_LABEL] = ""
    labels[discovery.SERVICE_NAME_LABEL] = svc.name
    labels[discovery.MANAGED_BY_LABEL] = discovery.CONTROLLER_NAME
    return labels


def _with(slice_: discovery.EndpointSlice, svc: services.Service, labels: dict[str, str],
          key: endpoints.PortKey) -> discovery.EndpointSlice:
    meta = slice_.metadata.model_copy(update={
        "namespace": svc.namespace, "labels": dict(labels),
        "owner_references": [objects.owner_reference(svc)]})
    return slice_.model_copy(update={"metadata": meta,
                                     "ports": endpoints.endpoint_ports(key, svc)})


def _named(slice_: discovery.EndpointSlice, svc: services.Service,
           taken: set[str]) -> discovery.EndpointSlice:
    prefix = svc.name[:57]
    for n in range(10_000):
        digest = hashlib.sha256(f"{svc.metadata.uid}/{n}".encode()).digest()
        suffix = "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in digest[:5])
        name = f"{prefix}-{suffix}"
        if name not in taken:
            taken.add(name)
            meta = slice_.metadata.model_copy(update={"name": name})
            return slice_.model_copy(update={"metadata": meta})
    raise AssertionError("10000 slice names of one Service are taken")  # pragma: no cover


def _placeholder(svc: services.Service, labels: dict[str, str], existing: list[Stored],
                 taken: set[str], stamp: Stamp) -> discovery.EndpointSlice:
    """The one empty slice of a Service without endpoints (an existing slice is reused)."""
    if existing:
        first = _slice(sorted(existing, key=lambda s: s.obj.name)[0])
        return _with(first.model_copy(update={"endpoints": []}), svc, labels, ())
    empty = discovery.EndpointSlice(metadata=ObjectMeta(name=""))
    return stamp(_named(_with(empty, svc, labels, ()), svc, taken))


def _slice(stored: Stored) -> discovery.EndpointSlice:
    assert isinstance(stored.obj, discovery.EndpointSlice)
    return stored.obj


def _summary(svc: services.Service, slice_: discovery.EndpointSlice) -> str:
    ready = sum(1 for e in slice_.endpoints if e.conditions.ready)
    total = objects.plural(len(slice_.endpoints), "endpoint")
    return f"{objects.describe(svc)}: {ready} of {total} ready"


def _delete(stored: Stored, reason: str) -> Action:
    return Action(ActionKind.DELETE, ObjectRef.of(stored.obj), reason,
                  expected_revision=stored.mod_revision, source=SOURCE, status_only=True)


def endpoints_of(svc: services.Service, slices: Iterable[discovery.EndpointSlice]
                 ) -> list[discovery.EndpointSlice]:
    """The slices of ``svc`` among ``slices`` (by owner, then by the service-name label)."""
    uid = svc.metadata.uid
    return [s for s in slices if s.namespace == svc.namespace and (
        any(r.uid == uid for r in s.metadata.owner_references) if uid
        else s.service_name == svc.name)]
