"""Reading a revision from a real repository: committed content only, valid as a whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.api import meta
from gitkube.source import repo

from .source_helpers import INVENTORY, POD, WorkRepo


def names(revision: repo.Revision) -> list[str]:
    return sorted(obj.name for obj in revision.objects)


def test_a_revision_holds_the_objects_the_inventory_and_the_subject(work_repo: WorkRepo) -> None:
    sha = work_repo.commit(
        "Add web and db\n\nwith a body",
        {
            "inventory.yaml": INVENTORY,
            "apps/web.yaml": POD.format(name="web"),
            "apps/db.yml": POD.format(name="db") + "---\n" + POD.format(name="cache"),
            "README.md": "not a manifest\n",
        },
    )
    revision = repo.load_revision(work_repo.path, "main")
    assert revision.sha == sha
    assert revision.valid and revision.problems == []
    assert names(revision) == ["cache", "db", "web"]
    assert revision.inventory is not None
    assert [node.name for node in revision.inventory.nodes] == ["node-1"]
    assert revision.message == "Add web and db"
    assert revision.files == 3
    sources = sorted(o.metadata.annotations[meta.SOURCE_ANNOTATION] for o in revision.objects)
    assert sources == ["apps/db.yml:1", "apps/db.yml:10", "apps/web.yaml:1"]
    assert repo.require_valid(revision) is revision


def test_only_committed_content_counts(work_repo: WorkRepo) -> None:
    sha = work_repo.commit("web", {"web.yaml": POD.format(name="web")})
    work_repo.write("web.yaml", "this: [is broken\n")
    work_repo.write("new.yaml", POD.format(name="new"))
    work_repo.write("staged.yaml", POD.format(name="staged"))
    work_repo.git("add", "staged.yaml")
    with repo.SourceRepo(work_repo.path) as source:
        revision = source.read_revision(source.resolve())
    assert revision.sha == sha
    assert names(revision) == ["web"]
    assert revision.problems == []


def test_hidden_paths_are_skipped(work_repo: WorkRepo) -> None:
    work_repo.commit(
        "hidden",
        {
            "web.yaml": POD.format(name="web"),
            ".github/workflows/ci.yaml": "on: push\n",
            "apps/.draft.yaml": "broken: [\n",
            ".hidden.yml": "broken: [\n",
        },
    )
    revision = repo.load_revision(work_repo.path)
    assert names(revision) == ["web"]
    assert revision.problems == []
    assert revision.files == 2  # web.yaml and inventory.yaml


def test_one_broken_file_makes_the_whole_revision_invalid(work_repo: WorkRepo) -> None:
    sha = work_repo.commit(
        "break",
        {
            "inventory.yaml": INVENTORY,
            "a-good.yaml": POD.format(name="good"),
            "b-broken.yaml": POD.format(name="broken") + "      image: twice\n",
            "c-wrong.yaml": POD.format(name="wrong").replace("image: busybox", "image: 5"),
        },
    )
    revision = repo.load_revision(work_repo.path)
    assert not revision.valid
    assert [(p.path, p.line) for p in revision.problems] == [
        ("b-broken.yaml", 9),
        ("c-wrong.yaml", 8),
    ]
    with pytest.raises(errors.ManifestError) as raised:
        repo.require_valid(revision)
    assert raised.value.revision == sha
    assert raised.value.problems == revision.problems
    message = str(raised.value)
    assert f"at {sha[:12]} have 2 problems; nothing of this revision was applied" in message
    assert 'b-broken.yaml:9: The key "image" appears twice' in message
    assert "c-wrong.yaml:8: spec.containers[0].image:" in message


def test_an_object_declared_in_two_files(work_repo: WorkRepo) -> None:
    work_repo.commit("dup", {"a.yaml": POD.format(name="web"), "b/c.yaml": POD.format(name="web")})
    revision = repo.load_revision(work_repo.path)
    assert [str(p) for p in revision.problems] == [
        "b/c.yaml:1: Pod default/web is declared twice, here and at a.yaml:1; keep one of them."
    ]


def test_inventory_problems_are_reported_with_file_and_line(work_repo: WorkRepo) -> None:
    work_repo.commit("inv", {"inventory.yaml": INVENTORY.replace("local", "carrier-pigeon")})
    revision = repo.load_revision(work_repo.path)
    assert revision.inventory is None
    assert [(p.path, p.line, p.field) for p in revision.problems] == [
        ("inventory.yaml", 6, "nodes[0].transport")
    ]


def test_only_the_root_inventory_is_the_inventory(work_repo: WorkRepo) -> None:
    (work_repo.path / "inventory.yaml").unlink()
    work_repo.commit("nested", {"sub/inventory.yaml": INVENTORY})
    revision = repo.load_revision(work_repo.path)
    assert revision.inventory is None
    assert [(p.path, p.field) for p in revision.problems] == [
        ("inventory.yaml", ""), ("sub/inventory.yaml", "kind")]


def test_a_revision_without_an_inventory_is_invalid(work_repo: WorkRepo) -> None:
    work_repo.commit("web", {"web.yaml": POD.format(name="web")})
    work_repo.git("rm", "-q", "inventory.yaml")
    work_repo.commit("Delete the inventory")
    revision = repo.load_revision(work_repo.path)
    assert not revision.valid
    assert [str(p) for p in revision.problems] == [
        "inventory.yaml: The revision has no inventory.yaml, so it names no nodes: applying it "
        "would stop every pod. Restore the file (an inventory with `nodes: []` is how to say "
        "there are none)."]


def test_an_inventory_with_no_nodes_is_valid(work_repo: WorkRepo) -> None:
    work_repo.commit("none", {"inventory.yaml": INVENTORY.split("nodes:")[0] + "nodes: []\n"})
    revision = repo.load_revision(work_repo.path)
    assert revision.valid and revision.inventory is not None
    assert revision.inventory.nodes == []


def test_symbolic_links_are_refused(work_repo: WorkRepo) -> None:
    work_repo.write("real.txt", POD.format(name="web"))
    (work_repo.path / "link.yaml").symlink_to("real.txt")
    work_repo.commit("link")
    revision = repo.load_revision(work_repo.path)
    assert [(p.path, "symbolic link" in p.message) for p in revision.problems] == [
        ("link.yaml", True)
    ]


def test_bare_repository_and_history_questions(
    make_repo: Callable[[str], WorkRepo], tmp_path: Path
) -> None:
    work = make_repo("work")
    first = work.commit("first", {"web.yaml": POD.format(name="web")})
    second = work.commit("second", {"db.yaml": POD.format(name="db")})
    bare = tmp_path / "cluster.git"
    work.git("clone", "--quiet", "--bare", str(work.path), str(bare))
    with repo.SourceRepo(bare) as source:
        assert source.resolve("main") == second
        assert source.head_of("main") == second
        assert source.head_of("gitkube/status") is None
        assert source.commit_subject(first) == "first"
        assert source.is_ancestor(first, second)
        assert not source.is_ancestor(second, first)
        assert names(source.read_revision(first)) == ["web"]
        assert names(source.read_revision(second)) == ["db", "web"]


def test_git_failures_are_source_errors(work_repo: WorkRepo, tmp_path: Path) -> None:
    with pytest.raises(errors.SourceError, match="is not a Git repository"):
        repo.SourceRepo(tmp_path / "nowhere")
    with pytest.raises(errors.SourceError, match="'main' does not name a commit"):
        repo.load_revision(work_repo.path, "main")  # no commit yet
    work_repo.commit("one")
    with (
        repo.SourceRepo(work_repo.path) as source,
        pytest.raises(errors.SourceError, match="Commit 0123456789ab is not in"),
    ):
        source.read_revision("0123456789abcdef0123456789abcdef01234567")


def test_two_hundred_manifests_are_read(work_repo: WorkRepo) -> None:
    files = {f"apps/team-{i % 10}/pod-{i}.yaml": POD.format(name=f"pod-{i}") for i in range(200)}
    work_repo.commit("many", files)
    with repo.SourceRepo(work_repo.path) as source:
        sha = source.resolve()
        revision = source.read_revision(sha)
        again = source.read_revision(sha)  # parsed files are reused by blob id
    assert revision.valid and len(revision.objects) == 200 and revision.files == 201
    assert names(again) == names(revision)
    assert again.objects[0] is not revision.objects[0]
