"""The status ledger from several control machines: each has its own clone; the leader pushes
status to the origin as a fast-forward, a rejected push is read again and retried, a deposed
leader publishes nothing, and ``git log gitkube/status`` stays one line (real git)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.source import plumbing, publish, status

GITKUBE = str(Path(sys.executable).with_name("gitkube"))


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env=plumbing.environment())
    return done.stdout.strip()


@pytest.fixture
def machines(tmp_path: Path) -> tuple[str, Path, Path]:
    """An origin with one commit on main, and two control machines' clones of it."""
    seed = tmp_path / "seed"
    seed.mkdir()
    git("init", "-q", "-b", "main", cwd=seed)
    (seed / "web.yaml").write_text("kind: ConfigMap\n")
    git("add", "-A", cwd=seed)
    git("commit", "-qm", "web", cwd=seed)
    origin = tmp_path / "origin.git"
    git("clone", "-q", "--bare", str(seed), str(origin), cwd=tmp_path)
    clones = []
    for name in ("cp1", "cp2"):
        git("clone", "-q", str(origin), name, cwd=tmp_path)
        clones.append(tmp_path / name)
    return str(origin), clones[0], clones[1]


def ledger(origin: str) -> list[str]:
    """Subject and term of each commit of the origin's ledger, newest first."""
    out = git("log", "--format=%s %(trailers:key=Gitkube-Term,valueonly,separator=)",
              status.STATUS_BRANCH, cwd=Path(origin))
    return [line.strip() for line in out.splitlines()]


def test_the_leader_pushes_and_the_next_leader_builds_on_it(
        machines: tuple[str, Path, Path]) -> None:
    origin, cp1, cp2 = machines

    first = publish.publish(cp1, origin, {"summary.yaml": b"pods: 1\n"}, "1 pod started",
                            term=1)
    second = publish.publish(cp2, origin, {"summary.yaml": b"pods: 2\n"}, "1 pod started",
                             term=2)
    same = publish.publish(cp2, origin, {"summary.yaml": b"pods: 2\n"}, "nothing", term=2)

    assert first and second and same is None
    assert ledger(origin) == ["1 pod started 2", "1 pod started 1"]
    assert git("rev-list", "--merges", status.STATUS_BRANCH, cwd=Path(origin)) == ""
    assert plumbing.rev_parse(cp2, status.STATUS_REF) == second
    assert status.read_status(cp2) == {"summary.yaml": b"pods: 2\n"}


def test_a_deposed_leader_publishes_nothing(machines: tuple[str, Path, Path]) -> None:
    origin, cp1, cp2 = machines
    publish.publish(cp1, origin, {"summary.yaml": b"a\n"}, "from term 1", term=1)
    publish.publish(cp2, origin, {"summary.yaml": b"b\n"}, "from term 2", term=2)

    with pytest.raises(errors.NotLeader, match="last written in term 2, after this machine's "
                                               "term 1"):
        publish.publish(cp1, origin, {"summary.yaml": b"late\n"}, "late", term=1)
    assert ledger(origin) == ["from term 2 2", "from term 1 1"]


def test_a_rejected_push_is_read_again_and_retried(machines: tuple[str, Path, Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    origin, cp1, cp2 = machines
    publish.publish(cp1, origin, {"summary.yaml": b"0\n"}, "start", term=1)
    fetch = publish.fetch_status
    fetched: list[str | None] = []

    def racing_fetch(repo: Path, remote: str) -> str | None:
        tip = fetch(repo, remote)
        if repo == cp1:
            fetched.append(tip)
            if len(fetched) == 1:  # between cp1's fetch and its push, cp2 moves the origin
                publish.publish(cp2, origin, {"summary.yaml": b"cp2\n"}, "cp2 wrote", term=1)
        return tip

    monkeypatch.setattr(publish, "fetch_status", racing_fetch)
    pushed = publish.publish(cp1, origin, {"summary.yaml": b"cp1\n"}, "cp1 wrote", term=1)

    assert len(fetched) == 2 and fetched[0] != fetched[1]
    assert ledger(origin) == ["cp1 wrote 1", "cp2 wrote 1", "start 1"]
    assert git("rev-parse", status.STATUS_BRANCH, cwd=Path(origin)) == pushed
    reflog = git("reflog", "--format=%gs", "-n", "5", status.STATUS_BRANCH, cwd=Path(origin))
    assert "forced" not in reflog


def test_the_history_of_a_lone_machine_is_kept(machines: tuple[str, Path, Path]) -> None:
    origin, cp1, _ = machines
    alone = status.write_status(cp1, {"summary.yaml": b"alone\n"}, "when it was alone")

    publish.publish(cp1, origin, {"summary.yaml": b"three\n"}, "with three machines", term=1)

    assert ledger(origin) == ["with three machines 1", "when it was alone"]
    assert git("rev-parse", f"{status.STATUS_BRANCH}~1", cwd=Path(origin)) == alone


def test_a_gitkube_origin_takes_the_leaders_ledger_and_nothing_else(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run([GITKUBE, "init", "--bare", str(origin)], check=True, capture_output=True)
    git("clone", "-q", str(origin), "cp1", cwd=tmp_path)
    cp1 = tmp_path / "cp1"

    with pytest.raises(errors.SourceError, match="written by the cluster itself"):
        publish.publish(cp1, str(origin), {"summary.yaml": b"a\n"}, "one machine", term=1)

    git("config", "gitkube.store", "etcd://cp1:2379,cp2:2379,cp3:2379", cwd=origin)
    pushed = publish.publish(cp1, str(origin), {"summary.yaml": b"a\n"}, "the leader", term=1)
    assert git("rev-parse", status.STATUS_BRANCH, cwd=origin) == pushed

    tree = plumbing.write_tree(cp1, {"summary.yaml": b"forged\n"})
    forged = plumbing.commit_tree(cp1, tree, [pushed or ""], "no term")
    refused = subprocess.run(["git", "-C", str(cp1), "push", str(origin),
                              f"{forged}:refs/heads/gitkube/status"], capture_output=True,
                             text=True, env=plumbing.environment())
    assert refused.returncode != 0 and "written by the cluster itself" in refused.stderr
