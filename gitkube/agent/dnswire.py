"""DNS messages on the wire (RFC 1035, EDNS0 of RFC 6891): what the node's DNS server needs.

Pure and bounded: ``parse_query`` reads a client's question (refusing anything malformed
with ``Malformed``, never looping on compression pointers), ``answer`` builds a response
from records, and ``parse_records`` reads the answer section of an upstream resolver's
response (to follow an ExternalName's CNAME). Names are written uncompressed: answers are
small, and a response over the client's size limit is cut at a whole record with the TC
bit set, so the client asks again over TCP.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Any

A, NS, CNAME, SOA, PTR, TXT, AAAA, SRV, OPT, ANY = 1, 2, 5, 6, 12, 16, 28, 33, 41, 255
CLASS_IN = 1
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
#: A client without EDNS gets at most this over UDP (RFC 1035).
UDP_DEFAULT = 512
UDP_MAX = 4096
_HEADER = struct.Struct("!HHHHHH")
_MAX_JUMPS = 64


class Malformed(ValueError):
    """Bytes that are not a DNS message this server can read."""


@dataclass(frozen=True)
class Query:
    id: int
    #: The name as asked, lower-cased, without the trailing dot ("" is the root).
    name: str
    qtype: int
    qclass: int
    recursion_desired: bool
    #: The largest UDP answer the client takes (512 without EDNS).
    udp_size: int = UDP_DEFAULT
    edns: bool = False
    #: The question's bytes as sent (name in the client's own case), echoed back.
    question: bytes = b""


@dataclass(frozen=True)
class Record:
    name: str
    rtype: int
    ttl: int
    #: A/AAAA: the address; CNAME/PTR/NS: the target name; SRV: (priority, weight, port,
    #: target); SOA: (mname, rname, serial, refresh, retry, expire, minimum).
    data: Any = None


@dataclass
class Answer:
    rcode: int = NOERROR
    answers: list[Record] = field(default_factory=list)
    authority: list[Record] = field(default_factory=list)
    additional: list[Record] = field(default_factory=list)
    authoritative: bool = True


def read_name(message: bytes, offset: int) -> tuple[str, int]:
    """The (lower-cased) name at ``offset`` and the offset after it, following pointers."""
    labels: list[str] = []
    end = -1
    jumps = 0
    total = 0
    while True:
        if offset >= len(message):
            raise Malformed("a name runs past the end of the message")
        length = message[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(message):
                raise Malformed("a compression pointer is cut off")
            jumps += 1
            if jumps > _MAX_JUMPS:
                raise Malformed("compression pointers loop")
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | message[offset + 1]
            continue
        if length & 0xC0:
            raise Malformed("an unknown label type")
        offset += 1
        if length == 0:
            break
        label = message[offset:offset + length]
        if len(label) != length:
            raise Malformed("a label runs past the end of the message")
        total += length + 1
        if total > 255:
            raise Malformed("a name longer than 255 bytes")
        labels.append(label.decode("ascii", "replace").lower())
        offset += length
    return ".".join(labels), end if end >= 0 else offset


def parse_query(message: bytes) -> Query:
    """A client's query: one question, and its EDNS OPT record when it has one."""
    if len(message) < _HEADER.size:
        raise Malformed("shorter than a DNS header")
    ident, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(message)
    if flags & 0x8000 or qdcount != 1:
        raise Malformed("not a query with exactly one question")
    name, offset = read_name(message, _HEADER.size)
    if offset + 4 > len(message):
        raise Malformed("the question is cut off")
    qtype, qclass = struct.unpack_from("!HH", message, offset)
    question = message[_HEADER.size:offset + 4]
    offset += 4
    udp_size, edns = UDP_DEFAULT, False
    for _ in range(ancount + nscount + arcount):
        _, offset, rtype, rclass, _, _ = _read_rr(message, offset)
        if rtype == OPT:
            udp_size, edns = max(UDP_DEFAULT, min(rclass, UDP_MAX)), True
    return Query(ident, name, qtype, qclass, bool(flags & 0x0100), udp_size, edns, question)


def _read_rr(message: bytes, offset: int) -> tuple[str, int, int, int, int, int]:
    """(owner, offset after the record, type, class, ttl, rdata offset)."""
    owner, offset = read_name(message, offset)
    if offset + 10 > len(message):
        raise Malformed("a record is cut off")
    rtype, rclass, ttl, length = struct.unpack_from("!HHIH", message, offset)
    start = offset + 10
    if start + length > len(message):
        raise Malformed("a record's data is cut off")
    return owner, start + length, rtype, rclass, ttl, start


def parse_records(message: bytes) -> tuple[int, list[Record]]:
    """An upstream response's rcode and its answer section's A, AAAA and CNAME records."""
    if len(message) < _HEADER.size:
        raise Malformed("shorter than a DNS header")
    _, flags, qdcount, ancount, _, _ = _HEADER.unpack_from(message)
    offset = _HEADER.size
    for _ in range(qdcount):
        offset = read_name(message, offset)[1] + 4
    records: list[Record] = []
    for _ in range(ancount):
        owner, after, rtype, _, ttl, start = _read_rr(message, offset)
        if rtype == A and after - start == 4:
            records.append(Record(owner, A, ttl, str(ipaddress.IPv4Address(message[start:after]))))
        elif rtype == AAAA and after - start == 16:
            records.append(Record(owner, AAAA, ttl,
                                  str(ipaddress.IPv6Address(message[start:after]))))
        elif rtype == CNAME:
            records.append(Record(owner, CNAME, ttl, read_name(message, start)[0]))
        offset = after
    return flags & 0x000F, records


def encode_name(name: str) -> bytes:
    out = bytearray()
    for label in name.strip(".").split("."):
        if label:
            raw = label.encode("ascii", "replace")[:63]
            out += bytes([len(raw)]) + raw
    return bytes(out + b"\0")


def _rdata(record: Record) -> bytes:
    data = record.data
    if record.rtype in (A, AAAA):
        return ipaddress.ip_address(str(data)).packed
    if record.rtype in (CNAME, PTR, NS):
        return encode_name(str(data))
    if record.rtype == SRV:
        priority, weight, port, target = data
        return struct.pack("!HHH", priority, weight, port) + encode_name(target)
    if record.rtype == SOA:
        mname, rname, *numbers = data
        return encode_name(mname) + encode_name(rname) + struct.pack("!IIIII", *numbers)
    raise ValueError(f"no encoding for record type {record.rtype}")


def encode_record(record: Record) -> bytes:
    rdata = _rdata(record)
    return (encode_name(record.name)
            + struct.pack("!HHIH", record.rtype, CLASS_IN, record.ttl, len(rdata)) + rdata)


def answer(query: Query, result: Answer, *, limit: int | None = None) -> bytes:
    """The response to ``query``; over ``limit`` bytes, cut at a record with TC set."""
    sections = [[encode_record(r) for r in part]
                for part in (result.answers, result.authority, result.additional)]
    opt = struct.pack("!BHHIH", 0, OPT, UDP_MAX, 0, 0) if query.edns else b""
    counts = [len(part) for part in sections]
    records = sum(len(item) for part in sections for item in part)
    size = _HEADER.size + len(query.question) + len(opt) + records
    truncated = False
    if limit is not None and size > limit:
        truncated = True
        room = limit - _HEADER.size - len(query.question) - len(opt)
        counts = [0, 0, 0]
        for index, part in enumerate(sections):
            for item in part:
                if len(item) > room:
                    break
                room -= len(item)
                counts[index] += 1
            if counts[index] < len(part):
                break
    flags = 0x8000 | (0x0400 if result.authoritative else 0) | (0x0200 if truncated else 0)
    flags |= (0x0100 if query.recursion_desired else 0) | 0x0080 | (result.rcode & 0xF)
    body = b"".join(item for index, part in enumerate(sections) for item in part[:counts[index]])
    header = _HEADER.pack(query.id, flags, 1, counts[0], counts[1], counts[2] + bool(opt))
    return header + query.question + body + opt


def error(message: bytes, rcode: int) -> bytes:
    """A bare error answer to whatever could be read of ``message`` (its id and question)."""
    ident = struct.unpack_from("!H", message)[0] if len(message) >= 2 else 0
    return _HEADER.pack(ident, 0x8000 | 0x0080 | rcode, 0, 0, 0, 0)
