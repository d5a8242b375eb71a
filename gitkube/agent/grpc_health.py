"""The gRPC probe: one ``grpc.health.v1.Health/Check`` call over plaintext HTTP/2.

Kubernetes' ``grpc:`` probe (kubelet's ``pkg/probe/grpc``) asks the container's
health service about ``service`` and passes only on SERVING. The agent must run on
nodes with nothing but python3, so instead of a gRPC library this module speaks the
few frames that one unary call needs: the connection preface and SETTINGS, a HEADERS
and a DATA frame on stream 1, then frames until the stream ends. It answers the
server's SETTINGS and PINGs, reads the HealthCheckResponse (protobuf field 1, the
status enum) and the trailers' ``grpc-status``. Outputs read as kubelet's do, so a
pod's events say what a Kubernetes user would expect.

It runs in the probe child (``probing.probe_child``), inside the pod's network
namespace; ``check`` is bounded by the probe's timeout as a whole.
"""

from __future__ import annotations

import socket
import struct
import time
import urllib.parse

from . import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
PATH = "/grpc.health.v1.Health/Check"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0, 1, 3, 4, 6, 7, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
SETTINGS_ENABLE_PUSH = 0x2
STREAM = 1

#: grpc.health.v1.HealthCheckResponse.ServingStatus.
STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
SERVING = 1
#: gRPC status codes, named as grpc-go prints them (kubelet's output uses these).
CODES = ("OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
         "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
         "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
         "Unauthenticated")
NOT_FOUND, DEADLINE_EXCEEDED, UNIMPLEMENTED = 5, 4, 12


class _Failed(Exception):
    """The probe's verdict is failure; the message is its output."""


def check(host: str, port: int, service: str, timeout: float) -> tuple[bool, str]:
    """Ask ``host:port`` whether ``service`` is SERVING; (passed, kubelet-style output)."""
    addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        return False, (f'timeout: failed to connect service "{addr}" within {timeout:g}s: '
                       "context deadline exceeded")
    except OSError as exc:
        return False, f'error: failed to connect service at "{addr}": {_reason(exc)}'
    call = _Call(sock, deadline)
    try:
        call.handshake(addr, timeout)
        status = call.check(addr, service, timeout)
    except _Failed as failed:
        return False, str(failed)
    except OSError as exc:
        return False, f"error: health rpc probe failed: {_reason(exc)}"
    except (hpack.HpackError, struct.error) as exc:
        return False, f"error: health rpc probe failed: a malformed HTTP/2 answer: {exc}"
    finally:
        sock.close()
    if status != SERVING:
        return False, f'service unhealthy (responded with "{STATUSES.get(status, status)}")'
    return True, "service healthy"


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower() if exc.errno else str(exc)


def _frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(
        ">I", stream) + payload


def health_request(service: str) -> bytes:
    """A gRPC message (5-byte prefix) holding HealthCheckRequest{service}."""
    body = b""
    if service:  # proto3 leaves a default (empty) string out
        raw = service.encode()
        body = b"\x0a" + _varint(len(raw)) + raw  # field 1, length-delimited
    return b"\x00" + struct.pack(">I", len(body)) + body


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def parse_status(body: bytes) -> int:
    """HealthCheckResponse's status (field 1, varint); 0 (UNKNOWN) when left out."""
    status, pos = 0, 0
    while pos < len(body):
        key, pos = _read_varint(body, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(body, pos)
            if field == 1:
                status = value
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = _read_varint(body, pos)
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise _Failed(f"error: health rpc probe failed: a malformed response "
                          f"(protobuf wire type {wire})")
    return status


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos
    raise _Failed("error: health rpc probe failed: a truncated protobuf varint")


class _Call:
    """One connection carrying one call on stream 1."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.decoder = hpack.Decoder()
        self.buffer = b""
        self.connected = False

    def handshake(self, addr: str, timeout: float) -> None:
        # grpc-go (kubelet's dialer) is connected once the server's SETTINGS arrive.
        self.sock.sendall(PREFACE + _frame(SETTINGS, 0, 0, struct.pack(
            ">HI", SETTINGS_ENABLE_PUSH, 0)))
        while not self.connected:
            self._next_frame(addr, timeout)

    def check(self, addr: str, service: str, timeout: float) -> int:
        headers = [(":method", "POST"), (":scheme", "http"), (":path", PATH),
                   (":authority", addr), ("content-type", "application/grpc"),
                   ("te", "trailers"), ("user-agent", "kube-probe/gitkube"),
                   ("grpc-timeout", f"{max(1, int(timeout * 1000))}m")]
        self.sock.sendall(_frame(HEADERS, END_HEADERS, STREAM, hpack.encode(headers))
                          + _frame(DATA, END_STREAM, STREAM, health_request(service)))
        data, fields = b"", dict[str, str]()
        while True:
            kind, flags, payload = self._next_frame(addr, timeout)
            if kind == DATA:
                data += payload
            elif kind == HEADERS:
                fields.update(self.decoder.decode(payload))
            if flags & END_STREAM:
                break
        return self._verdict(data, fields, timeout)

    def _verdict(self, data: bytes, fields: dict[str, str], timeout: float) -> int:
        if fields.get(":status", "200") != "200":
            raise _Failed(f"error: health rpc probe failed: rpc error: code = Unknown desc = "
                          f"unexpected HTTP status code received from server: "
                          f"{fields[':status']}")
        code = int(fields.get("grpc-status", "0") or 0)
        message = urllib.parse.unquote(fields.get("grpc-message", ""))
        if code == UNIMPLEMENTED:
            raise _Failed("error: this server does not implement the grpc health protocol "
                          f"(grpc.health.v1.Health): {message}")
        if code == DEADLINE_EXCEEDED:
            raise _Failed(f"timeout: health rpc did not complete within {timeout:g}s")
        if code != 0:
            if code == NOT_FOUND and not message:
                message = "unknown service"  # what grpc-go's health server says
            name = CODES[code] if code < len(CODES) else f"Code({code})"
            raise _Failed(f"error: health rpc probe failed: rpc error: code = {name} "
                          f"desc = {message}")
        if len(data) < 5 or data[0] != 0:
            raise _Failed("error: health rpc probe failed: rpc error: code = Internal desc = "
                          "the server sent no (uncompressed) HealthCheckResponse")
        (length,) = struct.unpack(">I", data[1:5])
        return parse_status(data[5:5 + length])

    def _next_frame(self, addr: str, timeout: float) -> tuple[int, int, bytes]:
        """The next frame of stream 1 (or the SETTINGS that connects); the rest is answered."""
        while True:
            head = self._read(9, addr, timeout)
            length = int.from_bytes(head[:3], "big")
            kind, flags = head[3], head[4]
            stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
            payload = self._read(length, addr, timeout)
            if kind == SETTINGS and not flags & ACK:
                # Its limits bound what we send, and one small call fits them all.
                self.sock.sendall(_frame(SETTINGS, ACK, 0))
                if not self.connected:
                    self.connected = True
                    return kind, flags, payload
            elif kind == PING and not flags & ACK:
                self.sock.sendall(_frame(PING, ACK, 0, payload))
            elif kind == GOAWAY:
                last, error = struct.unpack(">II", payload[:8])
                if error or (last & 0x7FFFFFFF) < STREAM:
                    raise _Failed(f"error: health rpc probe failed: the server went away "
                                  f"(GOAWAY, HTTP/2 error code {error}): "
                                  f"{payload[8:].decode(errors='replace')}".rstrip(": "))
            elif stream == STREAM and kind == RST_STREAM:
                (error,) = struct.unpack(">I", payload[:4])
                raise _Failed(f"error: health rpc probe failed: the server reset the stream "
                              f"(RST_STREAM, HTTP/2 error code {error})")
            elif stream == STREAM and kind in (DATA, HEADERS):
                return kind, flags, self._header_block(kind, flags, payload, addr, timeout)

    def _header_block(self, kind: int, flags: int, payload: bytes, addr: str,
                      timeout: float) -> bytes:
        if flags & PADDED:
            payload = payload[1:len(payload) - payload[0]]
        if kind == HEADERS and flags & PRIORITY:
            payload = payload[5:]
        while kind == HEADERS and not flags & END_HEADERS:
            head = self._read(9, addr, timeout)
            if head[3] != CONTINUATION:
                raise _Failed("error: health rpc probe failed: a header block was cut off "
                              "(HTTP/2 PROTOCOL_ERROR)")
            flags |= head[4] & END_HEADERS
            payload += self._read(int.from_bytes(head[:3], "big"), addr, timeout)
        return payload

    def _read(self, size: int, addr: str, timeout: float) -> bytes:
        while len(self.buffer) < size:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise self._timeout(addr, timeout)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise self._timeout(addr, timeout) from None
            if not chunk:
                raise _Failed("error: health rpc probe failed: rpc error: code = Unavailable "
                              "desc = the server closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out

    def _timeout(self, addr: str, timeout: float) -> _Failed:
        if not self.connected:
            return _Failed(f'timeout: failed to connect service "{addr}" within {timeout:g}s: '
                           "context deadline exceeded")
        return _Failed(f"timeout: health rpc did not complete within {timeout:g}s")
