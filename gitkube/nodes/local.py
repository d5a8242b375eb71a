"""The transport for a node that is this machine: subprocesses, no shell.

Used for single-machine clusters (``transport: local`` in inventory.yaml) and
by tests. It keeps the same promises as ``SSHTransport``: a command that does
not finish within its timeout raises ``NodeUnreachable`` instead of hanging
the pass, and ``put`` writes a whole file or nothing.
"""

from __future__ import annotations

import collections
import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from gitkube import errors
from gitkube.nodes import transport

#: Exit code a shell gives for a command it cannot find; kept so callers see what SSH shows.
COMMAND_NOT_FOUND = 127


class LocalTransport:
    """Run commands and write files on the control machine itself."""

    def __init__(self, node: str = "local") -> None:
        self.node = node

    def run(
        self, argv: Sequence[str], *, stdin: bytes = b"", timeout: float = 60.0
    ) -> transport.Result:
        args = list(argv)
        try:
            # A session of its own, so a timeout kills the command's children as well.
            process = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError:
            message = f"{args[0]}: command not found\n".encode()
            return transport.Result(COMMAND_NOT_FOUND, b"", message)
        except OSError as exc:
            raise errors.NodeUnreachable(
                f"Node {self.node} could not start `{_show(args)}`: {exc}."
            ) from exc
        try:
            stdout, stderr = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_session(process)
            raise errors.NodeUnreachable(
                f"Node {self.node} did not finish `{_show(args)}` within {timeout:g} s; "
                "the command was killed. Check what it waits for, or raise the timeout.",
                retry_after=timeout,
            ) from exc
        return transport.Result(process.returncode, stdout, stderr)

    def put(self, source: bytes | Path, remote_path: str, *, mode: int = 0o644) -> None:
        target = Path(remote_path).expanduser()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write beside the target and rename, so a reader never sees half a file.
            fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    if isinstance(source, bytes):
                        out.write(source)
                    else:
                        with source.open("rb") as given:
                            shutil.copyfileobj(given, out, 1 << 20)
                os.chmod(temporary, mode)
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise errors.NodeUnreachable(
                f"Node {self.node} could not write {target}: {exc.strerror or exc}. "
                "Check that the directory is writable and the disk is not full."
            ) from exc

    def open_session(self, argv: Sequence[str]) -> LocalSession:
        return LocalSession(self.node, argv)

    def close(self) -> None:
        """Nothing to release: every command is its own process; sessions close themselves."""


class LocalSession:
    """A long-lived child spoken to a line at a time (see ``transport.Session``)."""

    def __init__(self, node: str, argv: Sequence[str]) -> None:
        self.node = node
        self._argv = list(argv)
        try:
            self._process = subprocess.Popen(
                self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True,
            )
        except OSError as exc:
            raise errors.NodeUnreachable(
                f"Node {node} could not start `{_show(self._argv)}`: {exc}."
            ) from exc
        self._pending = b""
        #: The end of what the child wrote on stderr, for the sentence when it dies.
        self._stderr: collections.deque[bytes] = collections.deque(maxlen=40)
        self._drainer = threading.Thread(target=self._drain, daemon=True,
                                         name=f"stderr-{node}")
        self._drainer.start()

    def exchange(self, line: bytes, *, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(line)
            stdin.flush()
        except (OSError, ValueError) as exc:
            raise self._lost() from exc
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close(kill=True)
                raise errors.NodeUnreachable(
                    f"Node {self.node} did not answer `{_show(self._argv)}` within "
                    f"{timeout:g} s; the command was killed. Check what it waits for, or raise "
                    "the timeout.", retry_after=timeout)
            ready, _, _ = select.select([stdout], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(stdout.fileno(), 1 << 16)
            if not chunk:
                raise self._lost()
            self._pending += chunk
        answer, _, self._pending = self._pending.partition(b"\n")
        return answer

    def close(self, *, kill: bool = False) -> None:
        process = self._process
        if process.poll() is None and not kill:
            with contextlib.suppress(OSError, ValueError):
                assert process.stdin is not None
                process.stdin.close()  # the agent ends at the end of its input
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        if process.poll() is None:
            _kill_session(process)
        for pipe in (process.stdin, process.stdout):
            with contextlib.suppress(OSError, ValueError):
                if pipe is not None:
                    pipe.close()
        process.wait()
        self._drainer.join(timeout=5)

    def _lost(self) -> errors.SessionLost:
        self.close(kill=True)
        said = b"".join(self._stderr).decode(errors="replace").strip()
        tail = "\n  ".join(said.splitlines()[-8:])
        return errors.SessionLost(
            f"Node {self.node}: `{_show(self._argv)}` ended (exit code "
            f"{self._process.returncode}) before it answered"
            + (f"; its stderr says:\n  {tail}" if tail else "; it wrote nothing on stderr."),
            exit_code=self._process.returncode, stderr=b"".join(self._stderr))

    def _drain(self) -> None:
        stderr = self._process.stderr
        assert stderr is not None
        with contextlib.suppress(OSError, ValueError):
            for chunk in iter(lambda: stderr.readline(), b""):
                self._stderr.append(chunk)


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        # A grandchild that left the session still holds the pipes; stop waiting for it.
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        process.wait()


def _show(argv: Sequence[str], limit: int = 120) -> str:
    text = " ".join(argv)
    return text if len(text) <= limit else text[: limit - 3] + "..."
