"""The claims as the scheduler sees them during a pass: where each lets its pods go.

Built once per pass from the snapshot (``cluster.build``), like the node and pod records,
and kept current as pods are placed — kube-scheduler's assume cache for volumes:

- a claim bound to a volume lets its pods only onto nodes the volume's node affinity
  matches (a local-path volume: its one node);
- an unbound ``WaitForFirstConsumer`` claim of the local-path provisioner may go anywhere
  its class's ``allowedTopologies`` allow; the first pod placed chooses its node
  (``assume``), which the claim then keeps for every later pod of the pass and, through
  the ``volume.kubernetes.io/selected-node`` annotation, for the provisioner;
- a claim nothing can provision (another provisioner, no class, a selector) matches no node;
- what no node can change (a missing or deleted claim, a claim bound to a volume that is
  gone, an unbound Immediate claim, a ReadWriteOncePod claim another pod uses) is said by
  ``prefilter`` in kube-scheduler's words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitkube.api import node as node_api
from gitkube.api import storage
from gitkube.planning import claims as claims_mod
from gitkube.planning.snapshot import Snapshot
from gitkube.scheduler import terms

#: kube-scheduler's ConflictReasons and PreFilter messages.
BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
NODE_CONFLICT = "node(s) had volume node affinity conflict"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
RWOP_CONFLICT = ("node has pod using PersistentVolumeClaim with the same name and "
                 "ReadWriteOncePod access mode")

NOWHERE: tuple[terms.NodeTerm, ...] = ()


@dataclass(frozen=True, slots=True)
class Constraint:
    """Nodes a claim lets its pod onto: one of ``terms`` must match (None: any node)."""

    terms: tuple[terms.NodeTerm, ...] | None
    reason: str = NODE_CONFLICT

    def allows(self, labels: dict[str, str], name: str) -> bool:
        return self.terms is None or any(t.matches(labels, name) for t in self.terms)


ANYWHERE = Constraint(None)


@dataclass(frozen=True)
class Claim:
    key: tuple[str, str]
    problem: str = ""
    constraint: Constraint = ANYWHERE
    #: Unbound and WaitForFirstConsumer: the first pod placed chooses its node.
    delayed: bool = False
    once_pod: bool = False
    stored: storage.PersistentVolumeClaim | None = None


@dataclass
class VolumeIndex:
    claims: dict[tuple[str, str], Claim] = field(default_factory=dict)
    #: ReadWriteOncePod claims → keys of the unfinished pods using them.
    users: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    #: Claims whose node this pass chose (namespace, name) → node.
    chosen: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def of(cls, snapshot: Snapshot) -> VolumeIndex:
        known = claims_mod.classes(snapshot)
        nodes = {n.name for n in snapshot.of_kind(node_api.Node)}
        index = cls()
        for pvc in snapshot.of_kind(storage.PersistentVolumeClaim):
            index.claims[(pvc.namespace, pvc.name)] = _claim(snapshot, pvc, known, nodes)
        return index

    def note_user(self, namespace: str, claim_names: tuple[str, ...], pod_key: str) -> None:
        """A pod on a node (or placed this pass) uses these claims."""
        for name in claim_names:
            found = self.claims.get((namespace, name))
            if found is not None and found.once_pod:
                self.users.setdefault(found.key, set()).add(pod_key)

    def prefilter(self, namespace: str, claim_names: tuple[str, ...], pod_key: str) -> str:
        """Why no node can take a pod with these claims ("" when some may)."""
        for name in claim_names:
            found = self.claims.get((namespace, name))
            if found is None:
                return f'persistentvolumeclaim "{name}" not found'
            if found.problem:
                return found.problem
        for name in claim_names:
            found = self.claims[(namespace, name)]
            if found.once_pod and self.users.get(found.key, set()) - {pod_key}:
                return RWOP_CONFLICT
        return ""

    def constraints(self, namespace: str, claim_names: tuple[str, ...]
                    ) -> tuple[Constraint, ...]:
        out = []
        for name in claim_names:
            found = self.claims.get((namespace, name))
            if found is None:
                continue
            node = self.chosen.get(found.key)
            out.append(_on(node) if node else found.constraint)
        return tuple(out)

    def assume(self, namespace: str, claim_names: tuple[str, ...], pod_key: str, node: str
               ) -> list[storage.PersistentVolumeClaim]:
        """The pod is placed on ``node``: its unbound delayed claims choose that node.
        Returns the stored claims that need the selected-node annotation."""
        self.note_user(namespace, claim_names, pod_key)
        out = []
        for name in claim_names:
            found = self.claims.get((namespace, name))
            if found is None or not found.delayed or found.key in self.chosen:
                continue
            self.chosen[found.key] = node
            if found.stored is not None and found.stored.metadata.annotations.get(
                    claims_mod.SELECTED_NODE_ANNOTATION) != node:
                out.append(found.stored)
        return out


def _on(node: str) -> Constraint:
    requirement = terms.Requirement("metadata.name", "In", frozenset({node}))
    return Constraint((terms.NodeTerm(names=(requirement,)),))


def _claim(snapshot: Snapshot, pvc: storage.PersistentVolumeClaim,
           known: dict[str, storage.StorageClass], nodes: set[str]) -> Claim:
    """``podHasPVCs``/``GetPodVolumeClaims``/``FindPodVolumes`` for one claim."""
    key = (pvc.namespace, pvc.name)
    once_pod = "ReadWriteOncePod" in pvc.spec.access_modes
    if pvc.metadata.deletion_timestamp:
        return Claim(key, f'persistentvolumeclaim "{pvc.name}" is being deleted')
    if pvc.spec.volume_name:
        volume = claims_mod.bound_volume(snapshot, pvc)
        if volume is None:
            return Claim(key, f'persistentvolumeclaim "{pvc.name}" bound to non-existent '
                              f'persistentvolume "{pvc.spec.volume_name}"')
        required = volume.spec.node_affinity.required if volume.spec.node_affinity else None
        if required is None:
            return Claim(key, once_pod=once_pod)
        compiled = tuple(terms.node_term(t) for t in required.node_selector_terms)
        return Claim(key, constraint=Constraint(compiled), once_pod=once_pod)
    if not claims_mod.is_delayed(pvc, known):
        return Claim(key, UNBOUND_IMMEDIATE)
    cls = claims_mod.class_of(pvc, known)
    assert cls is not None
    chosen = pvc.metadata.annotations.get(claims_mod.SELECTED_NODE_ANNOTATION, "")
    if chosen in nodes:  # chosen in an earlier pass, not yet provisioned
        return Claim(key, constraint=_on(chosen), once_pod=once_pod)
    if not cls.local_path or pvc.spec.selector is not None:
        return Claim(key, constraint=Constraint(NOWHERE, BIND_CONFLICT), once_pod=once_pod)
    return Claim(key, constraint=_topology(cls), delayed=True, once_pod=once_pod, stored=pvc)


def _topology(cls: storage.StorageClass) -> Constraint:
    """``allowedTopologies``: nodes with one term's label values (all its expressions)."""
    if not cls.allowed_topologies:
        return ANYWHERE
    compiled = tuple(
        terms.NodeTerm(tuple(terms.Requirement(e.key, "In", frozenset(e.values))
                             for e in term.match_label_expressions))
        for term in cls.allowed_topologies)
    return Constraint(compiled, BIND_CONFLICT)
