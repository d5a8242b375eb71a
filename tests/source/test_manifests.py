"""Documents → objects: field problems at their line, source annotation, duplicates."""

from __future__ import annotations

import pytest

from gitkube.api import meta
from gitkube.source import manifests, yamlload

from .source_helpers import CORPUS, POD

NEGATIVE = {
    "pods/inject/pod-multiple-secret-env-variable.yaml",
    "pods/inject/pod-single-secret-env-variable.yaml",
    "pods/pod-with-node-affinity.yaml",
}


def validate(text: str, path: str = "apps/web.yaml") -> tuple[list[meta.KubeObject], list[str]]:
    objects, problems = manifests.validate_documents(yamlload.load_documents(text, path))
    return objects, [str(p) for p in problems]


def test_valid_objects_carry_the_place_they_were_declared() -> None:
    objects, problems = validate(
        "# web\n" + POD.format(name="web") + "---\n" + POD.format(name="db")
    )
    assert problems == []
    assert [(o.name, o.metadata.annotations[meta.SOURCE_ANNOTATION]) for o in objects] == [
        ("web", "apps/web.yaml:2"),
        ("db", "apps/web.yaml:11"),
    ]


def test_a_field_problem_points_at_the_line_of_the_field() -> None:
    text = POD.format(name="web").replace("image: busybox", "image: busybox\n      bogus: 1")
    objects, problems = validate(text)
    assert objects == []
    assert len(problems) == 1
    assert problems[0].startswith("apps/web.yaml:9: spec.containers[0].bogus: ")
    assert "bogus" in problems[0].split(": ", 2)[2]


def test_a_missing_field_points_at_its_parent() -> None:
    text = POD.format(name="web").replace("      image: busybox\n", "")
    _, problems = validate(text)
    assert [p.split(": ")[0:2] for p in problems] == [
        ["apps/web.yaml:7", "spec.containers[0].image"]
    ]


def test_the_same_object_declared_twice_names_both_places() -> None:
    text = POD.format(name="web") + "---\n" + POD.format(name="web")
    objects, problems = validate(text)
    assert [o.name for o in objects] == ["web"]
    assert problems == [
        "apps/web.yaml:10: Pod default/web is declared twice, here and at apps/web.yaml:1; "
        "keep one of them."
    ]


def test_same_name_in_another_namespace_or_kind_is_not_a_duplicate() -> None:
    other = POD.format(name="web").replace("  name: web\n", "  name: web\n  namespace: prod\n")
    config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata: {a: b}\n"
    objects, problems = validate(POD.format(name="web") + "---\n" + other + "---\n" + config_map
                                 + "---\n" + NAMESPACE.format(name="prod"))
    assert problems == []
    assert [(o.kind, o.namespace, o.name) for o in objects] == [
        ("Pod", "default", "web"),
        ("Pod", "prod", "web"),
        ("ConfigMap", "default", "web"),
        ("Namespace", "", "prod"),
    ]


NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"


def in_namespace(namespace: str, name: str = "web") -> str:
    return POD.format(name=name).replace(f"  name: {name}\n",
                                         f"  name: {name}\n  namespace: {namespace}\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(in_namespace("shop"), [
            'apps/web.yaml:5: metadata.namespace: Pod shop/web is in namespace \'shop\', which '
            'no manifest of this revision declares (Kubernetes answers: namespaces "shop" not '
            'found); add a Namespace manifest for it.'], id="undeclared"),
        pytest.param(in_namespace("shop") + "---\n" + NAMESPACE.format(name="shop"), [],
                     id="declared-after-its-objects"),
        pytest.param(in_namespace("kube-system") + "---\n" + in_namespace("kube-public", "b")
                     + "---\n" + in_namespace("default", "c"), [], id="built-in"),
        pytest.param(NAMESPACE.format(name="shop") + "---\n" + POD.format(name="p").replace(
            "kind: Pod", "kind: Namespace"), [], id="cluster-scoped-kinds-have-none"),
    ],
)
def test_objects_must_be_in_a_namespace_the_revision_declares(text: str,
                                                               expected: list[str]) -> None:
    _, problems = validate(text)
    assert [p for p in problems if "namespace" in p] == expected


def test_a_namespace_manifest_that_is_itself_invalid_still_declares_its_name() -> None:
    text = in_namespace("shop") + "---\n" + NAMESPACE.format(name="shop") + "  bogus: 1\n"
    _, problems = validate(text)
    assert [p.split(": ")[1] for p in problems] == ["metadata.bogus"]


LIST = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: one}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: two
  data: {a: 1}
"""


def test_a_v1_list_is_its_items_each_at_its_own_line() -> None:
    docs, problems = manifests.unwrap_lists(yamlload.load_documents(
        POD.format(name="web") + "---\n" + LIST, "apps/list.yaml"))
    assert problems == []
    objects, invalid = manifests.validate_documents(docs)
    assert [o.name for o in objects] == ["web", "one"]
    assert [o.metadata.annotations[meta.SOURCE_ANNOTATION] for o in objects] == [
        "apps/list.yaml:1", "apps/list.yaml:13"]
    assert [str(p) for p in invalid] == [
        "apps/list.yaml:20: data.a: must be a string, not the number 1 (quote it in YAML)."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("apiVersion: v1\nkind: List\nitems: [x, {kind: Pod}]\n",
                     ["apps/list.yaml:3: items[0]: items[0] of the List is not an object; each "
                      "item is a mapping with apiVersion, kind and metadata."], id="item-not-map"),
        pytest.param("apiVersion: v2\nkind: List\nitems: []\n",
                     ["apps/list.yaml:1: apiVersion: A List is `apiVersion: v1` with `items:`, a "
                      "list of objects; this one has apiVersion 'v2' and a list of items."],
                     id="api-version"),
        pytest.param("apiVersion: v1\nkind: List\n", [
            "apps/list.yaml:1: items: A List is `apiVersion: v1` with `items:`, a list of "
            "objects; this one has apiVersion 'v1' and no list of items."], id="no-items"),
        pytest.param("apiVersion: v1\nkind: List\nitems: []\n", [], id="empty"),
    ],
)
def test_a_list_that_is_not_one_is_a_problem_at_its_line(text: str, expected: list[str]) -> None:
    docs, problems = manifests.unwrap_lists(yamlload.load_documents(text, "apps/list.yaml"))
    assert [str(p) for p in problems] == expected
    assert [d.data for d in docs] == ([{"kind": "Pod"}] if "x," in text else [])


CORPUS_FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.yaml"))


@pytest.mark.parametrize("path", CORPUS_FILES)
def test_every_corpus_document_is_accepted_or_rejected_with_a_line(path: str) -> None:
    documents, problems = yamlload.parse_documents((CORPUS / path).read_bytes(), path)
    objects, invalid = manifests.validate_documents(documents)
    problems += invalid
    if path in NEGATIVE:
        assert problems, "a broken upstream file must be rejected"
    assert all(p.path == path and p.line > 0 and p.message.endswith(".") for p in problems)
    # Nothing is silently dropped: each document is an object, or has a problem on its lines.
    accepted = {obj.metadata.annotations[meta.SOURCE_ANNOTATION] for obj in objects}
    starts = [d.line for d in documents] + [10**9]
    for doc, end in zip(documents, starts[1:], strict=True):
        rejected = any(doc.line <= p.line < end for p in problems)
        assert (f"{path}:{doc.line}" in accepted) != rejected


def test_inventory_problems_point_at_their_line() -> None:
    text = "apiVersion: gitkube.io/v1alpha1\nkind: Inventory\nnodes:\n  - name: n1\n    port: 2\n"
    docs = yamlload.load_documents(text, "inventory.yaml")
    inventory, problems = manifests.validate_inventory(docs)
    assert inventory is None
    assert [(p.line, p.field) for p in problems] == [(5, "nodes[0].port")]


def test_inventory_must_be_one_document() -> None:
    docs = yamlload.load_documents("cluster: a\n---\ncluster: b\n", "inventory.yaml")
    inventory, problems = manifests.validate_inventory(docs)
    assert inventory is None
    assert [str(p) for p in problems] == [
        "inventory.yaml:3: The inventory must be exactly one YAML document, and this file has "
        "2 documents."
    ]
