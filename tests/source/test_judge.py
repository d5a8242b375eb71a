"""The judging service (``gitkube.source.judge``) in this process, on real repositories.

What the pre-receive hook relies on: pushed objects sitting only in git's quarantine are
read when (and only when) the quarantine variables are given; the daemon answers with the
verdict ``hooks.judge_push`` gives; it refuses anything but judging its own repository
with quarantine paths inside it; and the hook gets None (and so judges by itself) from
anything that is not a proper answer.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.source import hooks, judge, plumbing, settings, signatures
from gitkube.source import repo as source_repo

from .source_helpers import INVENTORY, POD, WorkRepo

BAD_POD = POD.format(name="Bad_Name")


class Quarantined:
    """A bare repository with one commit whose objects sit only in a quarantine directory,
    as during pre-receive: ``env`` holds the variables git gives the hook."""

    def __init__(self, work: WorkRepo, bare: Path, files: dict[str, str]) -> None:
        self.bare = bare
        subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
        self.sha = work.commit("pushed", files)
        quarantine = bare / "objects" / "tmp_objdir-incoming-test"
        quarantine.mkdir()
        self.env = {"GIT_OBJECT_DIRECTORY": str(quarantine),
                    "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(bare / "objects"),
                    "GIT_QUARANTINE_PATH": str(quarantine)}
        pack = subprocess.run(["git", "-C", str(work.path), "pack-objects", "--revs", "--stdout"],
                              input=b"HEAD\n", capture_output=True, check=True).stdout
        subprocess.run(["git", "-C", str(bare), "unpack-objects", "-q"], input=pack, check=True,
                       env=judge.judge_env(self.env))
        self.update = (plumbing.ZERO_ID, self.sha, "refs/heads/main")


@pytest.fixture
def pushed(work_repo: WorkRepo, tmp_path: Path) -> Quarantined:
    return Quarantined(work_repo, tmp_path / "cluster.git",
                       {"inventory.yaml": INVENTORY, "web.yaml": POD.format(name="web")})


@pytest.fixture
def broken(work_repo: WorkRepo, tmp_path: Path) -> Quarantined:
    return Quarantined(work_repo, tmp_path / "cluster.git",
                       {"inventory.yaml": INVENTORY, "web.yaml": BAD_POD})


@pytest.fixture
def service(pushed: Quarantined, tmp_path: Path) -> Iterator[tuple[judge.Service, list[str]]]:
    logged: list[str] = []
    with judge.serving(pushed.bare, tmp_path / "state", _judge_push, logged.append) as running:
        assert running is not None, logged
        yield running, logged


def _judge_push(repo: Path, updates: list[judge.Update], env: dict[str, str]) -> tuple[int, str]:
    return hooks.judge_push(repo, [hooks.RefUpdate(*u) for u in updates], env)


def request(pushed: Quarantined, changes: dict[str, object]) -> bytes:
    """The hook's request for ``pushed``, with ``changes``; ``{objects}`` in an env value
    stands for the repository's object directory."""
    body: dict[str, object] = {"op": "judge", "version": judge.VERSION, "repo": str(pushed.bare),
                               "updates": [list(pushed.update)], "env": pushed.env}
    objects = str(pushed.bare / "objects")
    for key, value in changes.items():
        body[key] = ({k: v.format(objects=objects) for k, v in value.items()}
                     if isinstance(value, dict) else value)
    return json.dumps(body).encode() + b"\n"


# --------------------------------------------------------------------------- quarantine

def test_pushed_objects_are_read_only_with_the_quarantine_variables(pushed: Quarantined) -> None:
    with source_repo.SourceRepo(pushed.bare) as blind, pytest.raises(errors.SourceError):
        blind.read_revision(pushed.sha)

    with source_repo.SourceRepo(pushed.bare, env=judge.judge_env(pushed.env)) as reader:
        revision = reader.read_revision(pushed.sha)

    assert revision.valid, revision.problems
    assert [obj.metadata.name for obj in revision.objects] == ["web"]


def test_signature_checks_read_the_quarantine_too(pushed: Quarantined) -> None:
    policy = settings.Settings(allowed_signers=pushed.bare / "allowed_signers")
    (pushed.bare / "allowed_signers").write_text("")

    refusals = signatures.check_range(pushed.bare, policy, pushed.sha, [],
                                      env=judge.judge_env(pushed.env))

    assert [(r.sha, r.subject) for r in refusals] == [(pushed.sha, "pushed")]
    assert refusals[0].reason.startswith("is not signed; every commit must be signed")


# --------------------------------------------------------------------------- answers

def test_the_daemon_answers_with_the_hooks_own_verdict_and_text(
        broken: Quarantined, tmp_path: Path) -> None:
    logged: list[str] = []
    own = _judge_push(broken.bare, [broken.update], judge.judge_env(broken.env))
    with judge.serving(broken.bare, tmp_path / "state", _judge_push, logged.append):
        asked = judge.ask(tmp_path / "state", broken.bare.resolve(), [broken.update], broken.env)

    assert asked == own
    assert own[0] == 1
    assert "    web.yaml:4: metadata.name: a lowercase RFC 1123 subdomain" in own[1], own[1]
    assert logged == [logged[0]]
    assert logged[0].startswith("judged the push to refs/heads/main: refused in ")


def test_a_valid_push_is_accepted_and_the_socket_is_private_and_removed_after(
        pushed: Quarantined, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with judge.serving(pushed.bare, state, _judge_push, lambda _: None) as running:
        assert running is not None
        mode = (state / judge.SOCKET).stat().st_mode & 0o777
        asked = judge.ask(state, pushed.bare.resolve(), [pushed.update], pushed.env)
        assert running.judged == 1

    assert asked == (0, "")
    assert mode == 0o600
    assert not (state / judge.SOCKET).exists()
    assert sorted(p.name for p in state.iterdir()) == []


def test_a_socket_left_by_a_killed_daemon_is_replaced(pushed: Quarantined,
                                                      tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(state / judge.SOCKET))
    assert judge.ask(state, pushed.bare.resolve(), [pushed.update], pushed.env) is None

    with judge.serving(pushed.bare, state, _judge_push, lambda _: None):
        assert judge.ask(state, pushed.bare.resolve(), [pushed.update], pushed.env) == (0, "")


def test_a_state_dir_deeper_than_a_unix_socket_address_allows(pushed: Quarantined,
                                                              tmp_path: Path) -> None:
    state = tmp_path.joinpath(*["a-rather-long-directory-name"] * 5)
    assert len(str(state / judge.SOCKET)) > 108

    with judge.serving(pushed.bare, state, _judge_push, lambda _: None) as running:
        asked = judge.ask(state, pushed.bare.resolve(), [pushed.update], pushed.env)

    assert running is not None
    assert asked == (0, "")


def test_without_a_socket_the_daemon_says_so_and_serves_on(pushed: Quarantined,
                                                          tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("a file where the state directory should be")
    logged: list[str] = []

    with judge.serving(pushed.bare, state, _judge_push, logged.append) as running:
        assert running is None

    assert len(logged) == 1
    assert logged[0].startswith(f"cannot listen on {state / judge.SOCKET} (")
    assert logged[0].endswith("push hooks judge pushes by themselves, which makes each push "
                              "slower.")


REFUSED = [
    pytest.param({"op": "run", "argv": ["sh"]}, "The only operation is judge.", id="other-op"),
    pytest.param({"version": 2}, "This daemon speaks version 1", id="other-version"),
    pytest.param({"repo": "/tmp/elsewhere.git"}, "judges pushes to", id="other-repo"),
    pytest.param({"updates": [["HEAD", "0" * 40, "refs/heads/main"]]}, "updates must be",
                 id="update-not-an-object-id"),
    pytest.param({"updates": [["0" * 40, "1" * 40, "main; rm -rf /"]]}, "updates must be",
                 id="ref-not-a-ref"),
    pytest.param({"env": {"GIT_DIR": "/"}}, "env may hold only", id="variable-not-quarantine"),
    pytest.param({"env": {"GIT_OBJECT_DIRECTORY": "/etc"}}, "inside", id="objects-elsewhere"),
    pytest.param({"env": {"GIT_OBJECT_DIRECTORY": "objects/x"}}, "inside", id="relative-path"),
    pytest.param({"env": {"GIT_ALTERNATE_OBJECT_DIRECTORIES": "{objects}:/etc"}}, "inside",
                 id="one-alternate-elsewhere"),
    pytest.param({"env": {"GIT_QUARANTINE_PATH": "{objects}/../../x"}}, "inside",
                 id="dot-dot-out"),
]


@pytest.mark.parametrize(("changes", "said"), REFUSED)
def test_anything_but_judging_this_repository_is_refused(
        service: tuple[judge.Service, list[str]], pushed: Quarantined,
        changes: dict[str, object], said: str) -> None:
    running, logged = service

    answer = running.answer(request(pushed, changes))

    assert set(answer) == {"version", "error"}
    assert said in answer["error"]
    assert running.judged == 0
    assert logged == [f"refused a judging request: {answer['error']}"]


def test_a_request_for_another_repository_gets_no_verdict(
        service: tuple[judge.Service, list[str]], pushed: Quarantined, tmp_path: Path,
        work_repo: WorkRepo) -> None:
    running, _ = service
    other = tmp_path / "other.git"
    subprocess.run(["git", "init", "-q", "--bare", str(other)], check=True)

    assert judge.ask(running.path.parent, other, [pushed.update], {}) is None
    assert running.judged == 0


# --------------------------------------------------------------------------- no proper answer

def fake_daemon(path: Path, reply: bytes | None) -> threading.Thread:
    """A listener at ``path`` that reads one request and answers ``reply`` (None: never)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                if reply is not None:
                    conn.sendall(reply)
                else:
                    conn.recv(1)  # until the asker gives up and closes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("reply", [
    pytest.param(None, id="no-answer-in-time"),
    pytest.param(b'{"version": 2, "code": 0, "output": ""}\n', id="other-version"),
    pytest.param(b'{"version": 1, "repo": "/elsewhere.git", "code": 0, "output": ""}\n',
                 id="other-repo"),
    pytest.param(b'{"version": 1, "error": "no"}\n', id="refusal"),
    pytest.param(b"accept\n", id="not-json"),
    pytest.param(b'{"version": 1, "repo": "R", "code": 0', id="cut-short"),
])
def test_the_hook_judges_by_itself_when_the_answer_is_not_a_verdict(
        tmp_path: Path, reply: bytes | None) -> None:
    repo = tmp_path / "cluster.git"
    thread = fake_daemon(tmp_path / judge.SOCKET, reply)

    assert judge.ask(tmp_path, repo, [], {}, timeout=0.5) is None
    thread.join(timeout=10)


def test_no_socket_means_no_daemon(tmp_path: Path) -> None:
    assert judge.ask(tmp_path, tmp_path / "cluster.git", [], {}) is None
