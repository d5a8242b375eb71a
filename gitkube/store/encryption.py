"""Secrets encrypted at rest: AES-GCM on the store values of Secrets, whatever the backend.

Git holds Secrets encrypted with age (``source/secrets.py``); once read, the engine writes
them to the store, and without this module their values would sit there in clear (in the
SQLite file and its history, or in etcd's database and in ``etcdctl get``). This is
Kubernetes' EncryptionConfiguration with the ``aesgcm`` provider: every value under
``/registry/secrets/`` is stored as ``{"encrypted": "k8s:enc:aesgcm:v1:<key name>:<base64 of
nonce + ciphertext>"}``, a fresh 12-byte nonce per write, the store key as associated data
(a ciphertext moved to another key does not decrypt). Values written before encryption was on
are read as they are (Kubernetes' ``identity`` provider), and rewritten encrypted with the
next change.

The key file holds one key a line, ``<name>:<base64 of 32 bytes>``; the first encrypts, all
decrypt (rotation: put a new key first, then rewrite). It lives in the state directory
(``encryption.key``, made on first use, 0600) or where ``gitkube.encryptionKey`` says. Every
control machine of a cluster needs the same file: the store records which key encrypts
(``/gitkube/encryption``, a fingerprint, never the key), and a machine whose file does not
hold that key refuses to open the store, rather than write Secrets nobody else can read.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gitkube import errors
from gitkube.api import keys
from gitkube.store import base

PREFIX = keys.kind_prefix("secrets")
MARKER_KEY = "/gitkube/encryption"
FORMAT = "k8s:enc:aesgcm:v1:"
FIELD = "encrypted"
_NONCE = 12


@dataclasses.dataclass(frozen=True)
class Key:
    name: str
    secret: bytes = dataclasses.field(repr=False)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(b"gitkube-store-key:" + self.secret).hexdigest()[:16]


class KeyRing:
    """The keys of one key file: ``keys[0]`` encrypts, every one decrypts."""

    def __init__(self, path: Path, ring: Sequence[Key]) -> None:
        if not ring:
            raise errors.ConfigError(f"The encryption key file {path} holds no key.")
        self.path = path
        self.keys = list(ring)
        self._ciphers = {key.name: AESGCM(key.secret) for key in ring}

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        """Read ``path`` (``FileNotFoundError`` when it is not there)."""
        found = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, _, encoded = line.strip().partition(":")
            try:
                secret = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                secret = b""
            if not name or len(secret) not in (16, 24, 32):
                raise errors.ConfigError(
                    f"{path}:{number}: a key is written `name:<base64 of 32 random bytes>` "
                    "(`head -c 32 /dev/urandom | base64`).")
            found.append(Key(name, secret))
        return cls(path, found)

    @classmethod
    def create(cls, path: Path) -> KeyRing:
        """A new file with one random 256-bit key, readable by its owner only."""
        secret = secrets.token_bytes(32)
        key = Key("key-" + Key("", secret).fingerprint[:8], secret)
        line = f"{key.name}:{base64.b64encode(secret).decode()}\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(line)
        return cls(path, [key])

    def encrypt(self, store_key: str, value: base.JSON) -> base.JSON:
        key = self.keys[0]
        nonce = secrets.token_bytes(_NONCE)
        plain = json.dumps(value, separators=(",", ":")).encode()
        sealed = self._ciphers[key.name].encrypt(nonce, plain, store_key.encode())
        return {FIELD: f"{FORMAT}{key.name}:{base64.b64encode(nonce + sealed).decode()}"}

    def decrypt(self, store_key: str, value: base.JSON) -> base.JSON:
        text = value.get(FIELD) if len(value) == 1 else None
        if not isinstance(text, str) or not text.startswith(FORMAT):
            return value  # written before encryption was on
        name, _, encoded = text.removeprefix(FORMAT).partition(":")
        cipher = self._ciphers.get(name)
        if cipher is None:
            raise errors.ConfigError(
                f"{store_key} was encrypted with the key {name!r}, which the key file "
                f"{self.path} does not hold; copy the key file of the machine that wrote it.")
        raw = base64.b64decode(encoded)
        try:
            plain = cipher.decrypt(raw[:_NONCE], raw[_NONCE:], store_key.encode())
        except InvalidTag as exc:
            raise errors.ConfigError(
                f"{store_key} does not decrypt with the key {name!r} of {self.path}: the key "
                "differs from the one that encrypted it, or the value was altered.") from exc
        decoded: base.JSON = json.loads(plain)
        return decoded


class EncryptedStore:
    """A :class:`~gitkube.store.base.Store` that encrypts Secrets on the way to ``inner``."""

    def __init__(self, inner: base.Store, ring: KeyRing) -> None:
        self.inner = inner
        self.ring = ring

    def get(self, key: str) -> base.KeyValue | None:
        found = self.inner.get(key)
        return None if found is None else self._open(found)

    def range(self, prefix: str) -> tuple[list[base.KeyValue], int]:
        kvs, revision = self.inner.range(prefix)
        if not (PREFIX.startswith(prefix) or prefix.startswith(PREFIX)):
            return kvs, revision
        return [self._open(kv) for kv in kvs], revision

    def txn(self, compares: Sequence[base.Compare], success: Sequence[base.Op],
            failure: Sequence[base.Op] = ()) -> base.TxnResult:
        return self.inner.txn(compares, self._seal(success), self._seal(failure))

    def watch(self, prefix: str, since_revision: int, timeout: float = 0.0) -> list[base.Event]:
        events = self.inner.watch(prefix, since_revision, timeout)
        return [base.Event(e.type, self._open(e.kv)) if e.type is base.EventType.PUT else e
                for e in events]

    def revision(self) -> int:
        return self.inner.revision()

    def grant_lease(self, ttl_seconds: float) -> int:
        return self.inner.grant_lease(ttl_seconds)

    def keepalive(self, lease: int) -> None:
        self.inner.keepalive(lease)

    def revoke_lease(self, lease: int) -> None:
        self.inner.revoke_lease(lease)

    def compact(self, revision: int) -> None:
        self.inner.compact(revision)

    def close(self) -> None:
        self.inner.close()

    def _open(self, kv: base.KeyValue) -> base.KeyValue:
        if not kv.key.startswith(PREFIX):
            return kv
        return dataclasses.replace(kv, value=self.ring.decrypt(kv.key, kv.value))

    def _seal(self, ops: Sequence[base.Op]) -> list[base.Op]:
        return [dataclasses.replace(op, value=self.ring.encrypt(op.key, op.value))
                if isinstance(op, base.Put) and op.key.startswith(PREFIX) else op
                for op in ops]


def encrypted(store: base.Store, key_file: Path) -> EncryptedStore:
    """``store`` with Secrets encrypted by the key of ``key_file`` (made when the store has
    never been encrypted), after checking that the key is the one the store was written with."""
    marker = store.get(MARKER_KEY)
    try:
        ring = KeyRing.load(key_file)
    except FileNotFoundError:
        if marker is not None:
            raise errors.ConfigError(
                f"The store's Secrets are encrypted with the key {marker.value.get('key')!r} "
                f"(fingerprint {marker.value.get('fingerprint')}), but {key_file} does not "
                "exist: copy the encryption key file from a control machine of this cluster "
                "(or set gitkube.encryptionKey to it).") from None
        ring = KeyRing.create(key_file)
    if marker is None:
        writing = ring.keys[0]
        record = {"key": writing.name, "fingerprint": writing.fingerprint}
        if store.txn([base.Compare(MARKER_KEY, 0)], [base.Put(MARKER_KEY, record)]).succeeded:
            return EncryptedStore(store, ring)
        marker = store.get(MARKER_KEY)
    known = {key.fingerprint for key in ring.keys}
    if marker is not None and marker.value.get("fingerprint") not in known:
        raise errors.ConfigError(
            f"The store's Secrets are encrypted with the key {marker.value.get('key')!r} "
            f"(fingerprint {marker.value.get('fingerprint')}), which {key_file} does not hold: "
            "every control machine needs the same key file; copy it from the machine that "
            "first opened this store.")
    return EncryptedStore(store, ring)
