"""Sealing Secret manifests for Git: ``gitkube secret encrypt``'s work.

A plain Secret manifest becomes one whose every value is an age ciphertext bound to
that Secret's namespace/name/key (format: ``secrets``). The file keeps its comments and
layout: only the values change, and the marker annotation ``gitkube.io/encrypted: age``
is added. Already encrypted Secrets are left as they are.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from gitkube import errors
from gitkube.source import secrets, yamlload


def encrypt_manifest(text: str, recipients: list[str], *, where: str) -> tuple[str, int]:
    """``text`` (one or more YAML documents) with every plain Secret encrypted; (text, count)."""
    # Read as gitkube reads a revision first: its bounds (depth, aliases) and its sentences
    # with lines, before the round-trip loader, which keeps comments but has no bounds.
    _, problems = yamlload.parse_documents(text, where)
    if problems:
        said = "; ".join(f"line {p.line}: {p.message}" if p.line else p.message
                         for p in problems)
        raise errors.ConfigError(f"{where} cannot be read as manifests: {said}")
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    try:
        documents = [d for d in yaml.load_all(text) if d is not None]
    except YAMLError as exc:
        raise errors.ConfigError(f"{where} is not valid YAML: {exc}") from exc
    count = 0
    for doc in documents:
        if not isinstance(doc, dict) or doc.get("kind") != "Secret":
            continue
        if secrets.is_encrypted(doc):
            continue  # already encrypted: leave its ciphertexts as they are
        _encrypt_secret(doc, recipients, where)
        count += 1
    if not count:
        raise errors.ConfigError(
            f"{where} holds no plain Secret to encrypt (already encrypted ones are left alone).")
    out = io.StringIO()
    yaml.dump_all(documents, out)
    return out.getvalue(), count


def _encrypt_secret(doc: Any, recipients: list[str], where: str) -> None:
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise errors.ConfigError(f"{where}: a Secret needs metadata.name to be encrypted "
                                 "(the ciphertext is bound to it).")
    namespace, name = str(meta.get("namespace") or "default"), str(meta["name"])
    for field in ("data", "stringData"):
        values = doc.get(field)
        if not isinstance(values, dict):
            continue
        for key in list(values):
            try:
                plain = secrets.plain_value(field, values[key])
            except secrets.SecretDecryptError as exc:
                raise errors.ConfigError(
                    f"{where}: Secret {namespace}/{name} {field}[{key}] {exc}.") from exc
            values[key] = LiteralScalarString(secrets.seal(
                plain, namespace=namespace, name=name, key=str(key), recipients=recipients))
    if meta.get("annotations") is None:
        meta["annotations"] = {}
    meta["annotations"][secrets.ENCRYPTED_ANNOTATION] = secrets.AGE
