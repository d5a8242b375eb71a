"""The status ledger written by changes only holds what the old full rendering held.

A cluster of two simulated nodes goes through a scenario (first apply, settled, scaled, a
ConfigMap and a Secret added, a Deployment removed, the ledger key replaced, the store
replaced); after every pass the branch holds exactly the files the old way makes: every
stored object rendered by ruamel's dumper, the whole tree written again. Only objects the
store wrote since the last commit are rendered, whichever process runs the pass.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from gitkube.api import keys, registry
from gitkube.reconcile import face, ledger, ledgerindex, records
from gitkube.source import status

INVENTORY = """\
apiVersion: gitkube.io/v1alpha1
kind: Inventory
cluster: ledgers
nodes:
  - name: sim-{{i}}
    count: 2
    transport: sim
    stateDir: {state}/sim-{{i}}
    labels: {{topology.kubernetes.io/zone: "zone-{{i}}"}}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: main, image: "{name}:1"}}]
"""

EXTRAS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: "on", greeting: "it's a long sentence that goes on and on, past the eightieth column"}
---
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {password: hunter2}
"""


def old_render(data: dict[str, Any]) -> bytes:
    """How the ledger rendered a file before it wrote only changes (ruamel, pure Python)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(dict(json.loads(json.dumps(data, sort_keys=True))), buffer)
    return buffer.getvalue().encode()


def old_ledger(cluster: face.Cluster) -> dict[str, bytes]:
    """The old way: every object the store holds, rendered and committed as one tree."""
    kvs, _ = cluster.home.store.range(keys.REGISTRY)
    objects = [registry.from_stored(kv.value) for kv in kvs
               if not kv.key.startswith("/registry/events/")]
    digest_key = records.ledger_key(cluster.state_dir)
    source = cluster.source_record()
    files = {ledger.path_for(o): old_render(ledger._record(o, digest_key)) for o in objects}
    summary: dict[str, Any] = {"cluster": "ledgers",
                               "sourceRevision": source["lastAppliedRevision"],
                               "objects": dict(sorted(Counter(o.plural for o in objects).items()))}
    files[ledger.SUMMARY] = old_render(summary)
    return {path.removeprefix("status/"): data for path, data in files.items()}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "cluster"
    face.init_cluster(path)
    (path / "inventory.yaml").write_text(INVENTORY.format(state=tmp_path / "nodes"))
    for name, replicas in (("web", 3), ("api", 2)):
        (path / f"{name}.yaml").write_text(DEPLOYMENT.format(name=name, replicas=replicas))
    commit(path, "two Deployments")
    return path


def commit(repo: Path, message: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for args in (["add", "-A"], ["commit", "-qm", message]):
        subprocess.run(["git", "-C", str(repo), *args], env=env, check=True)


def apply_and_compare(repo: Path) -> face.PassResult:
    with face.open_cluster(repo) as cluster:
        result = cluster.apply()
        assert result.ok, result.errors
        want = old_ledger(cluster)
    on_branch = {path.removeprefix("status/"): data
                 for path, data in status.read_status(repo).items()}
    assert on_branch == want
    return result


def test_the_ledger_written_by_changes_is_the_ledger_written_whole(repo: Path) -> None:
    first = apply_and_compare(repo)
    assert first.status_commit is not None
    apply_and_compare(repo)
    (repo / "web.yaml").write_text(DEPLOYMENT.format(name="web", replicas=4))
    (repo / "extras.yaml").write_text(EXTRAS)
    commit(repo, "web: 4; settings and db")
    apply_and_compare(repo)
    (repo / "api.yaml").unlink()
    commit(repo, "api goes")
    gone = apply_and_compare(repo)
    assert gone.status_commit is not None
    with face.open_cluster(repo) as cluster:
        (cluster.state_dir / records.LEDGER_KEY_FILE).unlink()  # a new key: new Secret digests
    rekeyed = apply_and_compare(repo)
    assert rekeyed.status_commit is not None
    assert status.status_log(repo, n=1)[0].sha == rekeyed.status_commit


def test_an_unchanged_object_is_not_rendered_again(repo: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    apply_and_compare(repo)
    apply_and_compare(repo)  # the pods' status settles
    rendered: list[str] = []
    render = ledger.render_object

    def counting(obj: Any, key: bytes) -> bytes:
        rendered.append(obj.kind)
        return render(obj, key)

    monkeypatch.setattr(ledger, "render_object", counting)
    quiet = apply_and_compare(repo)
    assert quiet.status_commit is None
    assert rendered == []


def test_a_ledger_changed_by_someone_else_is_put_right(repo: Path) -> None:
    apply_and_compare(repo)
    tip = status.tip(repo)
    assert tip is not None
    files = status.read_status(repo)
    path = next(p for p in files if p.startswith("status/deployments/"))
    forged = status.write_status(repo, {**files, path: b"forged: true\n"}, "by hand")
    assert forged is not None
    fixed = apply_and_compare(repo)
    assert fixed.status_commit is not None


def test_a_new_store_renders_everything_once_and_commits_what_differs(repo: Path) -> None:
    apply_and_compare(repo)
    apply_and_compare(repo)
    with face.open_cluster(repo) as cluster:
        state = cluster.state_dir
        index = ledgerindex.load(state, records.ledger_key(state))
    assert index.tip == status.tip(repo) and index.files
    for leftover in state.glob("store.sqlite*"):
        leftover.unlink()  # the store is moved aside: the next pass makes a fresh one from Git
    apply_and_compare(repo)
