"""schemas/ matches the models, and editors' validation agrees with gitkube's."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gitkube.api import schemas
from tests.api import manifests as m


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((schemas.DEFAULT_DIR / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schemas_are_up_to_date() -> None:
    stale = schemas.stale_files(schemas.DEFAULT_DIR)
    assert stale == [], f"regenerate with: python -m gitkube.api.schemas (stale: {stale})"


def test_check_names_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert schemas.main([str(tmp_path)]) == 0
    assert schemas.main(["--check", str(tmp_path)]) == 0
    (tmp_path / "pod.json").write_text("{}\n")
    (tmp_path / "inventory.json").unlink()
    assert schemas.main(["--check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"Schemas out of date in {tmp_path}: pod.json, inventory.json." in err


def test_one_schema_per_kind() -> None:
    names = sorted(p.name for p in schemas.DEFAULT_DIR.glob("*.json"))
    assert names == ["all.json", "configmap.json", "cronjob.json", "daemonset.json",
                     "deployment.json", "inventory.json", "job.json", "namespace.json",
                     "persistentvolumeclaim.json", "pod.json", "priorityclass.json",
                     "replicaset.json", "secret.json", "service.json", "serviceaccount.json",
                     "statefulset.json", "storageclass.json"]


GOOD = [
    ("pod", "pod.json", m.pod({"containers": [m.container(resources={
        "requests": {"cpu": 0.5, "memory": "64Mi"}})]})),
    ("deployment", "deployment.json", m.deployment({"strategy": {"rollingUpdate": {
        "maxSurge": 1, "maxUnavailable": "10%"}}})),
    ("deployment-any", "all.json", m.deployment()),
    ("configmap-any", "all.json", {"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "c"}, "data": {"a": "b"}}),
    ("inventory", "inventory.json", {"cluster": "home", "nodes": [
        {"name": "n1", "address": "127.0.0.2", "ssh": {"user": "me", "identityFile": "~/k"},
         "capacity": {"cpu": "4"}}]}),
]


@pytest.mark.parametrize(("schema", "doc"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_good_manifests_validate(schema: str, doc: dict[str, Any]) -> None:
    _validator(schema).validate(doc)


BAD = [
    ("unsupported-field", "pod.json", m.pod({"containers": [m.container(tty=True)]})),
    ("bad-quantity", "pod.json", m.pod({"containers": [m.container(resources={
        "limits": {"cpu": "12Q"}})]})),
    ("port-range", "all.json", m.pod({"containers": [m.container(ports=[
        {"containerPort": 70000}])]})),
    ("percent-text", "deployment.json", m.deployment({"strategy": {"rollingUpdate": {
        "maxSurge": "5"}}})),
    ("no-kind", "all.json", {"apiVersion": "v1", "metadata": {"name": "x"}}),
    ("unsupported-kind", "all.json", {"apiVersion": "apps/v1", "kind": "StatefulSet",
                                      "metadata": {"name": "x"}}),
    ("wrong-api-version", "all.json", {**m.deployment(), "apiVersion": "extensions/v1beta1"}),
    ("inventory-typo", "inventory.json", {"nodes": [{"name": "n1", "adress": "x"}]}),
]


@pytest.mark.parametrize(("schema", "doc"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_manifests_do_not_validate(schema: str, doc: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        _validator(schema).validate(doc)
