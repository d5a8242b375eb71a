"""Signed commits: with an allowed-signers file, only commits signed by those keys get in.

Real git, real `ssh-keygen` signatures (`gpg.format=ssh`), real pre-receive hook; the cluster
has no nodes (nothing here needs podman).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.gitops.harness import PushRepo, run


def keygen(path: Path, comment: str) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True)
    return path


def signing(key: Path) -> tuple[str, ...]:
    return ("-c", "gpg.format=ssh", "-c", f"user.signingkey={key}")


def config_map(name: str, value: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"value": value}}


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    made = {name: keygen(tmp_path / name, f"{name}@example.com")
            for name in ("alice", "bob", "mallory")}
    for name, people in (("allowed", ("alice", "bob")), ("prod", ("alice",))):
        lines = [f"{who}@example.com {' '.join((tmp_path / f'{who}.pub').read_text().split()[:2])}"
                 for who in people]
        (tmp_path / name).write_text("\n".join(lines) + "\n")
        made[name] = tmp_path / name
    return made


@pytest.fixture
def signed_repo(tmp_path: Path, keys: dict[str, Path]):
    repo = PushRepo(tmp_path / "signed", "signed", [])
    run("git", "config", "gitkube.allowedSigners", str(keys["allowed"]), cwd=repo.server)
    run("git", "config", "gitkube.pathSigners", f"prod/ {keys['prod']}", cwd=repo.server)
    yield repo
    repo.settle()


def test_an_unsigned_push_is_refused_and_a_signed_one_accepted(signed_repo, keys):
    repo = signed_repo
    head = repo.server_head()
    repo.write("app/config.yaml", config_map("app", "1"))
    unsigned = repo.commit("Unsigned change")

    refused = repo.push()

    assert refused.returncode != 0
    assert f"commit {unsigned[:12]} (Unsigned change) is not signed; every commit must be " \
           f"signed by a key listed in {keys['allowed']}" in refused.stderr, refused.stderr
    assert repo.server_head() == head

    repo.git("reset", "-q", "--soft", "HEAD~1")
    signed = repo.commit("Signed change", *signing(keys["bob"]))
    accepted = repo.push()
    assert accepted.returncode == 0, accepted.stderr
    assert repo.server_head() == signed


def test_a_key_not_in_the_file_is_refused(signed_repo, keys):
    repo = signed_repo
    repo.write("app/config.yaml", config_map("app", "2"))
    repo.commit("Signed by a stranger", *signing(keys["mallory"]))

    refused = repo.push()

    assert "is signed by a key that is not allowed" in refused.stderr, refused.stderr
    assert "(pre-receive hook declined)" in refused.stderr


def test_only_the_prod_signers_may_change_prod(signed_repo, keys):
    repo = signed_repo
    repo.write("prod/config.yaml", config_map("prod", "1"))
    repo.commit("Bob changes prod", *signing(keys["bob"]))

    refused = repo.push()
    assert f"changes to prod/ must be signed by a key listed in {keys['prod']}" in refused.stderr

    repo.git("reset", "-q", "--soft", "HEAD~1")
    repo.commit("Alice changes prod", *signing(keys["alice"]))
    assert repo.push().returncode == 0


def test_the_engine_never_applies_an_unverified_revision(signed_repo, keys):
    """A commit that did not come through the hook (fetched into the server, say) is refused
    by the pass, which stays at the last verified revision and says why."""
    repo = signed_repo
    repo.write("app/config.yaml", config_map("app", "1"))
    repo.commit("Signed", *signing(keys["alice"]))
    assert repo.push().returncode == 0
    repo.settle()
    assert repo.gitkube("reconcile", "--wait").returncode == 0

    repo.write("app/config.yaml", config_map("app", "2"))
    sneaked = repo.commit("Unsigned, fetched past the hook")
    fetched = run("git", "fetch", "-q", str(repo.work), "HEAD:refs/heads/main", cwd=repo.server)
    assert fetched.returncode == 0, fetched.stderr

    refused = repo.gitkube("reconcile", "--wait")
    status = " ".join(repo.gitkube("status").stdout.split())
    app = json.loads(repo.gitkube("get", "configmaps", "app", "-o", "json").stdout)

    assert refused.returncode == 1
    assert f"commit {sneaked[:12]}: is not signed" in refused.stderr, refused.stderr
    assert f"newest commit {sneaked[:12]} was not applied: commit {sneaked[:12]}: is not " \
           "signed" in status, status
    assert app["data"]["value"] == "1"
