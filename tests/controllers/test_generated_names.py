"""Names the system makes from a user's names stay valid, however long the user's names are.

A Deployment may be named with up to 242 characters and a ReplicaSet, Job or DaemonSet with
253; the pods they make are cut as Kubernetes cuts a ``generateName`` (58 characters, then
the 5 of the suffix), ControllerRevisions as ``ControllerRevisionName`` cuts them, so apply
never meets a name a node or the store refuses. A Deployment name too long for its
ReplicaSets' names, or a StatefulSet name too long for its pods' labels, is refused at
validate, never half-way through an apply.
"""

from __future__ import annotations

import pytest

from gitkube.api import batch, names, registry
from gitkube.controllers import jobpods, lowering, replicasets
from gitkube.planning.actions import ActionKind
from gitkube.reconcile import fixpoint
from tests.api import manifests as m
from tests.workloads import builders as b

from . import factories as f

LONG = ".".join(["a" * 60, "b" * 60, "c" * 60, "d" * 60, "e" * 9])  # 253 characters


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        pytest.param("web-7d4b9c-", "web-7d4b9c-x2x4z", id="short-kept"),
        pytest.param("a" * 57 + "-", "a" * 57 + "-x2x4z", id="exactly-58"),
        pytest.param("a" * 60 + "-", "a" * 58 + "x2x4z", id="cut-to-58"),
        pytest.param("a" * 57 + ".b-", "a" * 57 + ".x2x4z", id="cut-after-a-dot"),
    ],
)
def test_generated_names_are_cut_like_generate_name(base: str, expected: str) -> None:
    assert names.generated_name(base, "x2x4z") == expected


@pytest.mark.parametrize(
    ("job", "index", "expected"),
    [
        pytest.param("pi", 3, "pi-3-x2x4z", id="short-kept"),
        pytest.param("j" * 70, 12, "j" * 54 + "-12-x2x4z", id="index-kept-when-cut"),
    ],
)
def test_indexed_job_pod_names_keep_their_index(job: str, index: int, expected: str) -> None:
    assert names.indexed_generated_name(job, index, "x2x4z") == expected


def test_pods_of_a_replicaset_with_a_253_character_name_are_valid_and_distinct() -> None:
    rs = f.replicaset(LONG, 3, uid="rs-uid")
    created = f.of(replicasets.plan_replicasets(f.snapshot(rs), f.clock()), ActionKind.CREATE)
    pod_names = [a.target.name for a in created]
    assert len(set(pod_names)) == 3
    for name in pod_names:
        assert len(name) == 63 and name.startswith(LONG[:58]), name
        assert names.dns1123_subdomain_errors(name) == []


def test_pods_of_a_job_with_a_253_character_name_are_valid() -> None:
    job = batch.Job.model_validate({
        "metadata": {"name": LONG, "uid": "job-uid"},
        "spec": {"completionMode": "Indexed", "completions": 2,
                 "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}],
                                       "restartPolicy": "Never"}}}})
    for index in (None, 0, 1):
        name = jobpods.pod_name(job, 0, index)
        assert len(name) == 63 and names.dns1123_subdomain_errors(name) == [], name


def test_a_pod_with_a_253_character_name_gets_a_63_character_hostname() -> None:
    pod = f.pod(LONG, node="node-1")
    run = lowering.lower_pod(pod, f.snapshot(pod))
    assert run["hostname"] == LONG[:63]
    assert f.pod("a" * 62 + "-b", node="node-1").name == "a" * 62 + "-b"
    assert names.pod_hostname("a" * 62 + "-b") == "a" * 62  # no trailing "-", as kubelet


def test_a_deployment_name_is_at_most_242_characters() -> None:
    longest = m.deployment()
    longest["metadata"]["name"] = "a" * 242
    registry.parse_object(longest)
    too_long = m.deployment()
    too_long["metadata"]["name"] = "a" * 243
    assert m.issues(too_long) == {"metadata.name": (
        "must be no more than 242 characters: the Deployment's ReplicaSets are named "
        "<name>-<pod-template-hash>, up to 11 characters more, and a ReplicaSet's name must "
        "fit in 253")}


def test_pods_and_revisions_of_a_daemonset_with_a_253_character_name_are_valid() -> None:
    ds = b.stored({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": LONG},
                   "spec": {"selector": {"matchLabels": {"app": "agent"}},
                            "template": b.template("agent")}})
    actions = fixpoint.plan_pass(b.snapshot(ds, b.node("n1")), f.clock())
    made = {a.target.kind: a.target.name for a in actions if a.kind is ActionKind.CREATE}
    assert len(made["Pod"]) == 63 and made["Pod"].startswith(LONG[:58]), made
    assert len(made["ControllerRevision"]) <= 253, made
    for name in made.values():
        assert names.dns1123_subdomain_errors(name) == [], name


def test_a_statefulset_name_is_at_most_52_characters() -> None:
    doc = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s" * 52},
           "spec": {"selector": {"matchLabels": {"app": "db"}}, "template": b.template("db")}}
    registry.parse_object(doc)
    doc["metadata"]["name"] = "s" * 53
    assert m.issues(doc) == {"metadata.name": (
        "must be no more than 52 characters: the StatefulSet's pods are labelled "
        "controller-revision-hash=<name>-<hash>, up to 11 characters more, and a label value "
        "must fit in 63 (Kubernetes fails to create such pods)")}
