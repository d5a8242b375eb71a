"""containerd's gRPC API over its unix socket, with the standard library only.

The containerd runtime (``containerd.py``) reads and changes containerd through its API
rather than ``ctr`` where ``ctr`` cannot say or do what the agent needs: ``ctr`` prints
neither a task's exit status and time nor containers' labels in bulk, cannot set a
container's user, groups or hostname beside an image's snapshot, and costs a process
start per call. So this module speaks the little of gRPC that unary (and
server-streaming) calls need on one HTTP/2 connection, as ``grpc_health.py`` does for
probes: the preface, SETTINGS with windows large enough that nothing waits for a
WINDOW_UPDATE, HEADERS and DATA per call on streams 1, 3, 5..., and the answers until
the stream ends. Protobuf is encoded from (field, value) pairs and decoded into field
number → values (``Message``): the calls in ``containerd_api.py`` name the fields.

containerd scopes everything by the ``containerd-namespace`` header; the agent always
sends its own (``gitkube``), so it never sees another client's containers.
"""

from __future__ import annotations

import socket
import struct
import time
import urllib.parse
from collections.abc import Iterable
from typing import Union

from .. import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    0, 1, 3, 4, 6, 7, 8, 9)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
SETTINGS_ENABLE_PUSH, SETTINGS_INITIAL_WINDOW = 0x2, 0x4
MAX_WINDOW = 2**31 - 1
#: gRPC codes containerd answers with that callers tell apart.
NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION = 5, 6, 9

#: A protobuf field value to encode: varint (int, bool), bytes/str, or a nested message
#: (already encoded, as bytes).
Value = Union[int, bool, str, bytes]  # noqa: UP007  (the agent runs on Python 3.9)
#: A decoded message: field number → its values in order (ints or raw bytes).
Message = dict[int, list[Union[int, bytes]]]  # noqa: UP007


class ApiError(Exception):
    """containerd answered a call with a gRPC error (``code``) or could not be reached."""

    def __init__(self, message: str, code: int = -1) -> None:
        super().__init__(message)
        self.code = code


# -- protobuf ---------------------------------------------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s as two's complement, as protobuf does
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode(fields: Iterable[tuple[int, Value | None]]) -> bytes:
    """A message from (field number, value) pairs; None and proto3 defaults are left out."""
    out = bytearray()
    for number, value in fields:
        if value is None or value == "" or value == b"" or value is False or (
                isinstance(value, int) and not isinstance(value, bool) and value == 0):
            continue
        if isinstance(value, (bool, int)):
            out += varint(number << 3) + varint(int(value))
        else:
            raw = value.encode() if isinstance(value, str) else value
            out += varint(number << 3 | 2) + varint(len(raw)) + raw
    return bytes(out)


def string_map(number: int, values: dict[str, str]) -> list[tuple[int, Value | None]]:
    """A ``map<string, string>`` field: one entry message per key."""
    return [(number, encode([(1, k), (2, v)])) for k, v in sorted(values.items())]


def any_json(type_url: str, document: bytes) -> bytes:
    """A ``google.protobuf.Any`` holding a JSON document (how containerd carries OCI types)."""
    return encode([(1, type_url), (2, document)])


def decode(data: bytes) -> Message:
    out: Message = {}
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise ApiError(f"containerd sent a malformed message (protobuf wire type {wire})")
        out.setdefault(number, []).append(value)
    return out


def text(message: Message, number: int) -> str:
    values = message.get(number) or [b""]
    raw = values[-1]
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def number(message: Message, field: int) -> int:
    values = message.get(field) or [0]
    found = values[-1]
    return found if isinstance(found, int) else 0


def nested(message: Message, field: int) -> list[Message]:
    return [decode(v) for v in message.get(field, []) if isinstance(v, bytes)]


def labels(message: Message, field: int) -> dict[str, str]:
    """A ``map<string, string>`` field."""
    return {text(entry, 1): text(entry, 2) for entry in nested(message, field)}


def seconds(message: Message, field: int) -> float:
    """A ``google.protobuf.Timestamp`` field as Unix seconds (0: not set, or Go's zero time)."""
    found = nested(message, field)
    if not found:
        return 0.0
    whole = number(found[0], 1)
    if whole >= 1 << 63:  # int64 in two's complement: before 1970 (Go's zero time)
        return 0.0
    return whole + number(found[0], 2) / 1e9


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos
    raise ApiError("containerd sent a truncated protobuf varint")


# -- HTTP/2 -----------------------------------------------------------------------------------


def _frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return (struct.pack(">I", len(payload))[1:] + bytes([kind, flags])
            + struct.pack(">I", stream) + payload)


class Connection:
    """One HTTP/2 connection to containerd's socket; calls run one after another on it."""

    def __init__(self, path: str, namespace: str, *, timeout: float = 60.0) -> None:
        self.path = path
        self.namespace = namespace
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.decoder = hpack.Decoder()
        self.buffer = b""
        self.stream = -1

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            raise ApiError(f"cannot reach containerd at {self.path}: "
                           f"{exc.strerror or exc}") from exc
        self.sock, self.decoder, self.buffer, self.stream = sock, hpack.Decoder(), b"", -1
        sock.sendall(PREFACE + _frame(SETTINGS, 0, 0, struct.pack(
            ">HIHI", SETTINGS_ENABLE_PUSH, 0, SETTINGS_INITIAL_WINDOW, MAX_WINDOW))
            + _frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", MAX_WINDOW - 65535)))
        return sock

    def call(self, method: str, request: bytes, *, timeout: float | None = None
             ) -> list[bytes]:
        """Call ``/service/Method`` with one request message; answers the response messages
        (one for a unary call). A broken connection is made again once."""
        for attempt in (0, 1):
            fresh = self.sock is None
            sock = self.sock or self._connect()
            try:
                return self._call(sock, method, request, timeout or self.timeout)
            except (OSError, _Closed) as exc:
                self.close()
                if fresh or attempt:
                    raise ApiError(f"containerd at {self.path} broke off {method}: "
                                   f"{exc}") from exc
        raise AssertionError("unreachable")

    def _call(self, sock: socket.socket, method: str, request: bytes, timeout: float
              ) -> list[bytes]:
        self.stream += 2
        stream = self.stream
        headers = [(":method", "POST"), (":scheme", "http"), (":path", method),
                   (":authority", "containerd"), ("content-type", "application/grpc"),
                   ("te", "trailers"), ("containerd-namespace", self.namespace),
                   ("grpc-timeout", f"{max(1, int(timeout * 1000))}m")]
        body = b"\x00" + struct.pack(">I", len(request)) + request
        sock.sendall(_frame(HEADERS, END_HEADERS, stream, hpack.encode(headers))
                     + _frame(DATA, END_STREAM, stream, body))
        deadline = time.monotonic() + timeout
        data, fields = bytearray(), dict[str, str]()
        while True:
            kind, flags, payload = self._next_frame(sock, stream, deadline)
            if kind == DATA:
                data += payload
            elif kind == HEADERS:
                fields.update(self.decoder.decode(payload))
            if flags & END_STREAM:
                break
        code = int(fields.get("grpc-status", "0") or 0)
        if code:
            message = urllib.parse.unquote(fields.get("grpc-message", ""))
            raise ApiError(message or f"gRPC status {code}", code)
        messages, pos = [], 0
        while pos + 5 <= len(data):
            (length,) = struct.unpack(">I", data[pos + 1:pos + 5])
            messages.append(bytes(data[pos + 5:pos + 5 + length]))
            pos += 5 + length
        return messages

    def _next_frame(self, sock: socket.socket, stream: int, deadline: float
                    ) -> tuple[int, int, bytes]:
        while True:
            head = self._read(sock, 9, deadline)
            length = int.from_bytes(head[:3], "big")
            kind, flags = head[3], head[4]
            on = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
            payload = self._read(sock, length, deadline)
            if kind == SETTINGS and not flags & ACK:
                sock.sendall(_frame(SETTINGS, ACK, 0))
            elif kind == PING and not flags & ACK:
                sock.sendall(_frame(PING, ACK, 0, payload))
            elif kind == GOAWAY:
                raise _Closed("containerd closed the connection (GOAWAY)")
            elif on == stream and kind == RST_STREAM:
                raise _Closed("containerd reset the call (RST_STREAM)")
            elif on == stream and kind in (DATA, HEADERS):
                if flags & PADDED:
                    payload = payload[1:len(payload) - payload[0]]
                if kind == HEADERS and flags & PRIORITY:
                    payload = payload[5:]
                while kind == HEADERS and not flags & END_HEADERS:
                    more = self._read(sock, 9, deadline)
                    flags |= more[4] & END_HEADERS
                    payload += self._read(sock, int.from_bytes(more[:3], "big"), deadline)
                return kind, flags, payload

    def _read(self, sock: socket.socket, size: int, deadline: float) -> bytes:
        while len(self.buffer) < size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Closed("containerd did not answer in time")
            sock.settimeout(left)
            chunk = sock.recv(262144)
            if not chunk:
                raise _Closed("containerd closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out


class _Closed(Exception):
    """The connection cannot carry the call (closed, reset, timed out)."""
