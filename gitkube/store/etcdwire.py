"""The etcd v3 wire under the etcd store: endpoints, failover, encoding and etcd's errors.

etcd answers its v3 API as JSON over HTTP(S) through the gRPC gateway every member runs
(``POST /v3/kv/range``, ``/v3/kv/txn``, ``/v3/watch``...). etcd3gw is the maintained
Python client for that gateway (OpenStack's); it makes the ``requests`` session (TLS client
certificates and the CA, as ``etcdctl --cacert --cert --key`` take them) and the URLs. The
request loop is gitkube's own, because etcd3gw talks to one member and folds a refused
connection and a lost answer into one error: this module keeps one etcd3gw client per
endpoint, moves to the next member when one cannot be reached, and retries a write on
another member only when it never left (a write whose answer was lost may have been
applied). Keys and values are base64 bytes on the wire; keys are UTF-8 here (etcd3gw's own
helpers encode text as Latin-1).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import etcd3gw
import requests
import urllib3

from gitkube import errors
from gitkube.store import tls as store_tls

#: Seconds to connect to a member, and to wait for its answer (a pass's big transaction
#: takes seconds on the gateway; etcd gives up on a write without quorum after ~7 s itself).
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 60.0
#: gRPC status codes etcd answers with (in the gateway's JSON ``code``).
_INVALID_ARGUMENT, _NOT_FOUND, _PERMISSION_DENIED = 3, 5, 7
_OUT_OF_RANGE, _UNAVAILABLE, _UNAUTHENTICATED = 11, 14, 16


@dataclasses.dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class EtcdError(Exception):
    """etcd answered a request with an error: ``code`` is its gRPC status code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_endpoints(text: str) -> list[Endpoint]:
    """``host:2379,host2:2379`` (the part of an ``etcd://`` URL after the scheme)."""
    found = []
    for part in text.strip().strip("/").split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise errors.ConfigError(
                f"The etcd endpoint {part.strip()!r} is not host:port; write the store as "
                "etcd://host:2379,host2:2379."
            )
        found.append(Endpoint(host.strip("[]"), int(port)))
    return found


def encode(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def decode(data: str) -> str:
    return base64.b64decode(data).decode()


def range_end(prefix: str) -> str:
    """etcd's end of the range of keys starting with ``prefix`` (base64): the prefix with its
    last byte below 0xff plus one; ``\\0`` (every key) for the empty prefix."""
    raw = bytearray(prefix.encode())
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return base64.b64encode(b"\0").decode("ascii")
    raw[-1] += 1
    return base64.b64encode(bytes(raw)).decode("ascii")


class Wire:
    """Calls to an etcd cluster through any of its members; safe to share between threads."""

    def __init__(self, endpoints: list[Endpoint], tls: store_tls.TLS | None = None) -> None:
        if not endpoints:
            raise errors.ConfigError("The etcd store names no endpoint; write etcd://host:2379.")
        self.endpoints = endpoints
        self.tls = tls or store_tls.TLS()
        secure = self.tls.ca_cert is not None or self.tls.cert is not None
        for path in (self.tls.ca_cert, self.tls.cert, self.tls.key):
            if path is not None and not path.is_file():
                raise errors.ConfigError(
                    f"The etcd TLS file {path} does not exist; check gitkube.storeCACert, "
                    "gitkube.storeCert and gitkube.storeKey."
                )
        self._clients = [
            etcd3gw.Etcd3Client(
                host=e.host, port=e.port, protocol="https" if secure else "http",
                ca_cert=_text(self.tls.ca_cert), cert_cert=_text(self.tls.cert),
                cert_key=_text(self.tls.key), api_path="/v3/",
            )
            for e in endpoints
        ]
        self._preferred = 0
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        return ",".join(str(e) for e in self.endpoints)

    def call(self, path: str, body: dict[str, Any], *, idempotent: bool = True) -> Any:
        """POST ``body`` to ``/v3/<path>`` on a member that answers; its JSON answer, or
        ``EtcdError`` for etcd's refusal (``translate`` turns it into gitkube's error).

        A member that refuses the connection is skipped; one that is reachable but cannot
        serve (no leader, no quorum) is skipped for a read. A write whose request may have
        reached a member is never sent again (it may have been applied)."""
        last = ""
        for index in self._order():
            client = self._clients[index]
            try:
                response = client.session.post(
                    client.get_url(path), json=body, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                    **_tls_options(client))
            except requests.exceptions.SSLError as exc:
                raise self._tls_error(index, exc) from exc
            except requests.exceptions.RequestException as exc:
                last = f"{self.endpoints[index]}: {_reason(exc)}"
                if idempotent or _never_sent(exc):
                    continue
                raise self._unavailable(last, sent=True) from exc
            try:
                answer = _answer(response)
            except EtcdError as exc:
                if exc.code != _UNAVAILABLE:
                    raise
                last = f"{self.endpoints[index]}: {exc.message}"
                if idempotent:
                    continue
                raise self._unavailable(last, sent=True) from exc
            self._preferred = index
            return answer
        raise self._unavailable(last, sent=False)

    def stream(self, path: str, body: dict[str, Any], timeout: float) -> Iterator[Any]:
        """The JSON messages of a streaming call (``watch``), until ``timeout`` seconds pass
        with nothing new or the caller stops reading; the connection is closed after."""
        last = ""
        for index in self._order():
            client = self._clients[index]
            try:
                response = client.session.post(
                    client.get_url(path), json=body, stream=True,
                    timeout=(CONNECT_TIMEOUT, max(timeout, 0.05)), **_tls_options(client))
            except requests.exceptions.SSLError as exc:
                raise self._tls_error(index, exc) from exc
            except requests.exceptions.RequestException as exc:
                last = f"{self.endpoints[index]}: {_reason(exc)}"
                continue
            self._preferred = index
            return _messages(response)
        raise self._unavailable(last, sent=False)

    def close(self) -> None:
        for client in self._clients:
            client.session.close()

    def _order(self) -> list[int]:
        with self._lock:
            first = self._preferred
        count = len(self._clients)
        return [(first + n) % count for n in range(count)]

    def _unavailable(self, last: str, *, sent: bool) -> errors.StoreUnavailable:
        maybe = (" The write may or may not have been applied; the next pass reads the store "
                 "again." if sent else "")
        return errors.StoreUnavailable(
            f"No etcd member of {self.where} could serve the request ({last}).{maybe} Check "
            "that a majority of the members run (`etcdctl endpoint health`); gitkube goes on "
            "when a quorum answers again.",
            retry_after=2.0,
        )

    def _tls_error(self, index: int, exc: Exception) -> errors.ConfigError:
        return errors.ConfigError(
            f"The TLS handshake with the etcd member {self.endpoints[index]} failed "
            f"({_reason(exc)}). Check gitkube.storeCACert (the CA that signed the members' "
            "certificates) and gitkube.storeCert/gitkube.storeKey (this machine's client "
            "certificate, when the members use --client-cert-auth)."
        )


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _tls_options(client: etcd3gw.Etcd3Client) -> dict[str, Any]:
    """The session's CA and client certificate, given with each request: requests lets
    REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the environment override a session's own CA."""
    return {"verify": client.session.verify, "cert": client.session.cert}


def _answer(response: requests.Response) -> Any:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code == 200 and isinstance(answer, dict):
        return answer
    if isinstance(answer, dict) and "code" in answer:
        raise EtcdError(int(answer["code"]), str(answer.get("message") or answer.get("error")))
    raise EtcdError(_UNAVAILABLE, f"HTTP {response.status_code}: {response.text[:200]}")


def _messages(response: requests.Response) -> Iterator[Any]:
    """The gateway streams one JSON object per line: ``{"result": {...}}`` or ``{"error":...}``."""
    buffer = b""
    try:
        for chunk in response.iter_content(chunk_size=None):
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    message = json.loads(line)
                    if "error" in message:
                        error = message["error"]
                        raise EtcdError(int(error.get("grpc_code", _UNAVAILABLE)),
                                        str(error.get("message")))
                    yield message["result"]
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
        return  # the read timeout ends a wait with nothing more to say
    finally:
        response.close()


def translate(exc: EtcdError, where: str) -> errors.GitkubeError:
    """etcd's answer as gitkube's error (the caller handles what it expects itself)."""
    if exc.code == _INVALID_ARGUMENT and ("too many operations" in exc.message
                                          or "too large" in exc.message):
        return errors.ConfigError(
            f"etcd at {where} refused a transaction as too big ({exc.message}). A pass writes "
            "every change in one transaction: start the etcd members with larger limits, as "
            "the README shows (--max-txn-ops 100000 --max-request-bytes 67108864)."
        )
    if exc.code in (_PERMISSION_DENIED, _UNAUTHENTICATED):
        return errors.ConfigError(
            f"etcd at {where} refused gitkube ({exc.message}); give this machine's client "
            "certificate (gitkube.storeCert, gitkube.storeKey) the rights it needs."
        )
    if exc.code == _NOT_FOUND and "lease" in exc.message:
        return errors.StoreConflict(
            "A lease has expired or was revoked, and the keys attached to it were deleted; "
            "grant a new lease and write those keys again."
        )
    return errors.StoreUnavailable(f"etcd at {where} answered: {exc.message}.", retry_after=2.0)


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """Whether the request failed before any of it reached the member (safe to send again)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _reason(exc: Exception) -> str:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return str(reason or exc)
