"""Node affinity, inter-pod affinity and comparison tolerations, one table each.

Cases follow Kubernetes' documented behaviour ("Assigning Pods to Nodes",
"Taints and Tolerations") and kube-scheduler's plugin tests; the reasons are the
sentences ``gitkube describe pod`` shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from gitkube.clock import FakeClock
from gitkube.planning.actions import ActionKind
from gitkube.scheduler import cluster, explain, plan_scheduling
from gitkube.scheduler.plugins import interpodaffinity, nodeaffinity

from . import builders as b

SELECTOR = "node(s) didn't match Pod's node affinity/selector"
AFFINITY = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"
HOST = "kubernetes.io/hostname"


def required(*terms: list[dict[str, Any]], fields: list[dict[str, Any]] | None = None
             ) -> dict[str, Any]:
    """Required node affinity: one nodeSelectorTerm per argument (ORed)."""
    node_terms: list[dict[str, Any]] = [{"matchExpressions": t} for t in terms]
    if fields is not None:
        node_terms.append({"matchFields": fields})
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": node_terms}}}


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": operator, "values": list(values)}


def fits(labels: dict[str, str], affinity: dict[str, Any], *, name: str = "n1",
         selector: dict[str, str] | None = None) -> list[str]:
    node = b.node(name, labels=labels)
    candidate = b.pod("candidate", affinity=affinity, node_selector=selector)
    [(_, _, reasons)] = explain(b.snapshot(node), candidate)
    return reasons


@pytest.mark.parametrize(
    ("labels", "affinity", "expected"),
    [
        pytest.param({"disktype": "ssd"}, required([expr("disktype", "In", "ssd", "nvme")]), [],
                     id="in-matches"),
        pytest.param({"disktype": "hdd"}, required([expr("disktype", "In", "ssd")]), [SELECTOR],
                     id="in-other-value"),
        pytest.param({}, required([expr("disktype", "In", "ssd")]), [SELECTOR],
                     id="in-missing-label"),
        pytest.param({"zone": "c"}, required([expr("zone", "NotIn", "a", "b")]), [],
                     id="notin-other-value"),
        pytest.param({}, required([expr("zone", "NotIn", "a")]), [], id="notin-missing-label"),
        pytest.param({"zone": "a"}, required([expr("zone", "NotIn", "a")]), [SELECTOR],
                     id="notin-listed"),
        pytest.param({"gpu": ""}, required([expr("gpu", "Exists")]), [], id="exists"),
        pytest.param({}, required([expr("gpu", "Exists")]), [SELECTOR], id="exists-missing"),
        pytest.param({}, required([expr("gpu", "DoesNotExist")]), [], id="does-not-exist"),
        pytest.param({"cores": "8"}, required([expr("cores", "Gt", "4")]), [], id="gt"),
        pytest.param({"cores": "4"}, required([expr("cores", "Gt", "4")]), [SELECTOR],
                     id="gt-equal-is-not-greater"),
        pytest.param({"cores": "2"}, required([expr("cores", "Lt", "4")]), [], id="lt"),
        pytest.param({"cores": "many"}, required([expr("cores", "Gt", "4")]), [SELECTOR],
                     id="gt-label-not-a-number"),
        pytest.param({"a": "1", "b": "2"},
                     required([expr("a", "In", "1"), expr("b", "In", "3")]), [SELECTOR],
                     id="expressions-are-anded"),
        pytest.param({"b": "3"},
                     required([expr("a", "In", "1")], [expr("b", "In", "3")]), [],
                     id="terms-are-ored"),
        pytest.param({}, required(fields=[expr("metadata.name", "In", "n1")]), [],
                     id="match-fields-name"),
        pytest.param({}, required(fields=[expr("metadata.name", "NotIn", "n1")]), [SELECTOR],
                     id="match-fields-name-notin"),
        pytest.param({"disktype": "ssd"}, required([]), [SELECTOR], id="empty-term-matches-none"),
    ],
)
def test_required_node_affinity(labels: dict[str, str], affinity: dict[str, Any],
                                expected: list[str]) -> None:
    assert fits(labels, affinity) == expected


def test_node_selector_and_affinity_must_both_hold() -> None:
    affinity = required([expr("zone", "In", "a")])
    assert fits({"zone": "a"}, affinity, selector={"disk": "ssd"}) == [SELECTOR]
    assert fits({"zone": "a", "disk": "ssd"}, affinity, selector={"disk": "ssd"}) == []


def preferred(*weighted: tuple[int, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": w, "preference": {"matchExpressions": e}} for w, e in weighted]}}


def node_scores(plugin_cls: Any, labels: list[dict[str, str]], pod: Any,
                bound: Sequence[Any] = ()) -> list[int] | None:
    infos = [cluster.node_info(b.node(f"n{i}", labels={HOST: f"n{i}", **kw}))
             for i, kw in enumerate(labels)]
    state = cluster.ClusterState.of(infos, [cluster.pod_info(p) for p in bound])
    plugin = plugin_cls(state)
    info = cluster.pod_info(pod)
    if not plugin.relevant(info):
        return None
    result: list[int] = plugin.score(info, state.nodes)
    return result


@pytest.mark.parametrize(
    ("labels", "affinity", "expected"),
    [
        # The corpus' pod-with-affinity-anti-affinity: weights 1 (label-1) and 50 (label-2).
        pytest.param([{"label-1": "key-1"}, {"label-2": "key-2"},
                      {"label-1": "key-1", "label-2": "key-2"}, {}],
                     preferred((1, [expr("label-1", "In", "key-1")]),
                               (50, [expr("label-2", "In", "key-2")])),
                     [1, 98, 100, 0], id="weights-summed-and-scaled-by-the-best"),
        pytest.param([{}, {}], preferred((5, [expr("x", "Exists")])), [0, 0],
                     id="nobody-matches"),
        pytest.param([{"x": "1"}], {}, None, id="no-preferences-skips"),
    ],
)
def test_preferred_node_affinity(labels: list[dict[str, str]], affinity: dict[str, Any],
                                 expected: list[int] | None) -> None:
    pod = b.pod("candidate", affinity=affinity or None)
    assert node_scores(nodeaffinity.PreferredNodeAffinity, labels, pod) == expected


def term(labels: dict[str, str], key: str = HOST, **extra: Any) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": labels}, "topologyKey": key, **extra}


def pod_affinity(kind: str, *terms: dict[str, Any]) -> dict[str, Any]:
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


ZONES = [{"zone": "a"}, {"zone": "a"}, {"zone": "b"}]


def verdicts(candidate: Any, placed: list[tuple[int, Any]], labels: list[dict[str, str]] = ZONES,
             ) -> list[list[str]]:
    nodes = [b.node(f"n{i}", labels={HOST: f"n{i}", **kw}) for i, kw in enumerate(labels)]
    bound = [p.model_copy(update={"spec": p.spec.model_copy(update={"node_name": f"n{i}"})})
             for i, p in placed]
    return [reasons for _, _, reasons in explain(b.snapshot(*nodes, *bound), candidate)]


WEB = {"app": "web"}
CACHE = {"app": "cache"}


@pytest.mark.parametrize(
    ("candidate", "placed", "expected"),
    [
        pytest.param(b.pod("c", labels=WEB, affinity=pod_affinity("podAffinity",
                                                                  term(CACHE, "zone"))),
                     [(0, b.pod("cache", labels=CACHE))], [[], [], [AFFINITY]],
                     id="affinity-same-zone-as-the-cache"),
        pytest.param(b.pod("c", labels=WEB, affinity=pod_affinity("podAffinity",
                                                                  term(CACHE, "zone"))),
                     [], [[AFFINITY]] * 3, id="affinity-nothing-to-be-near"),
        pytest.param(b.pod("c", labels=CACHE, affinity=pod_affinity("podAffinity",
                                                                    term(CACHE, "zone"))),
                     [], [[], [], []], id="affinity-first-of-a-group-that-attracts-itself"),
        pytest.param(b.pod("c", labels=CACHE, affinity=pod_affinity("podAffinity",
                                                                    term(CACHE, "rack"))),
                     [], [[AFFINITY]] * 3, id="affinity-needs-the-topology-label"),
        pytest.param(b.pod("c", labels=WEB, affinity=pod_affinity("podAntiAffinity",
                                                                  term(WEB))),
                     [(1, b.pod("web-0", labels=WEB))], [[], [ANTI], []],
                     id="anti-affinity-one-per-node"),
        pytest.param(b.pod("c", labels=WEB, affinity=pod_affinity("podAntiAffinity",
                                                                  term(WEB, "zone"))),
                     [(1, b.pod("web-0", labels=WEB))], [[ANTI], [ANTI], []],
                     id="anti-affinity-one-per-zone"),
        pytest.param(b.pod("c", labels=WEB, affinity=pod_affinity("podAntiAffinity",
                                                                  term(WEB))),
                     [(1, b.pod("web-0", labels=WEB, namespace="other"))], [[], [], []],
                     id="anti-affinity-looks-in-its-own-namespace"),
        pytest.param(b.pod("c", labels=WEB, affinity=pod_affinity("podAntiAffinity", term(
                         WEB, namespaces=["other"]))),
                     [(1, b.pod("web-0", labels=WEB, namespace="other"))], [[], [ANTI], []],
                     id="anti-affinity-in-named-namespaces"),
        pytest.param(b.pod("c", labels=WEB),
                     [(0, b.pod("lonely", labels=CACHE, affinity=pod_affinity(
                         "podAntiAffinity", term(WEB, "zone"))))],
                     [[EXISTING], [EXISTING], []], id="existing-pods-anti-affinity-is-symmetric"),
        pytest.param(b.pod("c", labels=WEB, affinity=pod_affinity("podAntiAffinity",
                                                                  {"topologyKey": HOST})),
                     [(0, b.pod("web-0", labels=WEB))], [[], [], []],
                     id="no-label-selector-matches-no-pod"),
    ],
)
def test_inter_pod_affinity_filter(candidate: Any, placed: list[tuple[int, Any]],
                                   expected: list[list[str]]) -> None:
    assert verdicts(candidate, placed) == expected


def test_anti_affinity_spreads_a_deployment_one_per_node() -> None:
    nodes = [b.node(f"n{i}", labels={HOST: f"n{i}"}) for i in range(3)]
    anti = pod_affinity("podAntiAffinity", term(WEB))
    pods = [b.pod(f"web-{i}", labels=WEB, affinity=anti, created=i) for i in range(4)]
    actions = plan_scheduling(b.snapshot(*nodes, *pods), FakeClock())
    assert sorted(a.node or "" for a in actions if a.kind is ActionKind.BIND) == ["n0", "n1", "n2"]
    [stuck] = [a for a in actions if a.kind is ActionKind.UNSCHEDULABLE]
    assert stuck.reason == f"0/3 nodes are available: 3 {ANTI}."


def weighted(kind: str, weight: int, labels: dict[str, str], key: str = "zone"
             ) -> dict[str, Any]:
    return {kind: {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": weight, "podAffinityTerm": term(labels, key)}]}}


@pytest.mark.parametrize(
    ("candidate", "placed", "expected"),
    [
        pytest.param(b.pod("c", affinity=weighted("podAffinity", 10, CACHE)),
                     [b.pod("cache", labels=CACHE, node_name="n2")], [0, 0, 100],
                     id="preferred-affinity-toward-the-zone"),
        pytest.param(b.pod("c", affinity=weighted("podAntiAffinity", 10, CACHE)),
                     [b.pod("cache", labels=CACHE, node_name="n2")], [100, 100, 0],
                     id="preferred-anti-affinity-away-from-the-zone"),
        pytest.param(b.pod("c", labels=WEB),
                     [b.pod("cache", labels=CACHE, node_name="n0",
                            affinity=pod_affinity("podAffinity", term(WEB, "zone")))],
                     [100, 100, 0], id="existing-required-affinity-attracts-with-weight-1"),
        pytest.param(b.pod("c", labels=WEB),
                     [b.pod("cache", labels=CACHE, node_name="n0",
                            affinity=weighted("podAntiAffinity", 7, WEB))],
                     [0, 0, 100], id="existing-preferred-anti-affinity-repels"),
        pytest.param(b.pod("c", labels=WEB), [], None, id="nothing-to-score-skips"),
    ],
)
def test_inter_pod_affinity_score(candidate: Any, placed: list[Any],
                                  expected: list[int] | None) -> None:
    got = node_scores(interpodaffinity.PreferredInterPodAffinity, ZONES, candidate, placed)
    assert got == expected


TAINT = "servicelevel.organization.example/agreed-service-level"


@pytest.mark.parametrize(
    ("operator", "toleration", "taint", "tolerated"),
    [
        # The corpus' pod-with-numeric-toleration: Gt 900 tolerates a taint above 900.
        pytest.param("Gt", "900", "950", True, id="gt-taint-above"),
        pytest.param("Gt", "900", "900", False, id="gt-taint-equal"),
        pytest.param("Gt", "900", "800", False, id="gt-taint-below"),
        pytest.param("Lt", "900", "800", True, id="lt-taint-below"),
        pytest.param("Lt", "900", "950", False, id="lt-taint-above"),
        pytest.param("Gt", "900", "high", False, id="taint-not-a-number"),
        pytest.param("Gt", "-5", "0", True, id="negative-values"),
    ],
)
def test_comparison_tolerations(operator: str, toleration: str, taint: str,
                                tolerated: bool) -> None:
    node = b.node("n1", taints=[(TAINT, taint, "NoSchedule")])
    candidate = b.pod("c", tolerations=[{"key": TAINT, "operator": operator,
                                         "value": toleration, "effect": "NoSchedule"}])
    [(_, fits_, reasons)] = explain(b.snapshot(node), candidate)
    assert fits_ == tolerated
    if not tolerated:
        assert reasons == [f"node(s) had untolerated taint {{{TAINT}: {taint}}}"]


def test_toleration_seconds_still_tolerates_no_execute_for_placement() -> None:
    node = b.node("n1", taints=[("drain", None, "NoExecute")])
    candidate = b.pod("c", tolerations=[{"key": "drain", "operator": "Exists",
                                         "effect": "NoExecute", "toleration_seconds": 30}])
    assert explain(b.snapshot(node), candidate) == [("n1", True, [])]
