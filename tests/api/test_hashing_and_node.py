"""Template hashes are stable and name-safe; Nodes are built from the inventory."""

from __future__ import annotations

import pytest

from gitkube.api import apps, hashing, inventory, node, registry
from tests.api import manifests as m


def _template(image: str = "nginx:1.25") -> apps.PodTemplateSpec:
    obj = registry.parse_object(m.deployment(containers=[m.container(image=image)]))
    assert isinstance(obj, apps.Deployment)
    return obj.spec.template


def test_fnv32a_known_values() -> None:
    assert hashing.fnv32a(b"") == 0x811C9DC5
    assert hashing.fnv32a(b"a") == 0xE40C292C
    assert hashing.fnv32a(b"foobar") == 0xBF9CF968


def test_safe_encode_uses_kubernetes_alphabet() -> None:
    # rand.SafeEncodeString maps each byte modulo the 26-letter alphabet.
    assert hashing.safe_encode("0123456789") == "456789bcdf"


def test_pod_template_hash_is_stable_and_changes_with_the_template() -> None:
    first = hashing.pod_template_hash(_template())
    assert first == hashing.pod_template_hash(_template())
    assert first == hashing.pod_template_hash(_template().to_dict())
    assert first != hashing.pod_template_hash(_template("nginx:1.26"))
    assert 1 <= len(first) <= 10
    assert set(first) <= set(hashing.ALPHABET)


def test_collision_count_changes_the_hash() -> None:
    template = _template()
    assert hashing.pod_template_hash(template, 1) != hashing.pod_template_hash(template)
    assert hashing.pod_template_hash(template, 1) != hashing.pod_template_hash(template, 2)


def test_key_order_does_not_change_hashes() -> None:
    assert hashing.stable_hash({"a": 1, "b": [1, 2]}) == hashing.stable_hash({"b": [1, 2], "a": 1})
    assert hashing.stable_hash({"a": 1}) != hashing.stable_hash({"a": 2})


@pytest.mark.parametrize("length", [5, 10, 20])
def test_stable_hash_length(length: int) -> None:
    digest = hashing.stable_hash("x", length)
    assert len(digest) == length and set(digest) <= set(hashing.ALPHABET)


def test_node_from_inventory() -> None:
    inv = inventory.InventoryNode(
        name="node-1", address="127.0.0.2", labels={"disktype": "ssd"},
        taints=[inventory.Taint(key="dedicated", value="gpu", effect="NoSchedule")],
        capacity={"cpu": "4", "memory": "8Gi"}, unschedulable=True)
    n = node.node_from_inventory(inv)
    assert n.key == "/registry/nodes/node-1"
    assert n.metadata.labels == {"kubernetes.io/hostname": "node-1", "disktype": "ssd"}
    assert n.spec.unschedulable
    assert [(t.key, t.value, t.effect) for t in n.spec.taints] == [
        ("dedicated", "gpu", "NoSchedule")]
    assert n.status.capacity == n.status.allocatable == {"cpu": "4", "memory": "8Gi"}
    assert [(a.type, a.address) for a in n.status.addresses] == [
        ("InternalIP", "127.0.0.2"), ("Hostname", "node-1")]
    assert not n.ready
    assert n.check() == []
