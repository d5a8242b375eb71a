"""Stable short hashes: the ``pod-template-hash`` and name suffixes of derived objects.

A Deployment names each ReplicaSet ``<deployment>-<hash of its pod template>`` and
labels its pods with that hash, so an unchanged template maps to the same ReplicaSet
on every pass and in every process. Kubernetes hashes the template with FNV-32a and
spells the number with ``rand.SafeEncodeString``'s alphabet (no vowels, no 0/1/3, so
no words and no look-alikes); gitkube does the same over canonical JSON, since Go's
struct printing it hashes upstream has no Python equivalent.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any

from pydantic import BaseModel

#: Kubernetes' ``rand.SafeEncodeString`` alphabet (27 characters: no vowels, no 0, 1, 3).
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: equal data gives equal bytes in every process."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fnv32a(data: bytes) -> int:
    value = _FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    """Kubernetes' ``rand.SafeEncodeString``: each byte mapped into ``ALPHABET``."""
    return "".join(ALPHABET[byte % len(ALPHABET)] for byte in text.encode())


def pod_template_hash(
    template: BaseModel | dict[str, Any], collision_count: int | None = None
) -> str:
    """The ``pod-template-hash`` of a pod template (Kubernetes' ``controller.ComputeHash``).

    ``collision_count`` (a Deployment's ``status.collisionCount``) changes the hash when
    two templates collide, as upstream does.
    """
    data = canonical_json(template)
    if collision_count is not None:
        data += struct.pack("<I", collision_count & 0xFFFFFFFF) + b"\0" * 4
    return safe_encode(str(fnv32a(data)))


def stable_hash(data: Any, length: int = 10) -> str:
    """A short name-safe digest of any JSON-able data (SHA-256 spelt in ``ALPHABET``)."""
    number = int.from_bytes(hashlib.sha256(canonical_json(data)).digest(), "big")
    out = []
    for _ in range(length):
        number, digit = divmod(number, len(ALPHABET))
        out.append(ALPHABET[digit])
    return "".join(out)
