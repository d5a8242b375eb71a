"""Push to deploy, end to end with real git and podman: what a person sees in their terminal.

A valid push changes the pods without anyone running gitkube (first the post-receive hook's
detached pass, then `gitkube serve`); a broken push is refused with file:line in git's
output and leaves the branch and the pods as they were; rewrites and deletions are refused.
"""

from __future__ import annotations

import pytest

from tests.fixtures.podman import BUSYBOX_IMAGE
from tests.gitops.harness import deployment, node_containers, running

pytestmark = [pytest.mark.podman]


def test_a_push_deploys_without_anyone_running_gitkube(push_repo, node):
    repo = push_repo("push-hook")
    repo.write("web.yaml", deployment("web", 2, BUSYBOX_IMAGE))
    repo.commit("Add web with 2 replicas")

    pushed = repo.push()

    assert pushed.returncode == 0, pushed.stderr
    assert "remote: gitkube: no `gitkube serve` runs; started one pass" in pushed.stderr
    assert "status --watch" in pushed.stderr
    repo.wait_for(lambda: len(running(repo.pods())) == 2)
    assert len(node_containers(node, "push-hook")) == 2
    repo.settle()  # the store shows the pods before the pass commits its status
    history = repo.gitkube("history")
    assert "2 pods started on local-1" in history.stdout, history.stdout


def test_serve_applies_each_push_and_says_so_in_its_log(push_repo, node):
    repo = push_repo("push-serve")
    with repo.serving("--interval", "300") as daemon:
        repo.write("web.yaml", deployment("web", 1, BUSYBOX_IMAGE))
        repo.commit("Add web")
        pushed = repo.push()
        assert "remote: gitkube: woke `gitkube serve`" in pushed.stderr, pushed.stderr
        repo.wait_for(lambda: len(running(repo.pods())) == 1)

        repo.write("web.yaml", deployment("web", 3, BUSYBOX_IMAGE))
        repo.commit("Scale web to 3")
        assert repo.push().returncode == 0
        repo.wait_for(lambda: len(running(repo.pods())) == 3)

        again = repo.gitkube("serve")
        assert again.returncode == 1
        assert "gitkube serve already runs for this cluster" in again.stderr
        assert daemon.poll() is None
    assert daemon.returncode == 0
    log = repo.serve_log()
    assert "pass ok (new revision" in log, log
    assert log.rstrip().endswith("stopped"), log


def test_a_broken_push_is_refused_with_file_and_line_and_changes_nothing(push_repo, node):
    repo = push_repo("push-broken")
    repo.write("web.yaml", deployment("web", 1, BUSYBOX_IMAGE))
    repo.commit("Add web")
    assert repo.push().returncode == 0
    repo.wait_for(lambda: len(running(repo.pods())) == 1)
    repo.settle()
    before = node_containers(node, "push-broken")
    head = repo.server_head()

    repo.write("broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n")
    repo.write("web.yaml", deployment("web", 3, BUSYBOX_IMAGE))
    repo.commit("Scale up and break something")
    pushed = repo.push()

    assert pushed.returncode != 0
    assert "remote:     broken.yaml:4: metadata.name:" in pushed.stderr, pushed.stderr
    assert "(pre-receive hook declined)" in pushed.stderr
    assert repo.server_head() == head
    assert node_containers(node, "push-broken") == before


def test_rewrites_and_deletions_of_the_branch_are_refused(push_repo, node):
    repo = push_repo("push-rewrite")
    repo.write("config.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "settings"}, "data": {"a": "1"}})
    repo.commit("Add settings")
    assert repo.push().returncode == 0
    head = repo.server_head()

    repo.git("commit", "-q", "--amend", "-m", "Add settings, reworded")
    rewritten = repo.push("--force", "HEAD:main")
    deleted = repo.push(":main")

    assert "This push rewrites refs/heads/main" in rewritten.stderr, rewritten.stderr
    assert "Deleting refs/heads/main is refused" in deleted.stderr, deleted.stderr
    assert repo.server_head() == head
