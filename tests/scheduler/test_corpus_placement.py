"""The scheduling examples of the Kubernetes website, read as Git would read them and
placed on an inventory built for each, where the documentation says they land.
"""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import core
from gitkube.clock import FakeClock
from gitkube.planning.actions import ActionKind
from gitkube.scheduler import explain, plan_scheduling
from gitkube.source import manifests, yamlload
from tests.corpus import CORPUS

from . import builders as b

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not present")

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"


def corpus_pod(path: str) -> core.Pod:
    documents, problems = yamlload.parse_documents((CORPUS / path).read_bytes(), path)
    objects, invalid = manifests.validate_documents(documents)
    assert not problems and not invalid, [str(p) for p in problems + invalid]
    [pod] = objects
    assert isinstance(pod, core.Pod)
    return pod


def node(name: str, **labels: str) -> Any:
    return b.node(name, labels={HOST: name, **labels})


def placed(*objects: Any) -> dict[str, str]:
    """Pod name → node of every BIND of one pass (and "!" + reason when it stays Pending)."""
    out = {}
    for action in plan_scheduling(b.snapshot(*objects), FakeClock()):
        out[action.target.name] = (action.node or "" if action.kind is ActionKind.BIND
                                   else "!" + action.reason)
    return out


def running(name: str, node_name: str, **labels: str) -> core.Pod:
    return b.pod(name, labels=labels, node_name=node_name, phase="Running")


def test_node_affinity_given_as_a_list_is_refused_at_its_line() -> None:
    path = "pods/pod-with-node-affinity.yaml"
    documents, problems = yamlload.parse_documents((CORPUS / path).read_bytes(), path)
    objects, invalid = manifests.validate_documents(documents)
    assert objects == []
    [problem] = problems + invalid
    assert problem.line == 8
    assert "requiredDuringSchedulingIgnoredDuringExecution" in str(problem)
    assert "must be a mapping of fields, not a list" in str(problem)


def test_required_and_preferred_node_affinity() -> None:
    pod = corpus_pod("pods/pod-with-affinity-anti-affinity.yaml")
    nodes = [node("windows", **{"kubernetes.io/os": "windows", "label-2": "key-2"}),
             node("one", **{"kubernetes.io/os": "linux", "label-1": "key-1"}),
             node("two", **{"kubernetes.io/os": "linux", "label-2": "key-2"}),
             node("plain", **{"kubernetes.io/os": "linux"})]
    assert placed(*nodes, pod) == {"with-affinity-anti-affinity": "two"}
    verdicts = {n: r for n, _, r in explain(b.snapshot(*nodes), pod)}
    assert verdicts["windows"] == ["node(s) didn't match Pod's node affinity/selector"]


def test_pod_affinity_by_zone_and_preferred_anti_affinity() -> None:
    pod = corpus_pod("pods/pod-with-pod-affinity.yaml")
    nodes = [node("a1", **{ZONE: "a"}), node("a2", **{ZONE: "a"}),
             node("b1", **{ZONE: "b"}), node("c1", **{ZONE: "c"})]
    others = [running("s1-a", "a1", security="S1"), running("s2-a", "a2", security="S2"),
              running("s1-b", "b1", security="S1")]
    # Zones a and b hold an S1 pod; a also holds S2, which the pod would rather avoid.
    assert placed(*nodes, *others, pod) == {"with-pod-affinity": "b1"}
    assert placed(*nodes, pod) == {"with-pod-affinity": (
        "!0/4 nodes are available: 4 node(s) didn't match pod affinity rules.")}


def test_toleration_exists() -> None:
    pod = corpus_pod("pods/pod-with-toleration.yaml")
    tainted = b.node("tainted", taints=[("example-key", "anything", "NoSchedule")])
    assert placed(tainted, pod) == {"nginx": "tainted"}
    plain = b.pod("plain")
    assert placed(tainted, plain) == {"plain": (
        "!0/1 nodes are available: 1 node(s) had untolerated taint {example-key: anything}.")}


def test_numeric_toleration() -> None:
    pod = corpus_pod("pods/pod-with-numeric-toleration.yaml")
    key = "servicelevel.organization.example/agreed-service-level"
    gold = b.node("gold", taints=[(key, "950", "NoSchedule")])
    bronze = b.node("bronze", taints=[(key, "800", "NoSchedule")])
    assert placed(gold, bronze, pod) == {"nginx-numeric-toleration": "gold"}


DOC_ZONES = {"node1": "zoneA", "node2": "zoneA", "node3": "zoneB", "node4": "zoneB"}


def doc_nodes(extra: dict[str, str] | None = None) -> list[Any]:
    zones = {**DOC_ZONES, **(extra or {})}
    return [b.node(n, labels={"zone": z, "node": n, HOST: n}) for n, z in zones.items()]


def doc_pods(layout: dict[str, int]) -> list[core.Pod]:
    return [running(f"{n}-{i}", n, foo="bar") for n, count in layout.items()
            for i in range(count)]


def test_topology_spread_one_constraint() -> None:
    # The documentation's picture: zoneA holds 2 pods, zoneB 1; mypod must go to zoneB.
    pod = corpus_pod("pods/topology-spread-constraints/one-constraint.yaml")
    got = placed(*doc_nodes(), *doc_pods({"node1": 1, "node2": 1, "node3": 1}), pod)
    assert got["mypod"] in ("node3", "node4")


def test_topology_spread_two_constraints() -> None:
    # zoneA 3 pods, zoneB 1 (on node3): zone says zoneB, node says node4.
    pod = corpus_pod("pods/topology-spread-constraints/two-constraints.yaml")
    got = placed(*doc_nodes(), *doc_pods({"node1": 2, "node2": 1, "node3": 1}), pod)
    assert got == {"mypod": "node4"}


def test_topology_spread_with_node_affinity() -> None:
    # zoneC is empty but excluded by the pod's node affinity, so it does not hold the
    # minimum down: zoneB (1 pod, zoneA has 2) takes the pod.
    pod = corpus_pod("pods/topology-spread-constraints/one-constraint-with-nodeaffinity.yaml")
    nodes = doc_nodes({"node5": "zoneC"})
    got = placed(*nodes, *doc_pods({"node1": 1, "node2": 1, "node3": 1}), pod)
    assert got["mypod"] in ("node3", "node4")


def test_pod_naming_its_node_is_not_scheduled_but_counted() -> None:
    pod = corpus_pod("pods/pod-nginx-specific-node.yaml")
    # nginx is bound by its spec; the scheduler leaves it, and counts it on foo-node.
    assert placed(b.node("foo-node"), pod) == {}
    one_slot = b.node("foo-node", pods="1")
    assert placed(one_slot, pod, b.pod("other")) == {
        "other": "!0/1 nodes are available: 1 Too many pods."}
