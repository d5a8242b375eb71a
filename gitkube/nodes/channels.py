"""SSH channels: the kept session the agent is spoken to through, the low-level sends
paramiko lacks, and the sentences for a node that stopped answering.

Part of the SSH transport: ``ssh.SSHTransport`` opens channels (one per command, or
one per ``SSHSession``) on its connection; what happens on a channel once it is open
is here. Every wait is bounded by a deadline.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable

import paramiko

from gitkube import errors

CHUNK = 1 << 16


def unreachable(where: str, what: str, exc: BaseException | None,
                retry_after: float) -> errors.NodeUnreachable:
    cause = f": {exc}" if exc is not None and str(exc) else ""
    return errors.NodeUnreachable(
        f"Node {where} {what}{cause}. Check that the machine is up and sshd answers; "
        "gitkube will try again on the next pass.",
        retry_after=retry_after,
    )


def timed_out(where: str, command: str, timeout: float) -> errors.NodeUnreachable:
    shown = command if len(command) <= 120 else command[:117] + "..."
    return errors.NodeUnreachable(
        f"Node {where} did not finish `{shown}` within {timeout:g} s; "
        "it may still be running there. Check the node, or raise the timeout.",
        retry_after=timeout,
    )


class SSHSession:
    """One command on its own channel, spoken to a line at a time (``transport.Session``).

    ``release`` gives the channel's slot back to the connection when the session ends.
    """

    def __init__(self, channel: paramiko.Channel, command: str, *, node: str, where: str,
                 release: Callable[[], None]) -> None:
        self._channel = channel
        self._command = command
        self._where = where
        self._release = release
        self._pending = b""
        self._closed = False
        #: The end of the command's stderr, for the sentence when it dies.
        self._stderr: collections.deque[bytes] = collections.deque(maxlen=40)
        self._drainer = threading.Thread(target=self._drain, daemon=True,
                                         name=f"stderr-{node}")
        self._drainer.start()

    def exchange(self, line: bytes, *, timeout: float) -> bytes:
        try:
            return self._exchange(line, timeout)
        finally:
            # Between requests the stderr reader waits without a clock (until data or close).
            with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
                self._channel.settimeout(None)

    def _exchange(self, line: bytes, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        channel = self._channel
        try:
            channel.settimeout(remaining(deadline))
            channel.sendall(line)
        except TimeoutError as exc:
            raise self._give_up(timeout) from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise self._lost(exc) from exc
        while b"\n" not in self._pending:
            try:
                chunk = recv(channel, deadline)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise self._lost(exc) from exc
            if chunk is None:
                raise self._give_up(timeout)
            if not chunk:
                raise self._lost(None)
            self._pending += chunk
        answer, _, self._pending = self._pending.partition(b"\n")
        return answer

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # EOF first: the agent ends at the end of its input, then the channel goes.
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
            send_in_order(self._channel, lambda c: c._send_eof())  # type: ignore[attr-defined]
            self._channel.status_event.wait(2.0)
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
            self._channel.close()
        self._drainer.join(timeout=2.0)
        self._release()

    def _give_up(self, timeout: float) -> errors.NodeUnreachable:
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError, AttributeError):
            send_in_order(self._channel, kill_request)
        self.close()
        return timed_out(self._where, self._command, timeout)

    def _lost(self, exc: BaseException | None) -> errors.SessionLost:
        self.close()
        said = b"".join(self._stderr).decode(errors="replace").strip()
        tail = "\n  ".join(said.splitlines()[-8:])
        cause = f" ({exc})" if exc is not None and str(exc) else ""
        status = self._channel.exit_status if self._channel.exit_status_ready() else None
        ended = f"ended (exit code {status})" if status is not None else "was cut off"
        return errors.SessionLost(
            f"Node {self._where}: `{self._command}` {ended}{cause} before it answered"
            + (f"; its stderr says:\n  {tail}" if tail else "."),
            exit_code=status, stderr=b"".join(self._stderr), retry_after=1.0)

    def _drain(self) -> None:
        drain_stderr(self._channel, self._stderr, None, stop=lambda: self._closed)


def kill_request(channel: paramiko.Channel) -> paramiko.Message:
    """RFC 4254's "signal" request for KILL: paramiko has no public call for it."""
    message = paramiko.Message()
    message.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
    message.add_int(channel.remote_chanid)
    message.add_string("signal")
    message.add_boolean(False)
    message.add_string("KILL")
    return message


def recv(channel: paramiko.Channel, deadline: float) -> bytes | None:
    """One chunk of the command's stdout (b"" at its end), or None once ``deadline`` passed;
    connection errors are the caller's to name."""
    while time.monotonic() < deadline:
        channel.settimeout(remaining(deadline))
        try:
            data: bytes = channel.recv(CHUNK)
        except TimeoutError:
            continue
        return data
    return None


def remaining(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.001)


def feed(channel: paramiko.Channel, data: bytes) -> None:
    try:
        if data:
            channel.sendall(data)
        # paramiko's own EOF builder: marks eof_sent, or gives None when it was sent already.
        send_in_order(channel, lambda c: c._send_eof())  # type: ignore[attr-defined]
    except (paramiko.SSHException, OSError, EOFError):
        pass  # the command stopped reading; its exit status tells the rest


def send_in_order(
    channel: paramiko.Channel, build: Callable[[paramiko.Channel], paramiko.Message | None]
) -> None:
    """Send a channel message while holding the channel's lock, as paramiko sends data.

    paramiko's ``shutdown_write()`` builds its EOF under the lock but sends it after,
    so a CLOSE from another thread can overtake it; OpenSSH then drops the whole
    connection ("ieof packet referred to nonexistent channel").
    """
    with channel.lock:
        if channel.closed:
            return
        message = build(channel)
        send = getattr(channel.transport, "_send_user_message", None)
        if message is not None and send is not None:
            send(message)


def drain_stderr(channel: paramiko.Channel, into: list[bytes] | collections.deque[bytes],
                 deadline: float | None, *, stop: Callable[[], bool] = lambda: False) -> None:
    """Read the command's stderr into ``into`` until it ends; a read that times out
    gives up once ``deadline`` passed (run) or ``stop()`` says so (sessions)."""
    while True:
        try:
            chunk = channel.recv_stderr(CHUNK)
        except TimeoutError:
            if stop() or (deadline is not None and time.monotonic() >= deadline):
                return
            continue
        except (paramiko.SSHException, OSError, EOFError):
            return
        if not chunk:
            return
        into.append(chunk)
