"""The transport for a node reached over SSH, through paramiko.

One connection per node, opened on first use and reused by every command and
file of a pass; commands run on their own channels, files go through one SFTP
session. Host keys are checked against the inventory's known_hosts and an
unknown or changed key is refused (``HostKeyRejected``) unless the node says
``acceptUnknownHostKeys: true``. Every wait is bounded: a command that hangs
raises ``NodeUnreachable`` after its timeout instead of stalling the pass.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import fcntl
import hashlib
import io
import posixpath
import secrets
import shlex
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import paramiko

from gitkube import errors
from gitkube.api import inventory
from gitkube.nodes import transport

#: sshd allows 10 sessions per connection by default (MaxSessions); stay below it.
MAX_CHANNELS = 8
_CHUNK = 1 << 16
#: Seconds between SSH keepalive messages on an idle connection.
KEEPALIVE_SECONDS = 15


class SSHTransport:
    """Run commands and write files on one node over one SSH connection."""

    def __init__(self, node: inventory.InventoryNode, *, io_timeout: float = 120.0) -> None:
        self.node = node.name
        self.address = node.address
        self.settings = node.ssh
        self.known_hosts = Path(node.ssh.known_hosts).expanduser()
        self._io_timeout = io_timeout
        self._lock = threading.Lock()
        self._sftp_lock = threading.Lock()
        self._channels = threading.BoundedSemaphore(MAX_CHANNELS)
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._directories: set[str] = set()

    @property
    def where(self) -> str:
        """The node as people name it in messages: ``node-1 (10.0.0.5 port 22)``."""
        return f"{self.node} ({self.address} port {self.settings.port})"

    def run(
        self, argv: Sequence[str], *, stdin: bytes = b"", timeout: float = 60.0
    ) -> transport.Result:
        command = shlex.join(argv)
        deadline = time.monotonic() + timeout
        channel = self._claim_channel(command, deadline, timeout)
        try:
            return self._exchange(channel, command, stdin, deadline, timeout)
        finally:
            channel.close()
            self._channels.release()

    def put(self, source: bytes | Path, remote_path: str, *, mode: int = 0o644) -> None:
        """Write a file atomically; ``~/`` at the start of ``remote_path`` means the login home."""
        path = remote_path[2:] if remote_path.startswith("~/") else remote_path
        directory, name = posixpath.split(path)
        temporary = posixpath.join(directory, f".{name}.{secrets.token_hex(4)}")
        with self._sftp_lock:
            sftp = self._sftp_client()
            try:
                self._make_directories(sftp, directory)
                with _open_source(source) as data:
                    sftp.putfo(data, temporary, confirm=False)
                sftp.chmod(temporary, mode)
                sftp.posix_rename(temporary, path)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                self._discard(sftp, temporary)
                raise self._unreachable(f"could not write {remote_path}", exc) from exc

    def open_session(self, argv: Sequence[str]) -> SSHSession:
        """Start ``argv`` on a channel of its own, kept open for ``exchange`` calls."""
        command = shlex.join(argv)
        timeout = self.settings.connect_timeout_seconds
        deadline = time.monotonic() + timeout
        # A session holds one of the connection's channels for as long as it lives.
        channel = self._claim_channel(command, deadline, timeout)
        try:
            channel.settimeout(_remaining(deadline))
            channel.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            channel.close()
            self._channels.release()
            raise self._unreachable(f"could not start `{command}`", exc) from exc
        return SSHSession(self, channel, command)

    def _claim_channel(self, command: str, deadline: float, timeout: float
                       ) -> paramiko.Channel:
        """A new channel and one of the connection's slots; the caller releases both."""
        if not self._channels.acquire(timeout=timeout):
            raise self._timed_out(command, timeout)
        try:
            return self._open_channel(command, deadline, timeout)
        except BaseException:
            self._channels.release()
            raise

    def close(self) -> None:
        # Same order as put(): the SFTP lock first, then the connection lock.
        with self._sftp_lock, self._lock:
            self._close_locked()

    def __enter__(self) -> SSHTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- commands -------------------------------------------------------------------------

    def _exchange(
        self,
        channel: paramiko.Channel,
        command: str,
        stdin: bytes,
        deadline: float,
        timeout: float,
    ) -> transport.Result:
        channel.settimeout(_remaining(deadline))
        try:
            channel.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise self._unreachable(f"could not start `{command}`", exc) from exc
        # stdin, stdout and stderr move at once: a command that writes before it has read
        # all its input, or fills stderr while we read stdout, must not stall the channel.
        stderr: list[bytes] = []
        feeder = threading.Thread(target=_feed, args=(channel, stdin), daemon=True)
        drainer = threading.Thread(
            target=_drain_stderr, args=(channel, stderr, deadline), daemon=True
        )
        feeder.start()
        drainer.start()
        stdout: list[bytes] = []
        while True:
            try:
                chunk = _recv(channel, deadline)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise self._unreachable(f"lost the connection during `{command}`", exc) from exc
            if chunk is None:
                raise self._give_up(channel, command, timeout)
            if not chunk:
                break
            stdout.append(chunk)
        drainer.join(_remaining(deadline))
        if drainer.is_alive() or not channel.status_event.wait(_remaining(deadline)):
            raise self._give_up(channel, command, timeout)
        if not channel.exit_status_ready() or (channel.exit_status == -1 and not self._connected()):
            raise self._unreachable(f"lost the connection during `{command}`", None)
        return transport.Result(channel.exit_status, b"".join(stdout), b"".join(stderr))

    def _open_channel(self, command: str, deadline: float, timeout: float) -> paramiko.Channel:
        pause = 0.01
        while True:
            connection = self._connection()
            try:
                return connection.open_session(timeout=_remaining(deadline))
            except paramiko.ChannelException as exc:
                # sshd refused a session: it is still freeing those just closed (MaxSessions
                # counts them a little longer than we do). The connection itself is fine.
                if time.monotonic() + pause >= deadline:
                    raise self._unreachable(f"refused a channel for `{command}`", exc) from exc
                time.sleep(pause)
                pause = min(pause * 2, 0.2)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                if connection.is_active() and time.monotonic() + pause < deadline:
                    time.sleep(pause)
                    pause = min(pause * 2, 0.2)
                    continue
                self._forget(connection)
                if time.monotonic() >= deadline:
                    raise self._timed_out(command, timeout) from exc
                raise self._unreachable(f"could not open a channel for `{command}`", exc) from exc

    def _give_up(
        self, channel: paramiko.Channel, command: str, timeout: float
    ) -> errors.NodeUnreachable:
        """Ask sshd to kill the command's process group (RFC 4254 "signal"), then report it.

        Without this a hung command outlives its channel and piles up pass after pass.
        paramiko has no public call for the request, so it is built here. OpenSSH honours it
        from 7.9 on, but not for root logins (their sessions live in sshd's monitor); there
        the command runs on until it ends by itself.
        """
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError, AttributeError):
            _send_in_order(channel, _kill_request)
        return self._timed_out(command, timeout)

    # -- connection -----------------------------------------------------------------------

    def _connection(self) -> paramiko.Transport:
        with self._lock:
            if self._client is not None:
                live = self._client.get_transport()
                if live is not None and live.is_active():
                    return live
                self._close_locked()
            self._client = self._connect()
            live = self._client.get_transport()
            assert live is not None, "paramiko returned from connect() without a transport"
            return live

    def _connect(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        try:
            if self.known_hosts.exists():
                client.load_host_keys(str(self.known_hosts))
        except (OSError, paramiko.SSHException) as exc:
            raise errors.ConfigError(
                f"Node {self.node}: cannot read known_hosts {self.known_hosts}: {exc}. "
                "Fix the file or point ssh.knownHosts in inventory.yaml at another one."
            ) from exc
        policy: paramiko.MissingHostKeyPolicy
        if self.settings.accept_unknown_host_keys:
            policy = _RememberPolicy(self.known_hosts)
        else:
            policy = _RefusePolicy()
        client.set_missing_host_key_policy(policy)
        identity = self.settings.identity_file
        limit = self.settings.connect_timeout_seconds
        try:
            # Without TCP_NODELAY every short command waits on Nagle and delayed ACKs:
            # about 50 ms each instead of 3 ms on a LAN.
            sock = socket.create_connection((self.address, self.settings.port), timeout=limit)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.connect(
                self.address,
                sock=sock,
                port=self.settings.port,
                username=self.settings.user,
                key_filename=str(Path(identity).expanduser()) if identity else None,
                allow_agent=identity is None,
                look_for_keys=identity is None,
                timeout=limit,
                banner_timeout=limit,
                auth_timeout=limit,
                channel_timeout=limit,
            )
        except _UnknownHostKey as exc:
            client.close()
            raise errors.HostKeyRejected(self._unknown_key_message(exc.key)) from exc
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise errors.HostKeyRejected(self._changed_key_message(exc)) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            key = f"the key {identity}" if identity else "the SSH agent or default keys"
            raise errors.NodeUnreachable(
                f"Node {self.where} refused user {self.settings.user} with {key}: {exc}. "
                "Check ssh.user and ssh.identityFile in inventory.yaml and the node's "
                "authorized_keys."
            ) from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            raise self._unreachable("could not connect", exc) from exc
        live = client.get_transport()
        if live is not None:
            # ``gitkube serve`` keeps the connection between passes: keep NAT and firewall
            # state alive, and notice a peer that vanished, without waiting for a request.
            live.set_keepalive(KEEPALIVE_SECONDS)
        return client

    def _connected(self) -> bool:
        with self._lock:
            live = self._client.get_transport() if self._client is not None else None
            return live is not None and live.is_active()

    def _forget(self, connection: paramiko.Transport) -> None:
        """Drop ``connection`` so the next call reconnects (unless that happened already)."""
        with self._lock:
            if self._client is not None and self._client.get_transport() is connection:
                self._close_locked()

    def _close_locked(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        if self._client is not None:
            self._client.close()
            self._client = None
        self._directories.clear()

    # -- files ----------------------------------------------------------------------------

    def _sftp_client(self) -> paramiko.SFTPClient:
        if self._sftp is not None:
            channel = self._sftp.get_channel()
            if channel is not None and not channel.closed:
                return self._sftp
        connection = self._connection()
        try:
            self._sftp = paramiko.SFTPClient.from_transport(connection)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise self._unreachable("could not open SFTP", exc) from exc
        channel = self._sftp.get_channel() if self._sftp is not None else None
        if self._sftp is None or channel is None:
            raise self._unreachable("could not open SFTP", None)
        channel.settimeout(self._io_timeout)
        return self._sftp

    def _make_directories(self, sftp: paramiko.SFTPClient, directory: str) -> None:
        parts = [part for part in directory.split("/") if part]
        prefix = "/" if directory.startswith("/") else ""
        for part in parts:
            prefix = posixpath.join(prefix, part) if prefix else part
            if prefix in self._directories:
                continue
            try:
                sftp.stat(prefix)
            except FileNotFoundError:
                try:
                    sftp.mkdir(prefix)
                except OSError:
                    sftp.stat(prefix)  # made meanwhile by someone else, or a real failure
            self._directories.add(prefix)

    @staticmethod
    def _discard(sftp: paramiko.SFTPClient, path: str) -> None:
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
            sftp.remove(path)

    # -- messages -------------------------------------------------------------------------

    def _unreachable(self, what: str, exc: BaseException | None) -> errors.NodeUnreachable:
        cause = f": {exc}" if exc is not None and str(exc) else ""
        return errors.NodeUnreachable(
            f"Node {self.where} {what}{cause}. Check that the machine is up and sshd answers; "
            "gitkube will try again on the next pass.",
            retry_after=self.settings.connect_timeout_seconds,
        )

    def _timed_out(self, command: str, timeout: float) -> errors.NodeUnreachable:
        shown = command if len(command) <= 120 else command[:117] + "..."
        return errors.NodeUnreachable(
            f"Node {self.where} did not finish `{shown}` within {timeout:g} s; "
            "it may still be running there. Check the node, or raise the timeout.",
            retry_after=timeout,
        )

    def _host_entry(self) -> str:
        port = self.settings.port
        return self.address if port == 22 else f"[{self.address}]:{port}"

    def _scan_hint(self) -> str:
        return f"`ssh-keyscan -p {self.settings.port} {self.address} >> {self.known_hosts}`"

    def _unknown_key_message(self, key: paramiko.PKey) -> str:
        return (
            f"Node {self.where} offered the {key.get_name()} host key {fingerprint(key)}, which "
            f"is not in {self.known_hosts}; gitkube refuses unknown host keys. If this is the "
            f"right machine, add its key with {self._scan_hint()}, or set "
            "ssh.acceptUnknownHostKeys: true for this node in inventory.yaml."
        )

    def _changed_key_message(self, exc: paramiko.BadHostKeyException) -> str:
        return (
            f"Node {self.where} offered the host key {fingerprint(exc.key)}, but "
            f"{self.known_hosts} expects {fingerprint(exc.expected_key)}: the machine was "
            "reinstalled, or something is in between. If the change is expected, remove the old "
            f"entry with `ssh-keygen -R '{self._host_entry()}' -f {self.known_hosts}` and add the "
            f"new one with {self._scan_hint()}."
        )


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's way of showing a key: ``SHA256:`` and unpadded base64."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class _UnknownHostKey(paramiko.SSHException):
    def __init__(self, hostname: str, key: paramiko.PKey) -> None:
        super().__init__(f"{hostname} is not in known_hosts")
        self.key = key


class _RefusePolicy(paramiko.MissingHostKeyPolicy):
    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise _UnknownHostKey(hostname, key)


class _RememberPolicy(paramiko.MissingHostKeyPolicy):
    """Trust on first use: accept the key and append it to known_hosts for next time."""

    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        # Appending (not rewriting) keeps the file's comments and hashed entries; the lock
        # keeps parallel first connections from interleaving their lines.
        with self.known_hosts.open("a", encoding="ascii") as out:
            fcntl.flock(out, fcntl.LOCK_EX)
            out.write(line)


class SSHSession:
    """One command on its own channel, spoken to a line at a time (``transport.Session``)."""

    def __init__(self, owner: SSHTransport, channel: paramiko.Channel, command: str) -> None:
        self._owner = owner
        self._channel = channel
        self._command = command
        self._pending = b""
        self._closed = False
        #: The end of the command's stderr, for the sentence when it dies.
        self._stderr: collections.deque[bytes] = collections.deque(maxlen=40)
        self._drainer = threading.Thread(target=self._drain, daemon=True,
                                         name=f"stderr-{owner.node}")
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
            channel.settimeout(_remaining(deadline))
            channel.sendall(line)
        except TimeoutError as exc:
            raise self._give_up(timeout) from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise self._lost(exc) from exc
        while b"\n" not in self._pending:
            try:
                chunk = _recv(channel, deadline)
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
            _send_in_order(self._channel, lambda c: c._send_eof())  # type: ignore[attr-defined]
            self._channel.status_event.wait(2.0)
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
            self._channel.close()
        self._drainer.join(timeout=2.0)
        self._owner._channels.release()

    def _give_up(self, timeout: float) -> errors.NodeUnreachable:
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError, AttributeError):
            _send_in_order(self._channel, _kill_request)
        self.close()
        return self._owner._timed_out(self._command, timeout)

    def _lost(self, exc: BaseException | None) -> errors.SessionLost:
        self.close()
        said = b"".join(self._stderr).decode(errors="replace").strip()
        tail = "\n  ".join(said.splitlines()[-8:])
        cause = f" ({exc})" if exc is not None and str(exc) else ""
        status = self._channel.exit_status if self._channel.exit_status_ready() else None
        ended = f"ended (exit code {status})" if status is not None else "was cut off"
        return errors.SessionLost(
            f"Node {self._owner.where}: `{self._command}` {ended}{cause} before it answered"
            + (f"; its stderr says:\n  {tail}" if tail else "."),
            exit_code=status, stderr=b"".join(self._stderr), retry_after=1.0)

    def _drain(self) -> None:
        while True:
            try:
                chunk = self._channel.recv_stderr(_CHUNK)
            except TimeoutError:
                if self._closed:
                    return
                continue
            except (paramiko.SSHException, OSError, EOFError):
                return
            if not chunk:
                return
            self._stderr.append(chunk)


def _kill_request(channel: paramiko.Channel) -> paramiko.Message:
    message = paramiko.Message()
    message.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
    message.add_int(channel.remote_chanid)
    message.add_string("signal")
    message.add_boolean(False)
    message.add_string("KILL")
    return message


def _recv(channel: paramiko.Channel, deadline: float) -> bytes | None:
    """One chunk of the command's stdout (b"" at its end), or None once ``deadline`` passed;
    connection errors are the caller's to name."""
    while time.monotonic() < deadline:
        channel.settimeout(_remaining(deadline))
        try:
            data: bytes = channel.recv(_CHUNK)
        except TimeoutError:
            continue
        return data
    return None


def _remaining(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.001)


def _feed(channel: paramiko.Channel, data: bytes) -> None:
    try:
        if data:
            channel.sendall(data)
        # paramiko's own EOF builder: marks eof_sent, or gives None when it was sent already.
        _send_in_order(channel, lambda c: c._send_eof())  # type: ignore[attr-defined]
    except (paramiko.SSHException, OSError, EOFError):
        pass  # the command stopped reading; its exit status tells the rest


def _send_in_order(
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


def _drain_stderr(channel: paramiko.Channel, into: list[bytes], deadline: float) -> None:
    while True:
        try:
            chunk = channel.recv_stderr(_CHUNK)
        except TimeoutError:
            if time.monotonic() >= deadline:
                return
            continue
        except (paramiko.SSHException, OSError, EOFError):
            return
        if not chunk:
            return
        into.append(chunk)


def _open_source(source: bytes | Path) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
