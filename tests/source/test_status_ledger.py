"""The status branch: exact trees, commits only on change, compare-and-swap, no side effects."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.source import plumbing, status

from .source_helpers import POD, WorkRepo

FILES = {
    "status/pods/default/web-abc.yaml": b"phase: Running\n",
    "status/nodes/node-1.yaml": b"ready: true\n",
    "status/summary.yaml": b"pods: 1\n",
}


def test_first_write_creates_the_branch_with_exactly_the_files(work_repo: WorkRepo) -> None:
    work_repo.commit("manifests", {"web.yaml": POD.format(name="web")})
    sha = status.write_status(work_repo.path, FILES, "1 pod started")
    assert sha is not None
    assert work_repo.git("rev-parse", "gitkube/status") == sha
    assert work_repo.git("log", "--format=%an <%ae>|%cn|%s", "gitkube/status") == (
        "gitkube <gitkube@localhost>|gitkube|1 pod started"
    )
    assert work_repo.git("rev-list", "--parents", "-n1", "gitkube/status") == sha  # a root
    assert status.read_status(work_repo.path) == FILES


def test_unchanged_status_writes_nothing_and_changes_are_parented(work_repo: WorkRepo) -> None:
    first = status.write_status(work_repo.path, FILES, "first")
    assert status.write_status(work_repo.path, dict(FILES), "same again") is None
    changed = {k: v for k, v in FILES.items() if "pods" not in k} | {"status/x.yaml": b"a\n"}
    second = status.write_status(work_repo.path, changed, "pod gone")
    assert second is not None
    assert work_repo.git("rev-parse", f"{second}^") == first
    assert status.read_status(work_repo.path) == changed  # removed files are gone
    log = status.status_log(work_repo.path, 10)
    assert [(entry.sha, entry.message) for entry in log] == [
        (second, "pod gone"),
        (first, "first"),
    ]
    assert log[0].time.tzinfo is not None


def test_no_branch_reads_as_empty(work_repo: WorkRepo) -> None:
    assert status.read_status(work_repo.path) == {}
    assert status.status_log(work_repo.path, 5) == []


def test_works_in_a_bare_repository(tmp_path: Path, work_repo: WorkRepo) -> None:
    work_repo.commit("manifests", {"web.yaml": POD.format(name="web")})
    bare = tmp_path / "bare.git"
    work_repo.git("clone", "--quiet", "--bare", str(work_repo.path), str(bare))
    assert status.write_status(bare, FILES, "bare") is not None
    assert status.read_status(bare) == FILES


def test_the_working_tree_and_index_are_left_alone(work_repo: WorkRepo) -> None:
    work_repo.commit("manifests", {"web.yaml": POD.format(name="web")})
    work_repo.write("web.yaml", "edited but not committed\n")
    work_repo.write("staged.yaml", "staged\n")
    work_repo.git("add", "staged.yaml")
    work_repo.write("untracked.yaml", "untracked\n")
    index = (work_repo.path / ".git" / "index").read_bytes()
    before = (work_repo.git("status", "--porcelain"), work_repo.git("rev-parse", "HEAD"))

    status.write_status(work_repo.path, FILES, "status")

    after = (work_repo.git("status", "--porcelain"), work_repo.git("rev-parse", "HEAD"))
    assert after == before
    assert (work_repo.path / ".git" / "index").read_bytes() == index
    assert work_repo.git("symbolic-ref", "HEAD") == "refs/heads/main"
    assert not (work_repo.path / "status").exists()


def test_a_concurrent_writer_makes_the_pass_lose(work_repo: WorkRepo) -> None:
    seen = status.write_status(work_repo.path, FILES, "pass 1")
    assert seen is not None
    other = status.write_status(work_repo.path, {"status/summary.yaml": b"x\n"}, "pass 2")
    with pytest.raises(errors.StoreConflict, match="moved while this pass wrote"):
        status.write_status(work_repo.path, {"status/summary.yaml": b"y\n"}, "late", parent=seen)
    assert work_repo.git("rev-parse", "gitkube/status") == other


def test_creating_the_branch_loses_when_someone_created_it_first(work_repo: WorkRepo) -> None:
    theirs = status.write_status(work_repo.path, FILES, "theirs")
    with pytest.raises(errors.StoreConflict):
        status.write_status(
            work_repo.path, {"status/a.yaml": b"a\n"}, "mine", parent=plumbing.ZERO_ID
        )
    assert work_repo.git("rev-parse", "gitkube/status") == theirs


def test_update_ref_is_a_compare_and_swap(work_repo: WorkRepo) -> None:
    first = work_repo.commit("one")
    second = work_repo.commit("two")
    with pytest.raises(plumbing.RefMoved):
        plumbing.update_ref(work_repo.path, "refs/heads/main", first, first, "rewind")
    assert work_repo.git("rev-parse", "main") == second


def lock_file(repo: WorkRepo, age_seconds: float) -> Path:
    lock = repo.path / ".git" / "refs" / "heads" / "gitkube" / "status.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    moment = time.time() - age_seconds
    os.utime(lock, (moment, moment))
    return lock


def test_a_stale_ref_lock_from_a_killed_pass_is_removed(work_repo: WorkRepo) -> None:
    lock = lock_file(work_repo, age_seconds=3600)
    sha = status.write_status(work_repo.path, FILES, "after a crash")
    assert work_repo.git("rev-parse", "gitkube/status") == sha
    assert not lock.exists()


def test_a_fresh_ref_lock_is_respected(work_repo: WorkRepo) -> None:
    lock = lock_file(work_repo, age_seconds=0)
    with pytest.raises(errors.StoreConflict):
        status.write_status(work_repo.path, FILES, "while git works")
    assert lock.exists()
    assert status.read_status(work_repo.path) == {}


@pytest.mark.parametrize("bad", ["/abs.yaml", "a/../b.yaml", "", "a//b.yaml"])
def test_paths_must_stay_inside_the_tree(work_repo: WorkRepo, bad: str) -> None:
    with pytest.raises(ValueError, match="relative path"):
        status.write_status(work_repo.path, {bad: b"x"}, "bad")


def test_not_a_repository_is_a_source_error(tmp_path: Path, work_repo: WorkRepo) -> None:
    with pytest.raises(errors.SourceError, match="not a Git repository"):
        status.write_status(tmp_path / "missing", FILES, "nowhere")
    inside = work_repo.path / "sub"
    inside.mkdir()
    with pytest.raises(errors.SourceError, match="not a Git repository"):
        status.write_status(inside, FILES, "into the outer repository")
    assert work_repo.git("for-each-ref") == ""
