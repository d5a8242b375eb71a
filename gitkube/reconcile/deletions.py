"""``gitkube delete pod``: what ``kubectl delete pod`` does, in a cluster Git declares.

The pod is deleted the way Kubernetes deletes it: one on a node is marked
(``deletionTimestamp``), so the next pass stops it there and removes it once its node says
it is gone; one on no node just goes. What comes next is what Git and the controllers
want, as with kubectl against a GitOps-managed cluster: a pod a controller made is made
again by it (a ReplicaSet's at once, under a new name; a StatefulSet's under the same name
once the old one is gone — how an OnDelete update reaches a pod); a pod Git declares is
made again from Git by the pass after it is gone (a restart: it leaves for good only when it
leaves Git). The sentence returned says which. One compare-and-swap write, under the
cluster lock, so it never lands in the middle of a pass.
"""

from __future__ import annotations

from gitkube import clock as clocks
from gitkube.api import core, keys, podstate, registry
from gitkube.api.meta import SOURCE_ANNOTATION
from gitkube.errors import ConfigError, StoreConflict
from gitkube.store import base as store_base


def delete_pod(store: store_base.Store, name: str, namespace: str, clock: clocks.Clock) -> str:
    """Mark the pod deleted (or delete it); what was done and what comes back, as a sentence."""
    key = keys.object_key(core.Pod.plural, namespace, name)
    found = store.get(key)
    if found is None:
        raise ConfigError(f'There is no pod named "{name}" in namespace "{namespace}"; list '
                          "them with `gitkube get pods`.")
    pod = registry.from_stored(found.value)
    assert isinstance(pod, core.Pod)
    if pod.metadata.deletion_timestamp:
        return f'pod "{name}" is already being deleted'
    if pod.spec.node_name and not podstate.is_terminal(pod):
        data = pod.to_dict()
        data["metadata"]["deletionTimestamp"] = clocks.format_time(clock.now())
        op: store_base.Op = store_base.Put(key, data)
        done = (f'pod "{name}" deleted: the next pass stops it on {pod.spec.node_name} and '
                f"removes it once gone; {_what_comes_back(pod, 'the pass after')}")
    else:
        op = store_base.Delete(key)
        done = f'pod "{name}" deleted; {_what_comes_back(pod, "the next pass")}'
    result = store.txn([store_base.Compare(key, found.mod_revision)], [op])
    if not result.succeeded:
        raise StoreConflict(f"pod/{name} changed while it was being deleted; run the command "
                            "again.", retry_after=1.0)
    return done


def _what_comes_back(pod: core.Pod, when: str) -> str:
    """Who makes the pod again, and when it is gone for good."""
    owner = pod.controller_ref()
    if owner is not None:
        return f"{owner.kind.lower()}/{owner.name} makes another"
    source = pod.metadata.annotations.get(SOURCE_ANNOTATION)
    if source is not None:
        return (f"Git declares it ({source}), so {when} makes it again: remove it from Git "
                "to delete it for good")
    return "nothing makes it again"
