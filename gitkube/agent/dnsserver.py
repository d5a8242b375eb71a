"""The node's cluster DNS server: ``python3 -m <agent> dns STATE_DIR``, one per cluster and node.

Why the agent's own server and not dnsmasq (Debian's, well kept): dnsmasq's CNAME targets must
be names it knows itself, so an ExternalName Service (a CNAME to a name outside the cluster)
cannot be served, and its SRV and CNAME records come from its configuration, which only a
restart re-reads (queries dropped meanwhile wait out the clients' 5 s timeout). Unbound could
be driven at run time but needs a control socket, a recursive resolver's configuration and
one more package on every node. This server is small because it does not resolve: it answers
the cluster's names from ``dnszone`` and relays everything else, bytes untouched, to the node's
own resolvers (``/etc/resolv.conf``), which do recursion, caching and DNSSEC as before.

It listens on the pod network's gateway address, port 53, UDP and TCP (bound with
IP_FREEBIND: the bridge appears with the first pod); the cluster DNS address reaches it
through the node's nftables DNAT. ``network.json`` is its input: the agent writes it and sends
SIGHUP, and the new records answer from the next query on (the file's mtime is also checked
every second). It leaves on SIGTERM or when ``network.json`` is gone. Started and found by
``daemons`` (``dns.pid``, ``dns.detail``, ``dns.lock``, ``dns.log``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import selectors
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import daemons, dnswire, dnszone, network

NAME = "dns"
PORT = 53
FORWARD_TIMEOUT = 2.0
#: socket.IP_FREEBIND, which Python does not name.
IP_FREEBIND = 15
RESOLV_CONF = Path("/etc/resolv.conf")
MAX_CHASE = 8
TCP_IDLE = 10.0


def ensure(state_dir: Path, address: str, *, reload: bool = True) -> str:
    """The DNS server of ``state_dir`` answers on ``address``: started if it does not run,
    told to read ``network.json`` again now when ``reload``. Returns "" or a sentence saying
    why it does not run."""
    found = daemons.running(state_dir, NAME)
    if found is not None and found[1] == address:
        if reload:
            with contextlib.suppress(ProcessLookupError):
                os.kill(found[0], signal.SIGHUP)
        return ""
    if found is not None:
        daemons.stop(state_dir, NAME)
    if daemons.start(state_dir, NAME, [NAME, str(state_dir)]):
        return ""
    why = daemons.last_log_line(state_dir, NAME) or "it left at once"
    return f"The node's DNS server did not start on {address}:{PORT}: {why}"


def reload(state_dir: Path) -> None:
    """Tell the running DNS server (if any) to read ``network.json`` again now."""
    found = daemons.running(state_dir, NAME)
    if found is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(found[0], signal.SIGHUP)


def upstreams(text: str, own: tuple[str, int], port: int = PORT) -> list[tuple[str, int]]:
    """The node's resolvers (at ``port``) from resolv.conf text, never this server itself."""
    found = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver" and (fields[1], port) != own:
            found.append((fields[1], port))
    return found[:3]


class Server:
    """The sockets and the records; ``serve`` runs it until SIGTERM."""

    def __init__(self, state_dir: Path, address: str, log: Callable[[str], None], *,
                 port: int = PORT, resolv_conf: Path = RESOLV_CONF,
                 upstream_port: int = PORT) -> None:
        self.state_dir = state_dir
        self.address = address
        self.log = log
        self.resolv_conf = resolv_conf
        self.upstream_port = upstream_port
        self.zone: dnszone.Zone | None = None
        self.resolvers: list[tuple[str, int]] = []
        self.loaded = 0.0
        self.udp = _bound(socket.SOCK_DGRAM, address, port)
        self.port = self.udp.getsockname()[1]
        self.tcp = _bound(socket.SOCK_STREAM, address, self.port)
        self.tcp.listen(64)
        self.upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        #: Relayed queries by the id sent upstream: (client address, client's id, deadline,
        #: the client's query when answering it needs more than relaying, records so far).
        self.pending: dict[int, tuple[Any, int, float, dnswire.Query | None,
                                      list[dnswire.Record]]] = {}
        self.reload()

    def run(self, stopping: list[int], wake: socket.socket) -> None:
        _run(self, stopping, wake)

    def close(self) -> None:
        for sock in (self.udp, self.tcp, self.upstream):
            sock.close()

    def reload(self) -> None:
        path = self.state_dir / network.STATE_FILE
        try:
            self.loaded = path.stat().st_mtime
            self.zone = dnszone.from_state(network.read_state(self.state_dir))
            self.resolvers = upstreams(self.resolv_conf.read_text(errors="replace"),
                                       (self.address, self.port), self.upstream_port)
        except OSError as exc:
            self.log(f"reload failed: {exc}")

    def stale(self) -> bool:
        try:
            return (self.state_dir / network.STATE_FILE).stat().st_mtime != self.loaded
        except OSError:
            return True

    # -- UDP ----------------------------------------------------------------------------------

    def on_query(self, message: bytes, client: Any) -> None:
        try:
            query = dnswire.parse_query(message)
        except dnswire.Malformed:
            self.udp.sendto(dnswire.error(message, dnswire.FORMERR), client)
            return
        reply, chase = self.local(query, message)
        if reply is not None:
            self.udp.sendto(reply, client)
        elif chase is not None:
            target, records = chase
            self.relay(_question(target, query.qtype), client, query.id, query, records)
        else:
            self.relay(message, client, query.id, None, [])

    def local(self, query: dnswire.Query, message: bytes, *, limit: int | None = None
              ) -> tuple[bytes | None, tuple[str, list[dnswire.Record]] | None]:
        """(the answer, None) from the zone, or (None, (name to ask upstream, CNAMEs so far)),
        or (None, None) when the question is not the zone's."""
        zone = self.zone
        found = zone.lookup(query.name, query.qtype) if zone is not None else None
        if found is None or zone is None:
            return None, None
        records = list(found.answers)
        for _ in range(MAX_CHASE):
            cnames = [r for r in found.answers if r.rtype == dnswire.CNAME]
            if not cnames or query.qtype == dnswire.CNAME:
                break
            target = str(cnames[0].data)
            if not zone.owns(target):
                return None, (target, records)
            found = zone.lookup(target, query.qtype) or dnswire.Answer()
            records += found.answers
        found.answers = records
        size = limit if limit is not None else query.udp_size
        return dnswire.answer(query, found, limit=size), None

    def relay(self, message: bytes, client: Any, client_id: int, query: dnswire.Query | None,
              records: list[dnswire.Record]) -> None:
        if not self.resolvers:
            self.udp.sendto(dnswire.error(message, dnswire.SERVFAIL), client)
            return
        ident = secrets.randbelow(1 << 16)
        while ident in self.pending:
            ident = secrets.randbelow(1 << 16)
        self.pending[ident] = (client, client_id, time.monotonic() + FORWARD_TIMEOUT, query,
                               records)
        with contextlib.suppress(OSError):
            self.upstream.sendto(struct.pack("!H", ident) + message[2:], self.resolvers[0])

    def on_upstream(self, message: bytes) -> None:
        if len(message) < 12:
            return
        entry = self.pending.pop(struct.unpack_from("!H", message)[0], None)
        if entry is None:
            return
        client, client_id, _, query, records = entry
        if query is None:
            self.udp.sendto(struct.pack("!H", client_id) + message[2:], client)
            return
        try:
            rcode, more = dnswire.parse_records(message)
        except dnswire.Malformed:
            rcode, more = dnswire.SERVFAIL, []
        result = dnswire.Answer(rcode=rcode, answers=records + more, authoritative=False)
        self.udp.sendto(dnswire.answer(query, result, limit=query.udp_size), client)

    def expire(self) -> None:
        now = time.monotonic()
        for ident in [i for i, entry in self.pending.items() if entry[2] < now]:
            del self.pending[ident]

    # -- TCP (answers too long for UDP) ----------------------------------------------------

    def on_connection(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(TCP_IDLE)
            while True:
                head = _read_exactly(conn, 2)
                if head is None:
                    return
                message = _read_exactly(conn, struct.unpack("!H", head)[0])
                if message is None:
                    return
                reply = self.answer_blocking(message)
                conn.sendall(struct.pack("!H", len(reply)) + reply)

    def answer_blocking(self, message: bytes) -> bytes:
        try:
            query = dnswire.parse_query(message)
        except dnswire.Malformed:
            return dnswire.error(message, dnswire.FORMERR)
        reply, chase = self.local(query, message, limit=65535)
        if reply is not None:
            return reply
        asked = message if chase is None else _question(chase[0], query.qtype)
        upstream = _ask_tcp(asked, self.resolvers)
        if upstream is None:
            return dnswire.error(message, dnswire.SERVFAIL)
        if chase is None:
            return upstream
        rcode, more = dnswire.parse_records(upstream)
        result = dnswire.Answer(rcode=rcode, answers=chase[1] + more, authoritative=False)
        return dnswire.answer(query, result)


def _bound(kind: int, address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
    sock.bind((address, port))
    return sock


def _question(name: str, qtype: int) -> bytes:
    ident = secrets.randbelow(1 << 16)
    return (struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + dnswire.encode_name(name)
            + struct.pack("!HH", qtype, dnswire.CLASS_IN))


def _read_exactly(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        try:
            chunk = conn.recv(size - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def _ask_tcp(message: bytes, resolvers: list[tuple[str, int]]) -> bytes | None:
    for resolver in resolvers:
        try:
            with socket.create_connection(resolver, timeout=FORWARD_TIMEOUT) as conn:
                conn.sendall(struct.pack("!H", len(message)) + message)
                head = _read_exactly(conn, 2)
                if head is not None:
                    return _read_exactly(conn, struct.unpack("!H", head)[0])
        except OSError:
            continue
    return None


def serve(state_dir: Path) -> int:
    """The server's life: hold the lock, answer until SIGTERM or until network.json is gone."""
    record = network.read_state(state_dir)
    pod_cidr = (record.get("network") or {}).get("podCIDR")
    if not pod_cidr:
        return 0
    address = network.gateway(pod_cidr)
    held = daemons.hold(state_dir, NAME, address)
    if held is None:
        return 0
    log = daemons.logger(state_dir, NAME)
    try:
        server = Server(state_dir, address, log)
    except OSError as exc:
        log(f"cannot listen on {address}:{PORT}: {exc}")
        return 1
    log(f"answering on {address}:{PORT}")
    _loop(server)
    log("stopped")
    return 0


def _loop(server: Server) -> None:
    stopping: list[int] = []
    wake_read, wake_write = socket.socketpair()
    wake_write.setblocking(False)
    signal.set_wakeup_fd(wake_write.fileno())
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    signal.signal(signal.SIGHUP, lambda _signum, _frame: None)
    server.run(stopping, wake_read)


def _run(server: Server, stopping: list[int], wake: socket.socket) -> None:
    """Answer until ``stopping`` has something in it; anything arriving on ``wake`` (a
    signal) reloads the records at once."""
    selector = selectors.DefaultSelector()
    for sock in (server.udp, server.upstream, server.tcp, wake):
        selector.register(sock, selectors.EVENT_READ)
    while not stopping:
        events = selector.select(timeout=1.0)
        # A reload first: a query read in the same round already gets the new records.
        for key, _ in sorted(events, key=lambda event: event[0].fileobj is not wake):
            ready = key.fileobj
            if ready is wake:
                with contextlib.suppress(OSError):
                    wake.recv(64)
                server.reload()
            elif ready is server.udp:
                with contextlib.suppress(OSError):
                    server.on_query(*server.udp.recvfrom(65535))
            elif ready is server.upstream:
                with contextlib.suppress(OSError):
                    server.on_upstream(server.upstream.recv(65535))
            elif ready is server.tcp:
                with contextlib.suppress(OSError):
                    conn, _ = server.tcp.accept()
                    threading.Thread(target=server.on_connection, args=(conn,),
                                     daemon=True).start()
        server.expire()
        if not (server.state_dir / network.STATE_FILE).exists():
            return
        if server.stale():
            server.reload()
    selector.close()
