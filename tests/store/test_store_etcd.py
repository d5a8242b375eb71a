"""What only the etcd store promises: processes, members, paging, TLS, and what it says on failure.

The contract itself (the same as SQLite's) is ``test_store_contract.py``; the faults of a
three-member cluster are ``test_etcd_faults.py``.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from gitkube import errors
from gitkube.store import base, etcd, etcdwire, open_store
from gitkube.store import tls as store_tls
from gitkube.store.base import Put
from tests.fixtures import etcd as etcd_fixtures
from tests.store import race


def test_compare_and_swap_holds_across_processes(
        etcd_store: etcd.EtcdStore, etcd_server: etcd_fixtures.Cluster, tmp_path: Path) -> None:
    start = race.race(etcd_server.url, tmp_path, processes=4, wins_each=50)

    assert etcd_store.revision() == start + 200


def test_open_store_reaches_etcd_by_url(etcd_server: etcd_fixtures.Cluster) -> None:
    store = open_store(etcd_server.url)

    assert isinstance(store, etcd.EtcdStore)
    assert store.where == etcd_server.members[0].endpoint
    store.close()


def test_a_range_is_one_snapshot_across_pages(
        etcd_server: etcd_fixtures.Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    etcd_server.wipe()
    store = etcd_server.store(page_size=2)
    store.txn([], [Put(f"/registry/pods/ns/p{n}", {"n": n}) for n in range(7)])
    read_at = store.revision()
    other = etcd_server.store()
    calls: list[str] = []
    call = store._wire.call

    def write_between_pages(path: str, body: dict[str, Any], **options: Any) -> Any:
        calls.append(path)
        if len(calls) == 2:  # after the first page: another writer moves on
            other.txn([], [Put("/registry/pods/ns/p0", {"n": 99}),
                           Put("/registry/pods/ns/p9", {"n": 9}),
                           base.Delete("/registry/pods/ns/p6")])
        return call(path, body, **options)

    monkeypatch.setattr(store._wire, "call", write_between_pages)
    kvs, revision = store.range("/registry/pods/ns/")

    assert revision == read_at
    assert [(kv.key[-2:], kv.value["n"]) for kv in kvs] == [(f"p{n}", n) for n in range(7)]
    assert calls == ["kv/range"] * 4  # 2 + 2 + 2 + 1 keys
    other.close()


def test_a_member_that_is_down_is_skipped(etcd_server: etcd_fixtures.Cluster) -> None:
    dead = f"127.0.0.1:{etcd_fixtures.free_port('127.0.0.1')}"
    store = open_store(f"etcd://{dead},{etcd_server.members[0].endpoint}")

    done = store.txn([], [Put("/k", {"via": "second"})])

    assert store.get("/k").value == {"via": "second"}  # type: ignore[union-attr]
    assert store.revision() == done.revision
    store.close()


def test_no_member_answering_is_store_unavailable() -> None:
    ports = [etcd_fixtures.free_port("127.0.0.1") for _ in range(2)]
    store = open_store("etcd://" + ",".join(f"127.0.0.1:{p}" for p in ports))

    with pytest.raises(errors.StoreUnavailable) as caught:
        store.txn([], [Put("/k", {})])

    message = str(caught.value)
    assert all(f"127.0.0.1:{p}" in message for p in ports)
    assert "etcdctl endpoint health" in message
    assert caught.value.retry_after
    store.close()


def test_tls_with_a_client_certificate(etcd_tls: etcd_fixtures.Cluster) -> None:
    store = etcd_tls.store()

    store.txn([], [Put("/tls", {"ok": True})])

    assert store.get("/tls").value == {"ok": True}  # type: ignore[union-attr]
    assert etcd_tls.members[0].client_url.startswith("https://")
    store.close()


def test_tls_without_a_client_certificate_is_refused(etcd_tls: etcd_fixtures.Cluster) -> None:
    assert etcd_tls.tls is not None
    store = open_store(etcd_tls.url, tls=store_tls.TLS(ca_cert=etcd_tls.tls["ca"]))

    with pytest.raises(errors.ConfigError, match=r"gitkube\.storeCert"):
        store.get("/tls")
    store.close()


def test_tls_with_an_unknown_ca_is_refused(etcd_tls: etcd_fixtures.Cluster,
                                           tmp_path: Path) -> None:
    assert etcd_tls.tls is not None
    other = etcd_fixtures.make_certificates(tmp_path / "other")
    tls = store_tls.TLS(other["ca"], etcd_tls.tls["client"], etcd_tls.tls["client-key"])

    with pytest.raises(errors.ConfigError, match=r"gitkube\.storeCACert"):
        open_store(etcd_tls.url, tls=tls).get("/tls")


def test_a_missing_certificate_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError, match=str(tmp_path / "nope.pem")):
        open_store("etcd://127.0.0.1:2379", tls=store_tls.TLS(ca_cert=tmp_path / "nope.pem"))


# -- the wire, without a server ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "end"),
    [("/registry/pods/", b"/registry/pods0"), ("", b"\0"),
     ("caf\u00e9", "caf\u00e9".encode()[:-1] + b"\xaa")],
    ids=["slash", "everything", "utf-8"],
)
def test_range_end(prefix: str, end: bytes) -> None:
    assert base64.b64decode(etcdwire.range_end(prefix)) == end


@pytest.mark.parametrize(
    ("text", "endpoints"),
    [("a:2379", [("a", 2379)]), ("a:1,b:2/", [("a", 1), ("b", 2)]),
     ("[::1]:2379", [("::1", 2379)])],
    ids=["one", "two", "ipv6"],
)
def test_parse_endpoints(text: str, endpoints: list[tuple[str, int]]) -> None:
    assert [(e.host, e.port) for e in etcdwire.parse_endpoints(text)] == endpoints


@pytest.mark.parametrize(
    ("code", "message", "error", "says"),
    [
        (3, "etcdserver: too many operations in txn request", errors.ConfigError,
         "--max-txn-ops"),
        (3, "etcdserver: request is too large", errors.ConfigError, "--max-request-bytes"),
        (7, "etcdserver: permission denied", errors.ConfigError, "gitkube.storeCert"),
        (5, "etcdserver: requested lease not found", errors.StoreConflict, "grant a new lease"),
        (9, "etcdserver: something new", errors.StoreUnavailable, "something new"),
    ],
    ids=["txn-ops", "request-bytes", "permission", "lease", "other"],
)
def test_etcd_errors_become_sentences(code: int, message: str, error: type[Exception],
                                      says: str) -> None:
    translated = etcdwire.translate(etcdwire.EtcdError(code, message), "a:2379")

    assert isinstance(translated, error)
    assert says in str(translated)
