"""Secrets encrypted at rest: a canary never appears in the SQLite file or in ``etcdctl get``."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.store import base, encryption, etcd, memory, sqlite
from gitkube.store.base import Put
from tests.fixtures import etcd as etcd_fixtures

CANARY = "canary-7f3c9e1b-do-not-store"
VISIBLE = "visible-2b8d44c0-plain-config"
SECRET_KEY = "/registry/secrets/default/db"
CONFIG_KEY = "/registry/configmaps/default/plain"


def secret() -> base.JSON:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
            "data": {"password": base64.b64encode(CANARY.encode()).decode()},
            "stringData": {"token": CANARY}}


def config_map() -> base.JSON:
    """Not a Secret: stored as it is, which shows the searches below can find the canary."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain"},
            "data": {"word": VISIBLE}}


def leaks(text: bytes) -> list[str]:
    forms = [CANARY, base64.b64encode(CANARY.encode()).decode()]
    return [form for form in forms if form.encode() in text]


def test_secrets_are_not_in_the_sqlite_file(tmp_path: Path) -> None:
    store = encryption.encrypted(sqlite.SQLiteStore(tmp_path / "s.db"), tmp_path / "key")
    store.txn([], [Put(SECRET_KEY, secret()), Put(CONFIG_KEY, config_map())])
    store.txn([], [Put(SECRET_KEY, {**secret(), "type": "Opaque"})])  # history holds both

    assert store.get(SECRET_KEY).value == {**secret(), "type": "Opaque"}  # type: ignore[union-attr]
    assert [e.kv.value["kind"] for e in store.watch("/registry/secrets/", 0)] == ["Secret"] * 2
    store.close()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    assert leaks(on_disk) == []
    assert VISIBLE.encode() in on_disk


def test_secrets_are_not_in_etcdctl_output(etcd_store: etcd.EtcdStore,
                                          etcd_server: etcd_fixtures.Cluster,
                                          tmp_path: Path) -> None:
    store = encryption.encrypted(etcd_store, tmp_path / "key")
    store.txn([], [Put(SECRET_KEY, secret()), Put(CONFIG_KEY, config_map())])

    listed = etcd_server.etcdctl("get", "--prefix", "/registry/")
    as_json = etcd_server.etcdctl("get", "--prefix", "/registry/", "-w", "json")

    assert leaks(listed.encode()) == [] and leaks(as_json.encode()) == []
    assert "k8s:enc:aesgcm:v1:key-" in listed
    assert VISIBLE in listed
    assert store.get(SECRET_KEY).value == secret()  # type: ignore[union-attr]


def test_the_key_file_is_made_once_and_private(tmp_path: Path) -> None:
    inner = memory.MemoryStore()
    store = encryption.encrypted(inner, tmp_path / "key")
    store.txn([], [Put(SECRET_KEY, secret())])

    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600
    again = encryption.encrypted(inner, tmp_path / "key")
    assert again.get(SECRET_KEY).value == secret()  # type: ignore[union-attr]
    stored = inner.get(SECRET_KEY).value  # type: ignore[union-attr]
    assert list(stored) == ["encrypted"] and CANARY not in json.dumps(stored)


def test_another_machines_key_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    inner = memory.MemoryStore()
    encryption.encrypted(inner, tmp_path / "first").txn([], [Put(SECRET_KEY, secret())])
    encryption.KeyRing.create(tmp_path / "second")
    revision = inner.revision()

    with pytest.raises(errors.ConfigError, match=r"every control machine needs the same key"):
        encryption.encrypted(inner, tmp_path / "second")
    with pytest.raises(errors.ConfigError, match=r"copy the encryption key file"):
        encryption.encrypted(inner, tmp_path / "missing")
    assert not (tmp_path / "missing").exists()
    assert inner.revision() == revision


def test_a_ciphertext_moved_to_another_key_does_not_decrypt(tmp_path: Path) -> None:
    inner = memory.MemoryStore()
    store = encryption.encrypted(inner, tmp_path / "key")
    store.txn([], [Put(SECRET_KEY, secret())])
    sealed = inner.get(SECRET_KEY).value  # type: ignore[union-attr]
    inner.txn([], [Put("/registry/secrets/default/other", sealed)])

    with pytest.raises(errors.ConfigError, match="other does not decrypt"):
        store.get("/registry/secrets/default/other")


def test_rotation_reads_old_values_and_writes_with_the_first_key(tmp_path: Path) -> None:
    inner = memory.MemoryStore()
    encryption.encrypted(inner, tmp_path / "key").txn([], [Put(SECRET_KEY, secret())])
    old = (tmp_path / "key").read_text()
    new = encryption.KeyRing.create(tmp_path / "new")
    (tmp_path / "key").write_text((tmp_path / "new").read_text() + old)

    store = encryption.encrypted(inner, tmp_path / "key")
    assert store.get(SECRET_KEY).value == secret()  # type: ignore[union-attr]
    store.txn([], [Put("/registry/secrets/default/later", secret())])

    later = inner.get("/registry/secrets/default/later").value  # type: ignore[union-attr]
    assert later["encrypted"].startswith(f"k8s:enc:aesgcm:v1:{new.keys[0].name}:")


def test_values_stored_before_encryption_are_read_as_they_are(tmp_path: Path) -> None:
    inner = memory.MemoryStore()
    inner.txn([], [Put(SECRET_KEY, secret())])

    store = encryption.encrypted(inner, tmp_path / "key")

    assert store.get(SECRET_KEY).value == secret()  # type: ignore[union-attr]
    [kv] = store.range("/registry/secrets/")[0]
    assert dataclasses.replace(kv, value={}) == dataclasses.replace(inner.get(SECRET_KEY),
                                                                    value={})


@pytest.mark.parametrize("line", ["key1", "key1:not-base64!", "key1:" + "QUJD", ":" + "A" * 44])
def test_a_bad_key_file_names_its_line(tmp_path: Path, line: str) -> None:
    (tmp_path / "key").write_text(f"# the cluster's key\n{line}\n")

    with pytest.raises(errors.ConfigError, match=r"key:2: a key is written"):
        encryption.encrypted(memory.MemoryStore(), tmp_path / "key")
