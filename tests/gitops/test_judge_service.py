"""Pre-receive judged by the running `gitkube serve`, with real git, real hooks, a real daemon.

While `gitkube serve` runs, the hook asks it for the verdict (its log says "judged the
push"); when it does not run, or was killed and left its socket behind, the hook judges
by itself. Either way the pusher reads the same `remote:` lines: the daemon saves time,
it never changes a verdict.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from gitkube.source import judge, plumbing
from tests.fixtures.podman import BUSYBOX_IMAGE
from tests.gitops.harness import PushRepo, deployment, run, running

BROKEN = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n"


def remote_lines(pushed: subprocess.CompletedProcess[str]) -> list[str]:
    """What gitkube said in the pusher's terminal (git pads `remote:` lines with spaces)."""
    return [line.rstrip() for line in pushed.stderr.splitlines() if line.startswith("remote:")]


def config_map(name: str, value: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"value": value}}


@pytest.fixture
def repo(tmp_path: Path):
    made = PushRepo(tmp_path / "judged", "judged", [])
    made.settle()
    yield made
    made.settle()


def judged(repo: PushRepo, verdict: str) -> int:
    return repo.serve_log().count(f"judged the push to refs/heads/main: {verdict}")


def test_serve_judges_a_broken_push_and_the_hook_alone_says_exactly_the_same(repo):
    head = repo.server_head()
    repo.write("app.yaml", config_map("app", "1"))
    repo.write("broken.yaml", BROKEN)
    repo.commit("Add app and break something")

    with repo.serving("--interval", "300"):
        by_daemon = repo.push()
        assert judged(repo, "refused") == 1, repo.serve_log()
        assert (repo.state / judge.SOCKET).exists()
    by_hook = repo.push()

    assert by_daemon.returncode != 0
    assert "remote:     broken.yaml:4: metadata.name: a lowercase RFC 1123" in by_daemon.stderr
    assert "(pre-receive hook declined)" in by_daemon.stderr
    assert remote_lines(by_daemon) == remote_lines(by_hook), by_hook.stderr
    assert by_hook.returncode == by_daemon.returncode
    assert not (repo.state / judge.SOCKET).exists()
    assert repo.server_head() == head


def test_a_valid_push_judged_by_serve_is_deployed(push_repo, node):
    repo = push_repo("judged-deploy")
    repo.settle()
    with repo.serving("--interval", "300"):
        repo.write("web.yaml", deployment("web", 2, BUSYBOX_IMAGE))
        sha = repo.commit("Add web with 2 replicas")

        pushed = repo.push()

        assert pushed.returncode == 0, pushed.stderr
        assert repo.server_head() == sha
        repo.wait_for(lambda: len(running(repo.pods())) == 2)
        assert judged(repo, "accepted") == 1, repo.serve_log()


def test_a_killed_daemons_socket_is_not_in_the_way(repo):
    repo.write("broken.yaml", BROKEN)
    repo.commit("Break something")
    with repo.serving("--interval", "300") as daemon:
        first = repo.push()
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=30)
    assert (repo.state / judge.SOCKET).exists()  # left behind: nobody listens on it

    by_hook = repo.push()
    with repo.serving("--interval", "300"):  # the new daemon replaces the stale socket
        by_new_daemon = repo.push()

    assert remote_lines(first) == remote_lines(by_hook) == remote_lines(by_new_daemon)
    assert "broken.yaml:4: metadata.name:" in by_hook.stderr
    assert judged(repo, "refused") == 1, repo.serve_log()  # the log was started afresh


def test_a_request_for_another_repository_is_refused(repo, tmp_path):
    other = PushRepo(tmp_path / "other", "other", [])
    other.settle()
    update = (plumbing.ZERO_ID, other.server_head(), "refs/heads/main")
    with repo.serving("--interval", "300"):
        asked = judge.ask(repo.state, other.server.resolve(), [update], {})
        log = repo.serve_log()

    assert asked is None
    assert f"refused a judging request: This daemon judges pushes to {repo.server.resolve()} " \
           "only." in log, log
    assert "judged the push" not in log


# --------------------------------------------------------------------------- signed commits

def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@example.com",
                    "-f", str(path)], check=True, capture_output=True)
    return path


def test_the_signing_policy_is_enforced_by_the_daemon_as_by_the_hook(repo, tmp_path):
    alice = keygen(tmp_path / "alice")
    allowed = tmp_path / "allowed"
    public = alice.with_suffix(".pub").read_text().split()[:2]
    allowed.write_text(f"alice@example.com {' '.join(public)}\n")
    run("git", "config", "gitkube.allowedSigners", str(allowed), cwd=repo.server)
    repo.write("app.yaml", config_map("app", "1"))
    unsigned = repo.commit("Unsigned change")

    by_hook = repo.push()
    with repo.serving("--interval", "300"):
        by_daemon = repo.push()
        assert judged(repo, "refused") == 1, repo.serve_log()
        repo.git("reset", "-q", "--soft", "HEAD~1")
        signed = repo.commit("Signed change", "-c", "gpg.format=ssh",
                             "-c", f"user.signingkey={alice}")
        accepted = repo.push()
        assert judged(repo, "accepted") == 1, repo.serve_log()

    assert by_daemon.returncode != 0
    assert f"commit {unsigned[:12]} (Unsigned change) is not signed; every commit must be " \
           f"signed by a key listed in {allowed}" in by_daemon.stderr, by_daemon.stderr
    assert remote_lines(by_daemon) == remote_lines(by_hook), by_hook.stderr
    assert accepted.returncode == 0, accepted.stderr
    assert repo.server_head() == signed
