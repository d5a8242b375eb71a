"""Fuzzing the source layer: whatever is committed, validate answers in sentences, never a crash.

Hypothesis feeds ``repo.validate_files`` (what ``gitkube validate``, ``plan``, ``apply`` and
the pre-receive hook run on a revision's files) with random YAML documents, random
manifests of the kinds gitkube knows, random mutations of the corpus manifests (values
swapped for hostile ones, keys dropped or added, text cut, lines doubled, YAML syntax
sprinkled in) and random inventories. Each answer must be objects and problems: every
problem a sentence with its file, and every accepted object something the store can hold.

The default run is bounded and repeatable (``derandomize``); for a longer hunt:

    GITKUBE_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/source/test_fuzz_validate.py
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitkube import errors
from gitkube.source import repo, yamlload
from tests.corpus import CORPUS

EXAMPLES = int(os.environ.get("GITKUBE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, database=None,
    derandomize="GITKUBE_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Values people (and attackers) put where a field is expected.
HOSTILE = [
    "", "-", "--privileged", "-oProxyCommand=x", "../../evil", "a" * 300, "busybox; rm -rf /",
    "$(touch x)", "x\ny", "Upper_Case", "0x1f", "1e999", "-1", "2147483648", "~", ".inf",
    ".nan", "y", "on", "null", "0o777", "é", "\u202e", "100%", "-5%", "1Ei", "0.5m",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(), st.text(max_size=20), st.sampled_from(HOSTILE),
)
KEYS = st.one_of(st.text(max_size=12), st.sampled_from([
    "name", "image", "replicas", "containers", "spec", "metadata", "labels", "ports",
    "containerPort", "command", "env", "value", "resources", "limits", "cpu", "memory",
    "selector", "matchLabels", "template", "volumes", "nodes", "address", "capacity",
]))
VALUES = st.recursive(
    SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                     st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=20)
KINDS = [("v1", "Pod"), ("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"),
         ("batch/v1", "Job"), ("batch/v1", "CronJob"), ("v1", "ConfigMap"), ("v1", "Secret"),
         ("v1", "Service"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
         ("v1", "Namespace"), ("scheduling.k8s.io/v1", "PriorityClass"),
         ("v1", "PersistentVolumeClaim")]
SNIPPETS = ["{", "}", "[", "]", ": ", "- ", "&a ", "*a", "<<: *a\n", "!!binary ", "!!int ",
            "\t", "---\n", "%YAML 1.1\n", "'", '"', "#", "|\n", "? ", "\x00", "\ufeff"]
INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: fuzz
nodes:
  - name: node-1
    address: 10.0.0.1
    ssh: {user: deploy, port: 22}
    labels: {disk: ssd}
    taints: [{key: dedicated, value: gpu, effect: NoSchedule}]
    capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  - name: "sim-{i}"
    transport: sim
    count: 3
"""


@cache
def corpus() -> list[tuple[str, str]]:
    """(path, text) of every corpus manifest."""
    files = sorted(p for p in CORPUS.rglob("*.y*ml"))
    return [(str(p.relative_to(CORPUS)), p.read_text(errors="replace")) for p in files]


def _check(files: dict[str, bytes]) -> None:
    """The property: objects and sentences, never an exception."""
    files.setdefault("inventory.yaml", INVENTORY.encode())
    objects, _, problems = repo.validate_files(files, keyring=None)
    for problem in problems:
        assert isinstance(problem, errors.Problem)
        assert problem.path in files, problem
        assert problem.message.strip() and problem.message[-1] in ".!?", problem
        assert "Traceback" not in problem.message
        str(problem)
    for obj in objects:
        json.dumps(obj.to_dict())  # what the store writes


def _dump(value: Any) -> bytes:
    """YAML text of ``value`` (JSON is YAML; strings beyond JSON are escaped)."""
    return json.dumps(value, default=str).encode()


@FUZZ
@given(st.lists(VALUES, min_size=1, max_size=3))
def test_random_yaml_documents(documents: list[Any]) -> None:
    _check({"random.yaml": b"\n---\n".join(_dump(d) for d in documents)})


@FUZZ
@given(st.sampled_from(KINDS), VALUES, VALUES, st.booleans())
def test_random_manifests_of_known_kinds(kind: tuple[str, str], metadata: Any, spec: Any,
                                         named: bool) -> None:
    if named and isinstance(metadata, dict):
        metadata["name"] = "web"
    document = {"apiVersion": kind[0], "kind": kind[1], "metadata": metadata, "spec": spec,
                "data": spec}
    _check({"manifest.yaml": _dump(document)})


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*at, index))
    return out


def _mutate(root: Any, path: tuple[Any, ...], how: str, new: Any) -> Any:
    if not path:
        return new
    parent = root
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "wrap":
        parent[last] = [parent[last]]
    elif how == "add" and isinstance(parent, dict):
        parent[f"{last}x"] = new
    else:
        parent[last] = new
    return root


@FUZZ
@given(st.data())
def test_mutated_corpus_manifests(data: st.DataObject) -> None:
    path, text = data.draw(st.sampled_from(corpus()), label="file")
    documents, problems = yamlload.parse_documents(text, path)
    if problems or not documents:
        _check({path: text.encode()})
        return
    trees = [json.loads(json.dumps(d.data, default=str)) for d in documents]
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="mutations")):
        index = data.draw(st.integers(min_value=0, max_value=len(trees) - 1))
        where = data.draw(st.sampled_from(_paths(trees[index])), label="where")
        how = data.draw(st.sampled_from(["replace", "delete", "wrap", "add"]), label="how")
        if not where and how in ("delete", "wrap", "add"):
            continue
        trees[index] = _mutate(trees[index], where, how, data.draw(VALUES, label="value"))
    _check({path: b"\n---\n".join(_dump(tree) for tree in trees)})


@FUZZ
@given(st.data())
def test_corpus_text_cut_doubled_and_sprinkled(data: st.DataObject) -> None:
    path, text = data.draw(st.sampled_from(corpus()), label="file")
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="edits")):
        lines = text.splitlines(keepends=True) or [""]
        at = data.draw(st.integers(min_value=0, max_value=len(lines) - 1), label="line")
        edit = data.draw(st.sampled_from(["cut", "double", "sprinkle", "indent"]), label="edit")
        if edit == "cut":
            del lines[at]
        elif edit == "double":
            lines.insert(at, lines[at])
        elif edit == "indent":
            lines[at] = " " * data.draw(st.integers(min_value=1, max_value=9)) + lines[at]
        else:
            column = data.draw(st.integers(min_value=0, max_value=len(lines[at])))
            snippet = data.draw(st.sampled_from(SNIPPETS) | st.text(max_size=5), label="what")
            lines[at] = lines[at][:column] + snippet + lines[at][column:]
        text = "".join(lines)
    _check({path: text.encode("utf-8", errors="surrogatepass")})


@FUZZ
@given(st.data())
def test_mutated_inventories(data: st.DataObject) -> None:
    (document,) = yamlload.load_documents(INVENTORY, "inventory.yaml")
    tree = json.loads(json.dumps(document.data))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
        where = data.draw(st.sampled_from(_paths(tree)), label="where")
        how = data.draw(st.sampled_from(["replace", "delete", "wrap", "add"]), label="how")
        if not where and how in ("delete", "wrap", "add"):
            continue
        tree = _mutate(tree, where, how, data.draw(VALUES, label="value"))
    _check({"inventory.yaml": _dump(tree)})


def test_the_corpus_is_there_to_mutate() -> None:
    if not CORPUS.is_dir():
        pytest.fail(f"the corpus is missing at {CORPUS}")
    assert len(corpus()) > 50
