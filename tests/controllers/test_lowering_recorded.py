"""Lowering gives exactly what it gave before it read typed models: the same PodRun, hashes too.

``data/lowering_recorded.jsonl.gz`` holds every distinct call of ``lower_pod`` and
``confighash.env_config_hash`` made by the fast suite, the podman/ssh suites of tests/cli,
tests/e2e, tests/gitops and tests/batch, and by lowering every Pod and pod template of the
corpus (bound and unbound, with and without its ConfigMaps and Secrets), recorded from the
dict-based lowering this package replaced: the pod, the objects it read from the snapshot,
and the PodRun (or the LoweringError) it returned. A changed ``hash`` replaces every
running pod after an upgrade, so a difference here is a bug unless it is meant; then
re-record the file and say so in the commit.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from gitkube.api import core, registry
from gitkube.controllers import confighash, lowering
from gitkube.planning.snapshot import Snapshot, Stored

RECORDED = Path(__file__).parent / "data" / "lowering_recorded.jsonl.gz"


def _cases(fn: str) -> list[dict[str, Any]]:
    with gzip.open(RECORDED, "rt", encoding="utf-8") as lines:
        return [case for case in map(json.loads, lines) if case["fn"] == fn]


def _snapshot(case: dict[str, Any], *extra: core.Pod) -> Snapshot:
    objects = [registry.from_stored(doc) for doc in case["objects"]]
    return Snapshot(revision=1, objects={o.key: Stored(o, 1) for o in [*objects, *extra]})


def _id(case: dict[str, Any]) -> str:
    pod = case.get("pod", {}).get("metadata", {})
    return f"{pod.get('namespace', '')}/{pod.get('name', '')}"


LOWERED = _cases("lower_pod")
HASHED = _cases("env_config_hash")


def test_the_recording_covers_what_lowering_does() -> None:
    runs = [c["run"] for c in LOWERED if "run" in c]
    containers = [k for run in runs for c in run["containers"] for k in c]
    assert len(runs) > 300 and sum("error" in c for c in LOWERED) > 20
    assert {"files", "mounts", "security", "livenessProbe", "readinessProbe", "postStart",
            "preStop", "ports", "cpuLimitMillis"} <= set(containers)
    assert {"initContainers", "volumes", "dns", "sysctls", "fsGroup", "owner"} <= {
        k for run in runs for k in run}


@pytest.mark.parametrize("case", LOWERED, ids=[_id(c) for c in LOWERED])
def test_lowering_a_pod_gives_the_recorded_run(case: dict[str, Any]) -> None:
    pod = registry.from_stored(case["pod"])
    assert isinstance(pod, core.Pod)
    try:
        run: Any = lowering.lower_pod(pod, _snapshot(case, pod))
    except lowering.LoweringError as exc:
        assert case.get("error") == [exc.reason, exc.message]
        return
    assert json.loads(json.dumps(run)) == case.get("run")


@pytest.mark.parametrize("case", HASHED)
def test_the_config_hash_of_a_template_is_the_recorded_one(case: dict[str, Any]) -> None:
    spec = core.PodSpec.model_validate(case["spec"])
    assert confighash.env_config_hash(spec, _snapshot(case), case["namespace"]) == case["digest"]
