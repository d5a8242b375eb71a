"""The node's cluster DNS: the records Kubernetes' DNS specification asks for (pure), the wire
format's edges, and the server answering on real sockets (loopback, a fake upstream)."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitkube.agent import dnsserver, dnswire, dnszone, netprotocol, network

D = "default.svc.cluster.local"


def services(*, withheld_pod: bool = False) -> list[netprotocol.ServiceRun]:
    eps = [netprotocol.EndpointRun(ip="10.244.1.5", ports={"http": 8080}, ready=True,
                                podUID="u1", hostname="db-0"),
           netprotocol.EndpointRun(ip="10.244.2.5", ports={"http": 8080}, ready=True, podUID="u2"),
           netprotocol.EndpointRun(ip="10.244.3.5", ports={"http": 8080}, ready=False,
                                podUID="u3")]
    return [
        netprotocol.ServiceRun(name="web", namespace="default", clusterIP="10.96.0.20",
                            ports=[{"name": "http", "protocol": "TCP", "port": 80},
                                   {"name": "", "protocol": "UDP", "port": 53}],
                            endpoints=eps),
        netprotocol.ServiceRun(name="db", namespace="default", ports=[
            {"name": "http", "protocol": "TCP", "port": 8080}], endpoints=eps),
        netprotocol.ServiceRun(name="ext", namespace="default", type="ExternalName",
                            externalName="example.org"),
        netprotocol.ServiceRun(name="alias", namespace="default", type="ExternalName",
                            externalName=f"web.{D}"),
    ]


def zone(withheld: frozenset[str] = frozenset()) -> dnszone.Zone:
    return dnszone.Zone({"podCIDR": "10.244.1.0/24", "clusterDomain": "cluster.local",
                         "services": services()}, withheld)


def data(answer: dnswire.Answer | None) -> list[Any]:
    assert answer is not None
    return sorted((r.data for r in answer.answers), key=str)


@pytest.mark.parametrize(("name", "qtype", "expected"), [
    (f"web.{D}", dnswire.A, ["10.96.0.20"]),
    (f"db.{D}", dnswire.A, ["10.244.1.5", "10.244.2.5"]),
    (f"db-0.db.{D}", dnswire.A, ["10.244.1.5"]),
    (f"10-244-2-5.db.{D}", dnswire.A, ["10.244.2.5"]),
    (f"_http._tcp.web.{D}", dnswire.SRV, [(0, 100, 80, f"web.{D}")]),
    (f"_http._tcp.db.{D}", dnswire.SRV, [(0, 50, 8080, f"10-244-2-5.db.{D}"),
                                         (0, 50, 8080, f"db-0.db.{D}")]),
    (f"ext.{D}", dnswire.A, ["example.org"]),
    ("10-244-7-9.default.pod.cluster.local", dnswire.A, ["10.244.7.9"]),
], ids=["cluster-ip", "headless-ready-only", "hostname", "dashed-address", "srv",
        "headless-srv", "externalname-cname", "pod-record"])
def test_records(name: str, qtype: int, expected: list[Any]) -> None:
    assert data(zone().lookup(name, qtype)) == sorted(expected, key=str)


def test_headless_srv_answers_carry_the_targets_addresses() -> None:
    answer = zone().lookup(f"_http._tcp.db.{D}", dnswire.SRV)

    assert answer is not None
    assert sorted(r.data for r in answer.additional) == ["10.244.1.5", "10.244.2.5"]


@pytest.mark.parametrize(("name", "qtype", "rcode", "records"), [
    (f"web.{D}", dnswire.AAAA, dnswire.NOERROR, 0),
    ("default.svc.cluster.local", dnswire.A, dnswire.NOERROR, 0),
    (f"nothing.{D}", dnswire.A, dnswire.NXDOMAIN, 0),
    ("web.other.svc.cluster.local", dnswire.A, dnswire.NXDOMAIN, 0),
], ids=["nodata-other-type", "nodata-namespace", "nxdomain", "other-namespace"])
def test_names_without_the_record(name: str, qtype: int, rcode: int, records: int) -> None:
    answer = zone().lookup(name, qtype)

    assert answer is not None
    assert (answer.rcode, len(answer.answers)) == (rcode, records)
    assert [r.rtype for r in answer.authority] == [dnswire.SOA]


def test_names_outside_the_domain_are_not_the_zones() -> None:
    assert zone().lookup("example.org", dnswire.A) is None


def test_a_withheld_pod_leaves_the_headless_answers() -> None:
    assert data(zone(frozenset({"u1"})).lookup(f"db.{D}", dnswire.A)) == ["10.244.2.5"]


def test_pointer_loops_and_cut_messages_are_malformed() -> None:
    header = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0)
    with pytest.raises(dnswire.Malformed):
        dnswire.parse_query(header + b"\xc0\x0c" + b"\x00\x01\x00\x01")
    with pytest.raises(dnswire.Malformed):
        dnswire.parse_query(header + b"\x05abc")


def test_an_answer_too_long_for_udp_is_cut_with_tc_set() -> None:
    query = dnswire.parse_query(question("many.example", dnswire.A))
    many = dnswire.Answer(answers=[dnswire.Record("many.example", dnswire.A, 5, f"10.0.{i}.1")
                                   for i in range(60)])

    cut = dnswire.answer(query, many, limit=512)

    assert len(cut) <= 512
    assert struct.unpack_from("!H", cut, 2)[0] & 0x0200
    assert 0 < struct.unpack_from("!H", cut, 6)[0] < 60


# -- the server, on loopback ------------------------------------------------------------------

def question(name: str, qtype: int, ident: int = 7) -> bytes:
    return (struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + dnswire.encode_name(name)
            + struct.pack("!HH", qtype, dnswire.CLASS_IN))


class FakeUpstream:
    """The node's resolver: answers every question with an A record of 203.0.113.7
    (TEST-NET-3: an address only written, never reached)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.asked: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                message, client = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dnswire.parse_query(message)
            self.asked.append(query.name)
            found = dnswire.Answer(answers=[dnswire.Record(query.name, dnswire.A, 60,
                                                           "203.0.113.7")], authoritative=False)
            self.sock.sendto(dnswire.answer(query, found), client)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[dnsserver.Server, FakeUpstream, socket.socket]]:
    upstream = FakeUpstream()
    (tmp_path / "resolv.conf").write_text("nameserver 127.0.0.1\n")
    write_network(tmp_path, services())
    made = dnsserver.Server(tmp_path, "127.0.0.1", lambda _m: None, port=0,
                            resolv_conf=tmp_path / "resolv.conf", upstream_port=upstream.port)
    stopping: list[int] = []
    wake_read, wake_write = socket.socketpair()
    thread = threading.Thread(target=made.run, args=(stopping, wake_read), daemon=True)
    thread.start()
    yield made, upstream, wake_write
    stopping.append(1)
    wake_write.send(b"x")
    thread.join(timeout=5)
    made.close()
    upstream.sock.close()


def write_network(state_dir: Path, svcs: list[netprotocol.ServiceRun]) -> None:
    run = {"podCIDR": "10.244.1.0/24", "clusterDomain": "cluster.local", "services": svcs}
    (state_dir / network.STATE_FILE).write_text(json.dumps({"network": run, "withheld": []}))


def ask(port: int, name: str, qtype: int = dnswire.A) -> tuple[int, list[dnswire.Record]]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(question(name, qtype), ("127.0.0.1", port))
        return dnswire.parse_records(sock.recv(4096))


def test_the_server_answers_cluster_names_and_relays_the_rest(server: Any) -> None:
    made, upstream, _ = server

    assert ask(made.port, f"web.{D}") == (0, [dnswire.Record(f"web.{D}", dnswire.A, 5,
                                                             "10.96.0.20")])
    assert ask(made.port, f"nothing.{D}")[0] == dnswire.NXDOMAIN
    rcode, records = ask(made.port, "www.example.com")
    assert (rcode, [r.data for r in records]) == (0, ["203.0.113.7"])
    assert upstream.asked == ["www.example.com"]


def test_an_externalname_is_a_cname_followed_upstream_or_in_the_zone(server: Any) -> None:
    made, _, _ = server

    _, outside = ask(made.port, f"ext.{D}")
    _, inside = ask(made.port, f"alias.{D}")

    assert [(r.rtype, r.data) for r in outside] == [(dnswire.CNAME, "example.org"),
                                                    (dnswire.A, "203.0.113.7")]
    assert [(r.rtype, r.data) for r in inside] == [(dnswire.CNAME, f"web.{D}"),
                                                   (dnswire.A, "10.96.0.20")]


def test_a_changed_endpoint_answers_on_the_next_query_after_the_reload_signal(
        server: Any, tmp_path: Path) -> None:
    made, _, wake = server
    assert sorted(r.data for r in ask(made.port, f"db.{D}")[1]) == ["10.244.1.5", "10.244.2.5"]
    changed = services()
    changed[1]["endpoints"] = [netprotocol.EndpointRun(ip="10.244.9.9", ports={}, ready=True)]

    write_network(tmp_path, changed)
    wake.send(b"\x01")  # what SIGHUP does through the wakeup fd

    assert [r.data for r in ask(made.port, f"db.{D}")[1]] == ["10.244.9.9"]


def test_tcp_carries_answers_of_any_size(server: Any, tmp_path: Path) -> None:
    made, _, wake = server
    many = services()
    many[1]["endpoints"] = [netprotocol.EndpointRun(ip=f"10.244.{i}.7", ports={}, ready=True)
                            for i in range(1, 120)]
    write_network(tmp_path, many)
    wake.send(b"\x01")

    with socket.create_connection(("127.0.0.1", made.port), timeout=5) as conn:
        message = question(f"db.{D}", dnswire.A)
        conn.sendall(struct.pack("!H", len(message)) + message)
        size = struct.unpack("!H", conn.recv(2))[0]
        reply = b""
        while len(reply) < size:
            reply += conn.recv(size - len(reply))

    assert len(dnswire.parse_records(reply)[1]) == 119
