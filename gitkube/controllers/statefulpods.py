"""A StatefulSet's members: pod identities, their claims, and who owns the claims.

Kubernetes' ``stateful_set_utils.go`` on gitkube's models, pure:

- pod ``<set>-<ordinal>`` with the labels ``statefulset.kubernetes.io/pod-name``,
  ``apps.kubernetes.io/pod-index`` and ``controller-revision-hash`` (the revision's
  name), host name = pod name (with ``spec.serviceName`` as its subdomain, the pod is
  ``<pod>.<service>.<namespace>.svc`` in DNS), and one ``persistentVolumeClaim`` volume per
  claim template, claim ``<template>-<set>-<ordinal>`` (``updateStorage``);
- the claims themselves, labelled with the set's selector;
- ``claim_owners``: the owner references ``persistentVolumeClaimRetentionPolicy`` asks for
  (``updateClaimOwnerRefForSetAndPod``): none to retain, the set's for whenDeleted
  Delete, the pod's for a scaled-down pod under whenScaled Delete — garbage collection
  then deletes the claim with its owner.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gitkube import clock as clocks
from gitkube.api import core, keys, pods, revisions, statefulsets, storage
from gitkube.api.meta import ObjectMeta, OwnerReference
from gitkube.planning import objects
from gitkube.planning.snapshot import Snapshot

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"

_MEMBER = re.compile(r"(.*)-([0-9]+)$")


def ordinal_of(sts: statefulsets.StatefulSet, pod: core.Pod) -> int:
    """The pod's ordinal when it is ``<set>-<n>``; -1 otherwise (``getParentNameAndOrdinal``)."""
    match = _MEMBER.fullmatch(pod.name)
    if match is None or match.group(1) != sts.name:
        return -1
    return int(match.group(2))


def in_range(sts: statefulsets.StatefulSet, ordinal: int) -> bool:
    start = sts.start_ordinal
    return start <= ordinal < start + sts.spec.replicas


def pod_name(sts: statefulsets.StatefulSet, ordinal: int) -> str:
    return f"{sts.name}-{ordinal}"


def claim_name(sts: statefulsets.StatefulSet, template: str, ordinal: int) -> str:
    return f"{template}-{sts.name}-{ordinal}"


def revision_of(pod: core.Pod) -> str:
    return pod.metadata.labels.get(revisions.REVISION_HASH_LABEL, "")


def new_pod(
    snapshot: Snapshot, sts: statefulsets.StatefulSet, template: pods.PodTemplateSpec,
    revision: str, ordinal: int, clock: clocks.Clock,
) -> core.Pod:
    """``newStatefulSetPod`` at ``revision`` (whose template is ``template``)."""
    name = pod_name(sts, ordinal)
    key = keys.object_key(core.Pod.plural, sts.namespace, name)
    claims = {c.metadata.name: claim_name(sts, c.metadata.name, ordinal)
              for c in sts.spec.volume_claim_templates}
    spec = statefulsets.with_claims(template, claims).spec.model_copy(
        update={"hostname": name, "subdomain": sts.spec.service_name or None}, deep=True)
    labels = {**template.metadata.labels, POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal),
              revisions.REVISION_HASH_LABEL: revision}
    return core.Pod(
        metadata=ObjectMeta(
            name=name, namespace=sts.namespace, labels=labels,
            annotations=dict(template.metadata.annotations),
            owner_references=[objects.owner_reference(sts)],
            uid=objects.deterministic_uid(snapshot.cluster, key, snapshot.revision),
            creation_timestamp=objects.now_text(clock), generation=1,
        ),
        spec=spec,
    )


def new_claims(snapshot: Snapshot, sts: statefulsets.StatefulSet, pod: core.Pod,
               clock: clocks.Clock) -> list[storage.PersistentVolumeClaim]:
    """``getPersistentVolumeClaims``: the claims of ``pod``, as they are made."""
    ordinal = ordinal_of(sts, pod)
    out = []
    for template in sts.spec.volume_claim_templates:
        name = claim_name(sts, template.metadata.name, ordinal)
        key = keys.object_key(storage.PersistentVolumeClaim.plural, sts.namespace, name)
        claim = storage.PersistentVolumeClaim(
            metadata=ObjectMeta(
                name=name, namespace=sts.namespace,
                labels={**template.metadata.labels, **sts.spec.selector.match_labels},
                annotations=dict(template.metadata.annotations),
                uid=objects.deterministic_uid(snapshot.cluster, key, snapshot.revision),
                creation_timestamp=objects.now_text(clock), generation=1,
            ),
            spec=template.spec.model_copy(deep=True),
        )
        out.append(with_owners(claim, claim_owners(claim, sts, pod)))
    return out


def claims_of(snapshot: Snapshot, sts: statefulsets.StatefulSet, ordinal: int
              ) -> list[tuple[str, storage.PersistentVolumeClaim | None]]:
    """(name, the stored claim or None) of every claim template, for one ordinal."""
    out = []
    for template in sts.spec.volume_claim_templates:
        name = claim_name(sts, template.metadata.name, ordinal)
        stored = snapshot.get(keys.object_key(storage.PersistentVolumeClaim.plural,
                                              sts.namespace, name))
        claim = stored.obj if stored and isinstance(stored.obj,
                                                     storage.PersistentVolumeClaim) else None
        out.append((name, claim))
    return out


def _is_ref_to(ref: OwnerReference, kind: str, name: str) -> bool:
    return ref.kind == kind and ref.name == name


def is_stale(claim: storage.PersistentVolumeClaim, pod: core.Pod) -> bool:
    """``PodClaimIsStale``: the claim is owned by an earlier pod of this name (it is about to
    be garbage-collected; the new pod waits for it to go)."""
    return any(_is_ref_to(r, "Pod", pod.name) and r.uid != pod.metadata.uid
               for r in claim.metadata.owner_references)


def claim_owners(claim: storage.PersistentVolumeClaim, sts: statefulsets.StatefulSet,
                 pod: core.Pod) -> list[OwnerReference]:
    """The claim's owner references as the retention policy wants them; references to other
    owners are kept, and a claim another controller owns is left to it."""
    refs = claim.metadata.owner_references
    others = [r for r in refs if not (_is_ref_to(r, "StatefulSet", sts.name)
                                      or _is_ref_to(r, "Pod", pod.name))]
    policy = sts.spec.persistent_volume_claim_retention_policy
    if _stale(refs, sts, pod):
        return list(refs)
    retain = policy.when_deleted == "Retain" and policy.when_scaled == "Retain"
    if retain or any(r.controller for r in others):
        return others
    scaled_down = not in_range(sts, ordinal_of(sts, pod))
    wanted = list(others)
    if scaled_down and policy.when_scaled == "Delete":
        wanted.append(objects.owner_reference(pod))
    if not scaled_down and policy.when_deleted == "Delete":
        wanted.append(objects.owner_reference(sts))
    return wanted


def _stale(refs: Sequence[OwnerReference], sts: statefulsets.StatefulSet,
                      pod: core.Pod) -> bool:
    """A reference to this set or pod name with another uid: a previous incarnation's, which
    the claim keeps (``hasStaleOwnerRef``: not to be touched)."""
    return any((_is_ref_to(r, "StatefulSet", sts.name) and r.uid != sts.metadata.uid)
               or (_is_ref_to(r, "Pod", pod.name) and r.uid != pod.metadata.uid)
               for r in refs)


def with_owners(claim: storage.PersistentVolumeClaim, refs: list[OwnerReference]
                ) -> storage.PersistentVolumeClaim:
    return claim.model_copy(update={
        "metadata": claim.metadata.model_copy(update={"owner_references": refs})})
