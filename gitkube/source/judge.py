"""Pre-receive judging by the running ``gitkube serve``: the hook asks, the daemon answers.

The pre-receive hook (``hooks``) is a fresh Python process per push; judging a
revision itself means importing GitPython and every model first, most of what a
push waits for. ``gitkube serve`` has all of that imported already, so it listens
on ``<state>/serve.sock`` and judges pushes on the hook's behalf: one JSON line
asks, one JSON line answers, with the exit code and the exact text the hook
would have printed. Whenever no daemon answers properly (none runs, a stale
socket, permission denied, a timeout, another protocol version, a refusal), the
hook judges the push itself: the daemon only saves time, it never changes a
verdict.

During pre-receive the pushed objects live only in git's quarantine directory, so
the request carries git's quarantine variables. The daemon is not a way to run
anything else: it answers one operation, judges only the repository it serves,
and uses quarantine paths only when they lie inside that repository's objects.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

SOCKET = "serve.sock"
VERSION = 1
#: How long the hook waits for a verdict before it judges the push itself.
TIMEOUT = 5.0
#: git's variables (git ≥ 2.11) under which pre-receive sees the pushed objects.
QUARANTINE = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")
_MAX_LINE = 4 * 1024 * 1024
_MAX_UPDATES = 10_000
#: Pushes judged at once; more wait their turn (judging is CPU work under one GIL anyway).
_CONCURRENT = 4
_MAX_ADDRESS = 100
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")

Update = tuple[str, str, str]
#: ``(repo, [(old, new, ref)], env) -> (exit code, text)``: ``hooks.judge_push``.
JudgeFn = Callable[[Path, list[Update], Mapping[str, str]], tuple[int, str]]
Log = Callable[[str], None]


class Refused(Exception):
    """The daemon will not judge this request; the sentence says why."""


# --------------------------------------------------------------------------- the hook's side

def ask(state_dir: Path, repo: Path, updates: list[Update], env: Mapping[str, str],
        timeout: float = TIMEOUT) -> tuple[int, str] | None:
    """The verdict of the daemon serving ``repo``, or None when none gives one."""
    request = {"op": "judge", "version": VERSION, "repo": str(repo),
               "updates": [list(u) for u in updates],
               "env": {k: env[k] for k in QUARANTINE if k in env}}
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            with _address(state_dir / SOCKET) as address:
                conn.connect(address)
            conn.sendall(json.dumps(request).encode() + b"\n")
            answer = json.loads(_read_line(conn, deadline))
    except (OSError, ValueError):  # no daemon, stale socket, EACCES, timeout, garbage
        return None
    if (not isinstance(answer, dict) or answer.get("version") != VERSION
            or answer.get("repo") != str(repo) or answer.get("code") not in (0, 1)
            or not isinstance(answer.get("output"), str)):
        return None  # a refusal ({"error": ...}) or another protocol
    return answer["code"], answer["output"]


def _read_line(conn: socket.socket, deadline: float) -> bytes:
    data = bytearray()
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer in time")
        conn.settimeout(remaining)
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("the connection closed before a whole line came")
        data += chunk
        if len(data) > _MAX_LINE:
            raise ValueError("the line is too long")
    return bytes(data)


@contextlib.contextmanager
def _address(path: Path) -> Iterator[str]:
    """``path`` as an AF_UNIX address, which may not exceed 107 bytes: a longer path is
    reached through a descriptor of its directory (state dirs can be deep)."""
    if len(os.fsencode(path)) <= _MAX_ADDRESS:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- the daemon's side

def parse_request(line: bytes, git_dir: Path) -> tuple[list[Update], dict[str, str]]:
    """The ref updates and quarantine variables of a request for ``git_dir``, or ``Refused``."""
    try:
        request = json.loads(line)
    except ValueError as exc:
        raise Refused("The request is not JSON.") from exc
    if not isinstance(request, dict) or request.get("op") != "judge":
        raise Refused("The only operation is judge.")
    if request.get("version") != VERSION:
        raise Refused(f"This daemon speaks version {VERSION} of the protocol.")
    repo = request.get("repo")
    if not isinstance(repo, str) or Path(repo).resolve() != git_dir:
        raise Refused(f"This daemon judges pushes to {git_dir} only.")
    raw_updates = request.get("updates")
    if not isinstance(raw_updates, list) or len(raw_updates) > _MAX_UPDATES:
        raise Refused("updates must be a list of [old, new, ref].")
    updates = [_update(u) for u in raw_updates]
    raw_env = request.get("env")
    if not isinstance(raw_env, dict) or not set(raw_env) <= set(QUARANTINE):
        raise Refused(f"env may hold only {', '.join(QUARANTINE)}.")
    return updates, _quarantine(raw_env, git_dir)


def _update(value: Any) -> Update:
    if (isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) for v in value)
            and _OBJECT_ID.fullmatch(value[0]) and _OBJECT_ID.fullmatch(value[1])
            and value[2].startswith("refs/") and value[2].isprintable() and " " not in value[2]):
        return value[0], value[1], value[2]
    raise Refused("updates must be a list of [old, new, ref].")


def _quarantine(raw: dict[str, Any], git_dir: Path) -> dict[str, str]:
    objects = (git_dir / "objects").resolve()
    env: dict[str, str] = {}
    for name, value in raw.items():
        # Git quotes an alternates list holding ':' or '"'; such a repository is judged
        # by the hook itself rather than by parsing git's quoting here.
        if not isinstance(value, str) or not value or '"' in value:
            raise Refused(f"{name} must name directories inside {objects}.")
        for part in value.split(":") if name == "GIT_ALTERNATE_OBJECT_DIRECTORIES" else [value]:
            path = Path(part)
            if not path.is_absolute() or not path.resolve().is_relative_to(objects) \
                    or not path.is_dir():
                raise Refused(f"{name} must name directories inside {objects}.")
        env[name] = value
    return env


def judge_env(quarantine: Mapping[str, str]) -> dict[str, str]:
    """The daemon's environment without git's variables, plus the hook's quarantine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(quarantine)
    return env


class Service:
    """The daemon's listening socket and the thread answering on it.

    Its own thread: a reconcile pass may take seconds and a push must not wait for
    it, and judging takes no lock a pass holds (each request reads with its own
    repository handle)."""

    def __init__(self, git_dir: Path, state_dir: Path, judge: JudgeFn, log: Log) -> None:
        self.git_dir = git_dir.resolve()
        self.path = state_dir / SOCKET
        self.judged = 0
        self._judge = judge
        self._log = log
        self._slots = threading.BoundedSemaphore(_CONCURRENT)
        self._count = threading.Lock()
        self._listener = self._listen()
        self._stop_r, self._stop_w = os.pipe2(os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._accept, name="gitkube-judge", daemon=True)

    def _listen(self) -> socket.socket:
        # Bound under a private name, restricted, then renamed over whatever a killed
        # daemon left: the caller holds serve.lock, so no live daemon owns that socket.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        staging = self.path.with_name(f".{SOCKET}.{os.getpid()}")
        try:
            with contextlib.suppress(FileNotFoundError):
                staging.unlink()
            with _address(staging) as address:
                listener.bind(address)
            staging.chmod(0o600)
            listener.listen(16)
            staging.rename(self.path)
        except OSError:
            listener.close()
            with contextlib.suppress(OSError):
                staging.unlink()
            raise
        return listener

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._listener.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._stop_r)
        os.close(self._stop_w)

    def _accept(self) -> None:
        while True:
            readable, _, _ = select.select([self._listener.fileno(), self._stop_r], [], [])
            if self._stop_r in readable:
                return
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            try:
                threading.Thread(target=self._answer, args=(conn,), name="gitkube-judging",
                                 daemon=True).start()
            except RuntimeError:  # no thread to spare: that hook judges by itself
                conn.close()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                line = _read_line(conn, time.monotonic() + TIMEOUT)
            except (OSError, ValueError):
                return  # the hook went away or sent no line: it judges by itself
            with self._slots:
                answer = self.answer(line)
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(answer).encode() + b"\n")

    def answer(self, line: bytes) -> dict[str, Any]:
        """The answer to one request line (also what the tests call)."""
        began = time.monotonic()
        try:
            updates, quarantine = parse_request(line, self.git_dir)
        except Refused as exc:
            self._log(f"refused a judging request: {exc}")
            return {"version": VERSION, "error": str(exc)}
        try:
            code, output = self._judge(self.git_dir, updates, judge_env(quarantine))
        except Exception:  # a bug: the hook then judges by itself and shows what happened
            self._log("judging a push crashed; the hook judges it by itself. This is a bug "
                      f"in gitkube:\n{traceback.format_exc().rstrip()}")
            return {"version": VERSION, "error": "Judging crashed; see the serve log."}
        with self._count:
            self.judged += 1
        refs = ", ".join(ref for _, _, ref in updates) or "no refs"
        verdict = "accepted" if code == 0 else "refused"
        self._log(f"judged the push to {refs}: {verdict} in {time.monotonic() - began:.2f}s")
        return {"version": VERSION, "repo": str(self.git_dir), "code": code, "output": output}


@contextlib.contextmanager
def serving(git_dir: Path, state_dir: Path, judge: JudgeFn,
            log: Log) -> Iterator[Service | None]:
    """Answer judging requests on ``<state_dir>/serve.sock`` inside the ``with`` block
    (None when the socket cannot be made: the hooks then judge pushes by themselves)."""
    try:
        service = Service(git_dir, state_dir, judge, log)
    except OSError as exc:
        log(f"cannot listen on {state_dir / SOCKET} ({exc}); push hooks judge pushes by "
            "themselves, which makes each push slower.")
        yield None
        return
    service.start()
    try:
        yield service
    finally:
        service.close()
