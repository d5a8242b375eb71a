"""HPACK (RFC 7541), as much as the agent's gRPC health probe needs: encode, decode.

The gRPC probe (``grpc_health.py``) speaks HTTP/2 with the standard library only,
because the agent is shipped to nodes that have nothing but python3. Its request
headers are encoded in the simplest valid form (literal, never indexed, no Huffman).
The server's headers and trailers may use everything HPACK has — the static and
dynamic tables and Huffman-coded strings — and ``grpc-status`` / ``grpc-message``
live in them, so ``Decoder`` reads the full format.

HPACK's Huffman code is canonical (codes follow from the lengths alone, shortest
first, then by symbol), so the table is kept as one length per symbol.
"""

from __future__ import annotations

#: RFC 7541 Appendix A: index 1..61.
STATIC_TABLE: tuple[tuple[str, str], ...] = (
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"),
    (":path", "/index.html"), (":scheme", "http"), (":scheme", "https"), (":status", "200"),
    (":status", "204"), (":status", "206"), (":status", "304"), (":status", "400"),
    (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""),
    ("accept", ""), ("access-control-allow-origin", ""), ("age", ""), ("allow", ""),
    ("authorization", ""), ("cache-control", ""), ("content-disposition", ""),
    ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""),
    ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
    ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
    ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""),
    ("max-forwards", ""), ("proxy-authenticate", ""), ("proxy-authorization", ""),
    ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""), ("server", ""),
    ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
    ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
)

#: RFC 7541 Appendix B: the code length of symbols 0..256, "a" = 5 bits ... "z" = 30 bits.
_HUFFMAN_LENGTHS = (
    "isxxxxxxxtzxxzxxxxxxxxzxxxxxxxxxbffhibdgffdgdbbbaaabbbbbbbcdkbhfibccccccccccccccccccccccdc"
    "dioijbkabababbbaccbbbabcbaabccccckgjixprpprrrsrssssststtrstssssqrsrsstrqprrssqsrrtqrssqqrq"
    "srssprrrsrrsvvporsruvvvwwvtuoqvwwvwtqqvvxwwwptpqrqqsrruuttvsvwvvwwwwwxwwwwwvz"
)
_EOS = 256


def _huffman_codes() -> dict[tuple[int, int], int]:
    lengths = [ord(c) - ord("a") + 5 for c in _HUFFMAN_LENGTHS]
    codes: dict[tuple[int, int], int] = {}
    code, previous = -1, min(lengths)
    for symbol in sorted(range(len(lengths)), key=lambda s: (lengths[s], s)):
        code = (code + 1) << (lengths[symbol] - previous)
        previous = lengths[symbol]
        codes[(previous, code)] = symbol
    return codes


_HUFFMAN = _huffman_codes()


class HpackError(ValueError):
    """The peer's header block does not follow RFC 7541."""


def huffman_decode(data: bytes) -> bytes:
    out = bytearray()
    code = length = 0
    for byte in data:
        for shift in range(7, -1, -1):
            code = (code << 1) | ((byte >> shift) & 1)
            length += 1
            symbol = _HUFFMAN.get((length, code))
            if symbol is None:
                if length > 30:
                    raise HpackError("a Huffman code longer than 30 bits")
                continue
            if symbol == _EOS:
                raise HpackError("EOS inside a Huffman-coded string")
            out.append(symbol)
            code = length = 0
    # What is left must be padding: fewer than 8 bits, all ones (the EOS prefix).
    if length > 7 or code != (1 << length) - 1:
        raise HpackError("bad padding at the end of a Huffman-coded string")
    return bytes(out)


def encode_integer(value: int, prefix_bits: int, first: int = 0) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode(headers: list[tuple[str, str]]) -> bytes:
    """A header block of literal fields without indexing, new names, no Huffman."""
    out = bytearray()
    for name, value in headers:
        out.append(0x00)
        for text in (name.encode(), value.encode()):
            out += encode_integer(len(text), 7) + text
    return bytes(out)


class Decoder:
    """One connection's decoding state: the dynamic table lives as long as the connection."""

    def __init__(self, max_size: int = 4096) -> None:
        self.max_size = max_size
        self.table: list[tuple[str, str]] = []

    def decode(self, block: bytes) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        pos = 0
        while pos < len(block):
            first = block[pos]
            if first & 0x80:  # indexed field
                index, pos = self._integer(block, pos, 7)
                headers.append(self._entry(index))
            elif first & 0x40:  # literal, added to the dynamic table
                header, pos = self._literal(block, pos, 6)
                headers.append(header)
                self._add(header)
            elif first & 0x20:  # dynamic table size update
                self.max_size, pos = self._integer(block, pos, 5)
                self._evict()
            else:  # literal without indexing / never indexed
                header, pos = self._literal(block, pos, 4)
                headers.append(header)
        return headers

    def _literal(self, block: bytes, pos: int, prefix: int) -> tuple[tuple[str, str], int]:
        index, pos = self._integer(block, pos, prefix)
        if index:
            name = self._entry(index)[0]
        else:
            name, pos = self._string(block, pos)
        value, pos = self._string(block, pos)
        return (name, value), pos

    def _string(self, block: bytes, pos: int) -> tuple[str, int]:
        if pos >= len(block):
            raise HpackError("a header block ends inside a field")
        huffman = bool(block[pos] & 0x80)
        length, pos = self._integer(block, pos, 7)
        raw = block[pos:pos + length]
        if len(raw) != length:
            raise HpackError("a header block ends inside a string")
        text = huffman_decode(raw) if huffman else raw
        return text.decode("utf-8", errors="replace"), pos + length

    @staticmethod
    def _integer(block: bytes, pos: int, prefix: int) -> tuple[int, int]:
        limit = (1 << prefix) - 1
        value = block[pos] & limit
        pos += 1
        if value < limit:
            return value, pos
        shift = 0
        while True:
            if pos >= len(block) or shift > 28:
                raise HpackError("a header block ends inside an integer")
            byte = block[pos]
            pos += 1
            value += (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value, pos

    def _entry(self, index: int) -> tuple[str, str]:
        if 1 <= index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        dynamic = index - len(STATIC_TABLE) - 1
        if 0 <= dynamic < len(self.table):
            return self.table[dynamic]
        raise HpackError(f"header index {index} is in neither table")

    def _add(self, header: tuple[str, str]) -> None:
        self.table.insert(0, header)
        self._evict()

    def _evict(self) -> None:
        while self.table and sum(_size(h) for h in self.table) > self.max_size:
            self.table.pop()


def _size(header: tuple[str, str]) -> int:
    return len(header[0].encode()) + len(header[1].encode()) + 32
