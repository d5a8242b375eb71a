"""The read side of the library: what the store holds, as the CLI and tests ask for it.

Objects by kind or name, what an object owns, the pods bound to a node, the scheduler's
verdict for a pod on every node (``describe pod``), why a claim waits (``describe pvc``),
the last pass and the source record. Reads only; ``Cluster`` exposes them as its methods.
"""

from __future__ import annotations

from typing import Any, TypeVar

from gitkube import scheduler
from gitkube.api import core, discovery, keys, registry, services, storage
from gitkube.api import node as node_api
from gitkube.api.meta import KubeObject
from gitkube.controllers import endpoints, endpointslices, volumes
from gitkube.errors import SourceError
from gitkube.planning import claims
from gitkube.planning.snapshot import Snapshot, Stored
from gitkube.reconcile import home as home_mod
from gitkube.reconcile import results, sources
from gitkube.store import base as store_base

T = TypeVar("T", bound=KubeObject)


def objects(store: store_base.Store, plural: str) -> list[KubeObject]:
    kvs, _ = store.range(keys.kind_prefix(plural))
    return [registry.from_stored(kv.value) for kv in kvs]


def of_kind(store: store_base.Store, cls: type[T]) -> list[T]:
    """Every stored object of one kind, typed."""
    return [obj for obj in objects(store, cls.plural) if isinstance(obj, cls)]


def get(store: store_base.Store, plural: str, name: str,
        namespace: str = "default") -> KubeObject | None:
    cls = registry.model_for_plural(plural)
    kv = store.get(keys.object_key(plural, namespace if cls.namespaced else "", name))
    return registry.from_stored(kv.value) if kv else None


def owned_by(store: store_base.Store, owner: KubeObject, plural: str) -> list[KubeObject]:
    """The objects of kind ``plural`` with an owner reference to ``owner``."""
    uid = owner.metadata.uid
    return [obj for obj in objects(store, plural)
            if any(ref.uid == uid for ref in obj.metadata.owner_references)]


def pods_on(store: store_base.Store, node: str) -> list[core.Pod]:
    """The pods bound to ``node``."""
    return [pod for pod in of_kind(store, core.Pod) if pod.spec.node_name == node]


def explain(store: store_base.Store, pod: KubeObject) -> list[results.Fit]:
    """The scheduler's verdict on every node for ``pod`` (what ``describe`` shows)."""
    if not isinstance(pod, core.Pod):
        return []
    # The pod's claims, their volumes and classes too: where a volume lets the pod go.
    around = [obj for plural in ("nodes", "pods", "persistentvolumeclaims", "persistentvolumes",
                                 "storageclasses") for obj in objects(store, plural)]
    snapshot = Snapshot(revision=0, objects={o.key: Stored(o, 0) for o in around})
    return scheduler.explain(snapshot, pod)


def claim_waiting(store: store_base.Store, pvc: storage.PersistentVolumeClaim) -> str | None:
    """Why an unbound claim is not provisioned, in the words of Kubernetes' events (None when
    it is bound, or when it can be in the next pass)."""
    if pvc.status.phase == "Bound":
        return None
    around = [obj for plural in ("nodes", "storageclasses") for obj in objects(store, plural)]
    snapshot = Snapshot(revision=0, objects={o.key: Stored(o, 0) for o in [*around, pvc]})
    return volumes.waiting_for(snapshot, pvc, claims.classes(snapshot)) or None


def slices_of(store: store_base.Store, svc: services.Service) -> list[discovery.EndpointSlice]:
    """The EndpointSlices of a Service."""
    return endpointslices.endpoints_of(svc, of_kind(store, discovery.EndpointSlice))


def traffic(store: store_base.Store, svc: services.Service) -> list[tuple[str, str]] | str:
    """The pods ``svc`` selects that get no traffic (or not on every port) and why, or a
    sentence when there are none (``describe service``)."""
    nodes = {n.name: dict(n.metadata.labels) for n in of_kind(store, node_api.Node)}
    said = endpoints.explain(svc, of_kind(store, core.Pod), nodes)
    return said if isinstance(said, str) else [(note.pod, note.reason) for note in said]


def source_record(store: store_base.Store) -> dict[str, Any]:
    """``lastAppliedRevision``, ``lastAttemptedRevision`` and ``lastAttemptedErrors``."""
    kv = store.get(keys.SOURCE_KEY)
    return dict(kv.value) if kv else {}


def cluster_name(home: home_mod.Home) -> str:
    """The name the store keeps; before the first pass, the inventory's (or the
    repository directory's)."""
    record = home.store.get(keys.CLUSTER_KEY)
    if record:
        return str(record.value.get("name"))
    try:
        source = sources.read(home)
    except SourceError:
        return home.repo_path.name
    return source.good.inventory.cluster if source.good and source.good.inventory else (
        home.repo_path.name)
