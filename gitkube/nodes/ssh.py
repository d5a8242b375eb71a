"""The transport for a node reached over SSH, through paramiko.

One connection per node, opened on first use and reused by every command and
file of a pass; commands run on their own channels, files go through one SFTP
session. Host keys are checked against the inventory's known_hosts and an
unknown or changed key is refused (``HostKeyRejected``) unless the node says
``acceptUnknownHostKeys: true`` (``hostkeys.py``). Every wait is bounded: a command
that hangs raises ``NodeUnreachable`` after its timeout instead of stalling the pass.
Kept sessions (the agent's) and the channel primitives are in ``channels.py``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import posixpath
import secrets
import shlex
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import paramiko

from gitkube import errors
from gitkube.api import inventory
from gitkube.nodes import channels, hostkeys, transport

#: sshd allows 10 sessions per connection by default (MaxSessions); stay below it.
MAX_CHANNELS = 8

# paramiko logs what it raises ("Exception (client): Error reading SSH protocol banner" and a
# traceback, from its transport thread); with no handler Python prints that on stderr, over
# gitkube's output. Every failure reaches the user as one sentence naming the node instead.
_paramiko_log = logging.getLogger("paramiko")
_paramiko_log.addHandler(logging.NullHandler())
_paramiko_log.propagate = False
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

    def open_session(self, argv: Sequence[str]) -> channels.SSHSession:
        """Start ``argv`` on a channel of its own, kept open for ``exchange`` calls."""
        command = shlex.join(argv)
        timeout = self.settings.connect_timeout_seconds
        deadline = time.monotonic() + timeout
        # A session holds one of the connection's channels for as long as it lives.
        channel = self._claim_channel(command, deadline, timeout)
        try:
            channel.settimeout(channels.remaining(deadline))
            channel.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            channel.close()
            self._channels.release()
            raise self._unreachable(f"could not start `{command}`", exc) from exc
        return channels.SSHSession(channel, command, node=self.node, where=self.where,
                                   release=self._channels.release)

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
        channel.settimeout(channels.remaining(deadline))
        try:
            channel.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise self._unreachable(f"could not start `{command}`", exc) from exc
        # stdin, stdout and stderr move at once: a command that writes before it has read
        # all its input, or fills stderr while we read stdout, must not stall the channel.
        stderr: list[bytes] = []
        feeder = threading.Thread(target=channels.feed, args=(channel, stdin), daemon=True)
        drainer = threading.Thread(
            target=channels.drain_stderr, args=(channel, stderr, deadline), daemon=True
        )
        feeder.start()
        drainer.start()
        stdout: list[bytes] = []
        while True:
            try:
                chunk = channels.recv(channel, deadline)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise self._unreachable(f"lost the connection during `{command}`", exc) from exc
            if chunk is None:
                raise self._give_up(channel, command, timeout)
            if not chunk:
                break
            stdout.append(chunk)
        drainer.join(channels.remaining(deadline))
        if drainer.is_alive() or not channel.status_event.wait(channels.remaining(deadline)):
            raise self._give_up(channel, command, timeout)
        if not channel.exit_status_ready() or (channel.exit_status == -1 and not self._connected()):
            raise self._unreachable(f"lost the connection during `{command}`", None)
        return transport.Result(channel.exit_status, b"".join(stdout), b"".join(stderr))

    def _open_channel(self, command: str, deadline: float, timeout: float) -> paramiko.Channel:
        pause = 0.01
        while True:
            connection = self._connection()
            try:
                return connection.open_session(timeout=channels.remaining(deadline))
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
            channels.send_in_order(channel, channels.kill_request)
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
        client.set_missing_host_key_policy(hostkeys.policy(
            self.known_hosts, accept_unknown=self.settings.accept_unknown_host_keys))
        identity = self.settings.identity_file
        limit = self.settings.connect_timeout_seconds
        began = time.monotonic()
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
        except hostkeys.UnknownHostKey as exc:
            client.close()
            raise errors.HostKeyRejected(self._key_message(exc.key)) from exc
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise errors.HostKeyRejected(self._key_message(exc)) from exc
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
            raise self._not_connected(exc, time.monotonic() - began) from exc
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

    def _not_connected(self, exc: BaseException, waited: float) -> errors.NodeUnreachable:
        limit = self.settings.connect_timeout_seconds
        if isinstance(exc, TimeoutError) or waited >= limit:
            # A hung machine or sshd: TCP may still connect, but no banner comes. What
            # paramiko then says ("No existing session") is not the story; the wait is.
            return errors.NodeUnreachable(
                f"Node {self.where} did not answer within {limit:g} s while gitkube "
                "connected. Check that the machine is up and its sshd answers; gitkube "
                "will try again on the next pass.", retry_after=limit)
        return self._unreachable("could not connect", exc)

    def _unreachable(self, what: str, exc: BaseException | None) -> errors.NodeUnreachable:
        return channels.unreachable(self.where, what, exc, self.settings.connect_timeout_seconds)

    def _timed_out(self, command: str, timeout: float) -> errors.NodeUnreachable:
        return channels.timed_out(self.where, command, timeout)

    def _key_message(self, key: paramiko.PKey | paramiko.BadHostKeyException) -> str:
        port = self.settings.port
        if isinstance(key, paramiko.BadHostKeyException):
            return hostkeys.changed_key_message(self.where, self.address, port,
                                                self.known_hosts, key)
        return hostkeys.unknown_key_message(self.where, self.address, port, self.known_hosts,
                                            key)

def _open_source(source: bytes | Path) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
