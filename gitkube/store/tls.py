"""How gitkube authenticates to etcd over TLS (apart from the client, which is slow to load)."""

from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class TLS:
    """Client TLS as etcd expects it: the CA that signed the members' certificates, and this
    client's certificate and key when the members check clients (``--client-cert-auth``)."""

    ca_cert: Path | None = None
    cert: Path | None = None
    key: Path | None = None
