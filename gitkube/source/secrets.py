"""Secrets encrypted in Git with age: the value format, the cluster's key, decryption on read.

Part of the source layer: ``repo`` hands every parsed document here before
validation, so an encrypted Secret becomes an ordinary one in memory and nothing
downstream (store, controllers, lowering) knows it was ever encrypted. The
repository only ever holds ciphertext; the private key lives in the cluster's state
directory (``<state>/age-identity.txt``, 0600), never in Git.

An encrypted Secret carries the annotation ``gitkube.io/encrypted: age`` and each
of its ``data``/``stringData`` values is an ASCII-armored age file whose plaintext is::

    gitkube:v1:<namespace>/<name>/<key>\\n<value bytes>

The first line binds the ciphertext to the one Secret key it was made for, so a
ciphertext copied to another Secret (or key, or namespace) is refused. Anyone with
the cluster's public key can make one with the standard ``age`` CLI::

    printf 'gitkube:v1:default/db/password\\n%s' "$PASSWORD" | age -a -r age1...

Decrypted ``data`` values are the raw bytes (stored base64, as ``data`` always is);
``stringData`` values must be UTF-8 text. Failures become ``Problem`` s with the
file:line of the value, like any other manifest mistake.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyrage

from gitkube import errors
from gitkube.source import yamlload

ENCRYPTED_ANNOTATION = "gitkube.io/encrypted"
AGE = "age"
FORMAT_PREFIX = "gitkube:v1:"
ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = "-----END AGE ENCRYPTED FILE-----"
IDENTITY_FILE = "age-identity.txt"
_SECRET_KEY_PREFIX = "AGE-SECRET-KEY-"


class SecretDecryptError(ValueError):
    """One value cannot be decrypted; the message is the sentence a person reads."""


# -- the value format --------------------------------------------------------------------------


def binding(namespace: str, name: str, key: str) -> str:
    """The first plaintext line of the value of ``key`` in Secret ``namespace/name``."""
    return f"{FORMAT_PREFIX}{namespace or 'default'}/{name}/{key}"


def is_ciphertext(value: object) -> bool:
    return isinstance(value, str) and value.strip().startswith(ARMOR_BEGIN)


def seal(value: bytes, *, namespace: str, name: str, key: str, recipients: Sequence[str]) -> str:
    """The armored age ciphertext of ``value`` for ``key`` of Secret ``namespace/name``."""
    parsed = [parse_recipient(r) for r in recipients]
    plaintext = binding(namespace, name, key).encode() + b"\n" + value
    return pyrage.encrypt(plaintext, parsed, armored=True).decode("ascii")


def unseal(
    text: str, identities: Sequence[pyrage.x25519.Identity], *,
    namespace: str, name: str, key: str,
) -> bytes:
    """The value inside ``text``; ``SecretDecryptError`` says why when there is none."""
    armored = "\n".join(line.strip() for line in text.strip().splitlines()) + "\n"
    try:
        plaintext = pyrage.decrypt(armored.encode("ascii", "replace"), list(identities))
    except pyrage.DecryptError as exc:
        if "no matching keys" in str(exc).lower():
            raise SecretDecryptError(
                "was not encrypted for this cluster's age key (wrong recipient); encrypt it "
                "again with `gitkube secret encrypt` or the public key `gitkube secret "
                "keygen --show` prints"
            ) from exc
        raise SecretDecryptError(
            f"is not a valid age ciphertext ({exc}): it was damaged or tampered with; "
            "encrypt the value again"
        ) from exc
    head, newline, value = plaintext.partition(b"\n")
    want = binding(namespace, name, key)
    if not newline or not head.startswith(FORMAT_PREFIX.encode()):
        raise SecretDecryptError(
            f"decrypts, but not to gitkube's format: the plaintext must start with the line "
            f"{want!r}; make it with `gitkube secret encrypt`"
        )
    if head.decode(errors="replace") != want:
        found = head.decode(errors="replace")[len(FORMAT_PREFIX):]
        raise SecretDecryptError(
            f"was encrypted for {found}, not for {want[len(FORMAT_PREFIX):]}: a ciphertext "
            "is bound to one Secret key and cannot be copied to another; encrypt the value "
            "for this Secret"
        )
    return value


# -- the cluster's key -----------------------------------------------------------------------


def parse_recipient(text: str) -> pyrage.x25519.Recipient:
    try:
        return pyrage.x25519.Recipient.from_str(text.strip())
    except pyrage.RecipientError as exc:
        raise errors.ConfigError(
            f"{text.strip()!r} is not an age public key (age1...); copy it from "
            "`gitkube secret keygen --show` or `age-keygen -y KEYFILE`."
        ) from exc


class Keyring:
    """The age identities a cluster decrypts with, read from ``<state>/age-identity.txt``."""

    def __init__(self, path: Path, identities: list[pyrage.x25519.Identity]) -> None:
        self.path = path
        self.identities = identities

    @classmethod
    def load(cls, state_dir: Path) -> Keyring | None:
        """The state directory's keyring, or None when no key was made there."""
        path = state_dir / IDENTITY_FILE
        if not path.is_file():
            return None
        found: list[pyrage.x25519.Identity] = []
        for number, line in enumerate(path.read_text(encoding="ascii").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                found.append(pyrage.x25519.Identity.from_str(line))
            except pyrage.IdentityError as exc:
                raise errors.ConfigError(
                    f"{path}:{number} is not an age secret key (AGE-SECRET-KEY-1...); fix the "
                    "file or make a new key with `gitkube secret keygen`."
                ) from exc
        if not found:
            raise errors.ConfigError(
                f"{path} holds no age secret key; make one with `gitkube secret keygen`."
            )
        return cls(path, found)

    @property
    def public_key(self) -> str:
        """The public key of the newest identity (the last in the file): encrypt for this."""
        return str(self.identities[-1].to_public())


def keygen(state_dir: Path, *, clock: dt.datetime | None = None) -> str:
    """Make the cluster's age identity (refused when one exists); answer its public key.

    The file has age-keygen's format, so ``age -d -i <state>/age-identity.txt`` works.
    """
    path = state_dir / IDENTITY_FILE
    if path.exists():
        raise errors.ConfigError(
            f"{path} already holds this cluster's age key; `gitkube secret keygen --show` "
            "prints its public key. Remove the file first to replace the key (Secrets "
            "encrypted for the old key can then no longer be read)."
        )
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state_dir, 0o700)
    identity = pyrage.x25519.Identity.generate()
    public = str(identity.to_public())
    when = (clock or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017
    text = f"# created: {when}\n# public key: {public}\n{identity}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    return public


# -- decrypting a revision ---------------------------------------------------------------------


def is_encrypted(data: dict[str, object]) -> bool:
    meta = data.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    return isinstance(annotations, dict) and annotations.get(ENCRYPTED_ANNOTATION) is not None


def decrypt_documents(
    docs: Iterable[yamlload.Document], keyring: Keyring | None, *, require_encrypted: bool,
) -> tuple[list[yamlload.Document], list[errors.Problem]]:
    """``docs`` with every encrypted Secret decrypted, and what stopped the others.

    With ``require_encrypted`` (inventory ``settings.requireEncryptedSecrets``) a Secret
    that carries a value but is not encrypted is refused too.
    """
    out: list[yamlload.Document] = []
    problems: list[errors.Problem] = []
    for doc in docs:
        if doc.data.get("kind") != "Secret":
            out.append(doc)
            continue
        if not is_encrypted(doc.data):
            if require_encrypted and (doc.data.get("data") or doc.data.get("stringData")):
                problems.append(errors.Problem(
                    doc.path, doc.line,
                    "This Secret is not encrypted, and the inventory's "
                    "settings.requireEncryptedSecrets refuses plain-text Secrets; encrypt it "
                    "with `gitkube secret encrypt FILE`.",
                ))
            out.append(doc)
            continue
        decrypted, doc_problems = _decrypt_document(doc, keyring)
        problems += doc_problems
        if not doc_problems:
            out.append(decrypted)
    return out, problems


def _decrypt_document(
    doc: yamlload.Document, keyring: Keyring | None,
) -> tuple[yamlload.Document, list[errors.Problem]]:
    meta = doc.data.get("metadata") or {}
    marker = (meta.get("annotations") or {}).get(ENCRYPTED_ANNOTATION)
    where = f"metadata.annotations[{ENCRYPTED_ANNOTATION}]"
    if marker != AGE:
        return doc, [errors.Problem(doc.path, doc.line_of(where), (
            f"{ENCRYPTED_ANNOTATION} is {marker!r}, but gitkube decrypts only 'age'."), where)]
    if keyring is None:
        return doc, [errors.Problem(doc.path, doc.line, (
            "This Secret is encrypted with age, but this cluster has no age key to decrypt it; "
            "run `gitkube secret keygen` where the cluster's state lives (or copy the key "
            f"file there as {IDENTITY_FILE})."))]
    namespace = str(meta.get("namespace") or "default")
    name = str(meta.get("name") or "")
    data = dict(doc.data)
    problems: list[errors.Problem] = []
    for field in ("data", "stringData"):
        values = doc.data.get(field)
        if not isinstance(values, dict):
            continue
        plain: dict[str, object] = {}
        for key, text in values.items():
            path = f"{field}[{key}]"
            line = doc.line_of(path)
            if not is_ciphertext(text):
                problems.append(errors.Problem(doc.path, line, (
                    "This value of an encrypted Secret is not an age ciphertext; every value "
                    "must be encrypted (run `gitkube secret encrypt` on the plain manifest)."),
                    path))
                continue
            try:
                value = unseal(str(text), keyring.identities, namespace=namespace, name=name,
                               key=str(key))
            except SecretDecryptError as exc:
                problems.append(errors.Problem(
                    doc.path, line, f"The ciphertext {exc}.", path))
                continue
            plain[key] = _as_field_value(field, value, doc, path, problems)
        data[field] = plain
    return _replace_data(doc, data), problems


def _as_field_value(
    field: str, value: bytes, doc: yamlload.Document, path: str, problems: list[errors.Problem],
) -> str:
    if field == "data":
        return base64.b64encode(value).decode("ascii")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(errors.Problem(doc.path, doc.line_of(path), (
            "The decrypted value is not UTF-8 text, which stringData requires; put it under "
            "data instead."), path))
        return ""


def _replace_data(doc: yamlload.Document, data: dict[str, object]) -> yamlload.Document:
    return dataclasses.replace(doc, data=data)


def plain_value(field: str, value: object) -> bytes:
    """The bytes a plain manifest's ``data``/``stringData`` value stands for."""
    if field == "stringData":
        return str(value).encode("utf-8")
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretDecryptError(
            "is not valid base64; encode the value (base64 -w0) or put it under stringData"
        ) from exc
