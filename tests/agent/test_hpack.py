"""The agent's HPACK decoder on RFC 7541's own examples (Appendix C), and its encoder."""

from __future__ import annotations

import pytest

from gitkube.agent import hpack

# RFC 7541 C.4: three requests on one connection, Huffman-coded.
REQUESTS = [
    ("828684418cf1e3c2e5f23a6ba0ab90f4ff",
     [(":method", "GET"), (":scheme", "http"), (":path", "/"),
      (":authority", "www.example.com")]),
    ("828684be5886a8eb10649cbf",
     [(":method", "GET"), (":scheme", "http"), (":path", "/"),
      (":authority", "www.example.com"), ("cache-control", "no-cache")]),
    ("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
     [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"),
      (":authority", "www.example.com"), ("custom-key", "custom-value")]),
]
DATE_1, DATE_2 = "Mon, 21 Oct 2013 20:13:21 GMT", "Mon, 21 Oct 2013 20:13:22 GMT"
COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
# RFC 7541 C.6: three responses with a 256-byte table, so entries are evicted.
RESPONSES = [
    ("488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad1718"
     "63c78f0b97c8e9ae82ae43d3",
     [(":status", "302"), ("cache-control", "private"), ("date", DATE_1),
      ("location", "https://www.example.com")]),
    ("4883640effc1c0bf",
     [(":status", "307"), ("cache-control", "private"), ("date", DATE_1),
      ("location", "https://www.example.com")]),
    ("88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b3"
     "35dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
     [(":status", "200"), ("cache-control", "private"), ("date", DATE_2),
      ("location", "https://www.example.com"), ("content-encoding", "gzip"),
      ("set-cookie", COOKIE)]),
]


@pytest.mark.parametrize(
    ("max_size", "blocks", "table"),
    [
        pytest.param(4096, REQUESTS, [("custom-key", "custom-value"),
                                      ("cache-control", "no-cache"),
                                      (":authority", "www.example.com")], id="requests"),
        pytest.param(256, RESPONSES, [("set-cookie", COOKIE), ("content-encoding", "gzip"),
                                      ("date", DATE_2)], id="responses-with-eviction"),
    ],
)
def test_rfc_examples(max_size: int, blocks: list[tuple[str, list[tuple[str, str]]]],
                      table: list[tuple[str, str]]) -> None:
    decoder = hpack.Decoder(max_size)
    for block, headers in blocks:
        assert decoder.decode(bytes.fromhex(block)) == headers
    assert decoder.table == table


def test_what_the_encoder_writes_decodes_back() -> None:
    headers = [(":path", "/grpc.health.v1.Health/Check"), ("x-long", "v" * 300)]
    assert hpack.Decoder().decode(hpack.encode(headers)) == headers


@pytest.mark.parametrize(
    ("block", "message"),
    [
        pytest.param("be", "header index 62 is in neither table", id="empty-dynamic-table"),
        pytest.param("0085f2b2", "a header block ends inside a string", id="short-string"),
        pytest.param("008100", "bad padding at the end of a Huffman-coded string",
                     id="huffman-padding-zeros"),
    ],
)
def test_malformed_blocks_are_refused(block: str, message: str) -> None:
    with pytest.raises(hpack.HpackError, match=message):
        hpack.Decoder().decode(bytes.fromhex(block))
