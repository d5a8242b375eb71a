"""Hostile manifests at every door: validate, plan, apply and `git push` say one sentence.

Each case is a file a careless or malicious person could commit. Every entry point must
answer with the same sentence naming file:line (no traceback, no page of `remote:` lines),
exit non-zero, and leave the cluster as it was. The node is simulated (no podman): nothing
here gets as far as a node.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from gitkube.api.inventory import InventoryNode
from tests.e2e.harness import Run
from tests.gitops.harness import LocalRepo, PushRepo

SIM_NODE = InventoryNode(name="sim-1", transport="sim")

DEEP_LISTS = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: " + "[" * 3000 \
    + "]" * 3000 + "\n"
DEEP_MAPS = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n" + "".join(
    "  " * i + "a:\n" for i in range(600)) + "  " * 600 + "b\n"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: main
          image: {image}
"""

DEEP_MESSAGE = ("Mappings and lists are nested more than 100 levels deep here; gitkube reads at "
                "most that many (no manifest needs more).")

#: name → (the file, "line: what validate says about it").
CASES: dict[str, tuple[str, str]] = {
    "3000-nested-lists": (DEEP_LISTS, f"4: {DEEP_MESSAGE}"),
    "600-nested-mappings": (DEEP_MAPS, f"105: {DEEP_MESSAGE}"),
    "replicas-beyond-int64": (
        DEPLOYMENT.format(replicas=2**63, image="busybox"),
        "6: spec.replicas: must be less than or equal to 2147483647 (the largest int32), not "
        "9223372036854775808."),
    "option-as-image": (
        DEPLOYMENT.format(replicas=1, image="--privileged"),
        "13: spec.template.spec.containers[0].image: '--privileged' is not an image reference "
        "(invalid reference format; the kubelet would refuse it with InvalidImageName): write "
        "[registry/]name[:tag][@digest], such as 'docker.io/library/busybox:1.36'."),
    "replicas-quoted": (
        DEPLOYMENT.format(replicas='"3"', image="busybox"),
        "6: spec.replicas: must be an integer, not the string '3' (write the number without "
        "quotes)."),
}



def _no_traceback(done: Run) -> str:
    text = done.out + done.err
    assert "Traceback" not in text and "bug in gitkube" not in text, text
    return text


def _objects(repo: LocalRepo) -> list[str]:
    """What the store holds, kind by kind."""
    out = []
    for kind in ("configmaps", "deployments", "replicasets", "pods", "nodes"):
        done = repo.gitkube("get", kind, "-o", "json")
        assert done.code == 0, done.err
        out += [f"{kind}/{item['metadata']['name']}" for item in json.loads(done.out)["items"]]
    return out


def _write_cases(write: Callable[[str, str], None]) -> None:
    for name, (text, _) in CASES.items():
        write(f"bad-{name}.yaml", text)


def test_validate_plan_and_apply_say_one_sentence_each_and_change_nothing(
        tmp_path: Path) -> None:
    repo = LocalRepo(tmp_path / "repo", "bad-input", [SIM_NODE])
    repo.write("good.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "good"}, "data": {"a": "1"}})
    repo.commit("A good ConfigMap")
    assert repo.gitkube("apply", "--yes").code == 0
    before = _objects(repo)
    _write_cases(repo.write)
    repo.commit("Hostile manifests")

    validated = repo.gitkube("validate")
    plan = repo.gitkube("plan")
    applied = repo.gitkube("apply", "--yes")

    assert validated.code == 1
    lines = _no_traceback(validated).splitlines()
    assert len(lines) == 1 + len(CASES), lines
    for name, (_, expected) in CASES.items():
        assert f"  bad-{name}.yaml:{expected}" in lines, (name, lines)
    # plan and apply use the last good revision, and name each problem once.
    for done in (plan, applied):
        assert done.code == 1, (done.out, done.err)
        text = _no_traceback(done)
        for name, (_, expected) in CASES.items():
            assert text.count(f"bad-{name}.yaml:{expected}") == 1, (name, text)
    assert _objects(repo) == before


def test_a_push_is_refused_with_one_sentence_each(tmp_path: Path) -> None:
    repo = PushRepo(tmp_path / "push", "bad-push", [SIM_NODE])
    repo.settle()
    head = repo.server_head()
    _write_cases(repo.write)
    repo.commit("Hostile manifests")

    pushed = repo.push()

    assert pushed.returncode != 0
    assert "Traceback" not in pushed.stderr
    remote = [line.removeprefix("remote:").strip() for line in pushed.stderr.splitlines()
              if line.startswith("remote:")]
    assert len(remote) == 3 + len(CASES), pushed.stderr  # refusing, the count, ..., unchanged
    for name, (_, expected) in CASES.items():
        assert f"bad-{name}.yaml:{expected}" in remote, (name, pushed.stderr)
    assert repo.server_head() == head


def test_the_longest_valid_names_apply_whole(tmp_path: Path) -> None:
    """A 242-character Deployment and a 253-character Job: every pod they make has a valid
    name, and the pass applies all of it (not the Deployment and ReplicaSet, then an error)."""
    repo = LocalRepo(tmp_path / "repo", "long-names", [SIM_NODE])
    deployment_name = ".".join(["a" * 60, "b" * 60, "c" * 60, "d" * 59])
    job_name = ".".join(["j" * 60, "k" * 60, "l" * 60, "m" * 60, "n" * 9])
    repo.write("web.yaml", DEPLOYMENT.format(replicas=2, image="busybox").replace(
        "name: web\n", f"name: {deployment_name}\n", 1))
    repo.write("job.yaml", {"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": job_name}, "spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}})
    repo.commit("The longest names Kubernetes allows")

    applied = repo.gitkube("apply", "--yes")

    assert applied.code == 0, applied.out + applied.err
    pods = [pod["metadata"]["name"] for pod in repo.pods()]
    assert len(pods) == 3, pods
    assert all(len(name) == 63 for name in pods), pods


def test_deleting_the_inventory_stops_nothing(tmp_path: Path) -> None:
    repo = LocalRepo(tmp_path / "repo", "no-inventory", [SIM_NODE])
    repo.write("web.yaml", DEPLOYMENT.format(replicas=2, image="busybox"))
    repo.commit("Two pods")
    assert repo.gitkube("apply", "--yes").code == 0
    before = _objects(repo)

    repo.remove("inventory.yaml")
    repo.commit("Delete the inventory")
    applied = repo.gitkube("apply", "--yes")

    assert applied.code == 1
    assert ("inventory.yaml: The revision has no inventory.yaml, so it names no nodes: applying "
            "it would stop every pod.") in _no_traceback(applied)
    assert _objects(repo) == before
    assert len([p for p in repo.pods() if p["status"].get("phase") == "Running"]) == 2
