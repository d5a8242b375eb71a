"""Kinds and apiVersions: what is accepted, what is not yet, and what to write instead."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import apps, core, inventory, node, registry
from tests.api import manifests as m

KIND_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("ingress", {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                 "metadata": {"name": "s"}},
     "kind", "kind Ingress (networking.k8s.io/v1) is not supported by gitkube yet"),
    ("endpointslice", {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                       "metadata": {"name": "s"}},
     "kind", "EndpointSlices are derived from Services and their pods; write the Service "
             "(with a selector) instead"),
    ("job-wrong-version", {"apiVersion": "batch/v2", "kind": "Job", "metadata": {"name": "j"}},
     "apiVersion", "apiVersion batch/v2 is not served for kind Job; use batch/v1"),
    ("hpa-v1", {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "h"}},
     "kind", "kind HorizontalPodAutoscaler (autoscaling/v1) is not supported by gitkube yet"),
    ("ingress", {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                 "metadata": {"name": "w"}},
     "kind", "kind Ingress (networking.k8s.io/v1) is not supported by gitkube yet"),
    ("persistent-volume", {"apiVersion": "v1", "kind": "PersistentVolume",
                           "metadata": {"name": "pv"}},
     "kind", "PersistentVolumes are made by gitkube's local-path provisioner (a directory on "
             "the node where the claim is first used); declare a PersistentVolumeClaim instead"),
    ("controller-revision", {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                             "metadata": {"name": "r"}},
     "kind", "ControllerRevisions are made by the DaemonSet and StatefulSet controllers, one "
             "per template they roll out; change the workload's template instead"),
    ("retired-cronjob", {"apiVersion": "batch/v1beta1", "kind": "CronJob",
                         "metadata": {"name": "c"}},
     "apiVersion", "apiVersion batch/v1beta1 is not served for kind CronJob; use batch/v1"),
    ("old-deployment", {"apiVersion": "extensions/v1beta1", "kind": "Deployment",
                        "metadata": {"name": "d"}},
     "apiVersion", "apiVersion extensions/v1beta1 is not served for kind Deployment; use apps/v1"),
    ("pod-in-apps", {"apiVersion": "apps/v1", "kind": "Pod", "metadata": {"name": "p"}},
     "apiVersion", "apiVersion apps/v1 is not served for kind Pod; use v1"),
    ("missing-api-version", {"kind": "Pod", "metadata": {"name": "p"}},
     "apiVersion", "field 'apiVersion' is required (for a Pod: v1)"),
    ("missing-kind", {"apiVersion": "v1", "metadata": {"name": "p"}},
     "kind", "field 'kind' is required (Pod, Deployment, ConfigMap, ...)"),
    ("unknown-kind", {"apiVersion": "example.com/v1", "kind": "Widget"},
     "kind", "kind Widget (example.com/v1) is not known to gitkube; supported kinds: "
             "ConfigMap (v1), CronJob (batch/v1), DaemonSet (apps/v1), Deployment (apps/v1), "
             "Job (batch/v1), Namespace (v1), PersistentVolumeClaim (v1), Pod (v1), "
             "PriorityClass (scheduling.k8s.io/v1), ReplicaSet (apps/v1), Secret (v1), "
             "Service (v1), ServiceAccount (v1), StatefulSet (apps/v1), "
             "StorageClass (storage.k8s.io/v1)"),
    ("node", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}},
     "kind", "Nodes are not written as manifests: declare the machine in inventory.yaml"),
    ("missing-name", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}},
     "metadata.name", "field 'name' is required"),
    ("missing-metadata", {"apiVersion": "v1", "kind": "ConfigMap"},
     "metadata", "field 'metadata' is required"),
]


@pytest.mark.parametrize(("doc", "path", "message"), [c[1:] for c in KIND_CASES],
                         ids=[c[0] for c in KIND_CASES])
def test_kinds_and_api_versions(doc: dict[str, Any], path: str, message: str) -> None:
    found = m.issues(doc)
    assert found.get(path) == message, found


def test_a_retired_api_version_of_an_unsupported_kind_says_both() -> None:
    found = m.issues({"apiVersion": "extensions/v1beta1", "kind": "Ingress",
                      "metadata": {"name": "i"}})
    assert found == {"apiVersion": "apiVersion extensions/v1beta1 is not served for kind "
                                   "Ingress; use networking.k8s.io/v1",
                     "kind": "kind Ingress (networking.k8s.io/v1) is not supported by gitkube "
                             "yet"}


def test_a_document_that_is_not_a_mapping() -> None:
    with pytest.raises(ValueError, match="a manifest must be a mapping"):
        registry.parse_object(["a", "list"])  # type: ignore[arg-type]


def test_parse_object_does_not_change_its_input() -> None:
    doc = m.pod()
    registry.parse_object(doc)
    assert doc == m.pod()


@pytest.mark.parametrize(("kind", "namespace", "key"), [
    ("Pod", "shop", "/registry/pods/shop/web"),
    ("Pod", "", "/registry/pods/default/web"),
    ("Deployment", "default", "/registry/deployments/default/web"),
    ("replicasets", "a", "/registry/replicasets/a/web"),
    ("Node", "ignored", "/registry/nodes/web"),
    ("Namespace", "", "/registry/namespaces/web"),
    ("configmap", "x", "/registry/configmaps/x/web"),
])
def test_key_for(kind: str, namespace: str, key: str) -> None:
    assert registry.key_for(kind, namespace, "web") == key


def test_unknown_kinds_and_plurals() -> None:
    with pytest.raises(KeyError, match="gitkube has no kind 'ingresses'"):
        registry.model_for_plural("ingresses")
    with pytest.raises(KeyError, match="gitkube has no kind 'Ingress'"):
        registry.key_for("Ingress", "default", "x")


def test_plurals_and_scope() -> None:
    assert registry.model_for_plural("pods") is core.Pod
    assert registry.model_for_plural("deployments") is apps.Deployment
    assert registry.model_for_plural("nodes") is node.Node
    assert not node.Node.namespaced and not core.Namespace.namespaced
    assert {cls.plural for cls in registry.KINDS.values()} == {
        "pods", "namespaces", "configmaps", "secrets", "deployments", "replicasets", "nodes",
        "jobs", "cronjobs", "priorityclasses", "services", "endpointslices", "daemonsets",
        "statefulsets", "controllerrevisions", "persistentvolumeclaims", "persistentvolumes",
        "storageclasses", "serviceaccounts"}


@pytest.mark.parametrize("doc", [m.pod(), m.deployment(), m.replica_set()],
                         ids=["pod", "deployment", "replicaset"])
def test_from_stored_round_trips(doc: dict[str, Any]) -> None:
    obj = registry.parse_object(doc)
    assert registry.from_stored(obj.to_dict()) == obj


def test_from_stored_reads_nodes_and_unknown_kinds_fail_clearly() -> None:
    n = node.node_from_inventory(inventory.InventoryNode(name="node-1"))
    assert registry.from_stored(n.to_dict()) == n
    with pytest.raises(ValueError, match="the store holds an unknown kind 'Ingress'"):
        registry.from_stored({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress"})


def test_parse_inventory_uses_wire_names() -> None:
    inv = registry.parse_inventory({"nodes": [{"name": "n1", "ssh": {"identityFile": "~/k"}}]})
    assert inv.nodes[0].ssh.identity_file == "~/k"
    with pytest.raises(ValueError) as caught:
        registry.parse_inventory({"nodes": [{"name": "n1", "transport": "telnet"}]})
    assert "nodes[0].transport: unsupported value 'telnet'" in str(caught.value)


@pytest.mark.parametrize(("word", "plural"), [
    ("po", "pods"), ("Pod", "pods"), ("deploy", "deployments"), ("rs", "replicasets"),
    ("cj", "cronjobs"), ("no", "nodes"), ("cm", "configmaps"), ("ns", "namespaces"),
    ("svc", "services"), ("ReplicaSets", "replicasets"), ("jobs", "jobs"), ("widget", None),
])
def test_one_table_names_every_kind_as_kubectl_does(word: str, plural: str | None) -> None:
    assert registry.plural_for(word) == plural


def test_the_words_for_a_kind_are_its_name_plural_and_short_name() -> None:
    assert registry.names_for("deployments") == ["deploy", "deployment", "deployments"]
    assert registry.kind_for("replicasets") == "ReplicaSet"
