"""The ledger's YAML, byte for byte as ruamel.yaml's safe dumper writes it, fifty times faster.

The status ledger (``ledger.py``) holds one YAML file per object; a pass that starts 100,000
pods renders 100,000 of them, and ruamel's emitter (pure Python, events, nodes, tags and a
resolver per scalar) spends milliseconds on each. ``render`` writes the same text directly
from the data: block style (``default_flow_style=False``), keys sorted, sequences inside a
mapping not indented, ``{}``/``[]`` for empty collections, strings plain unless YAML 1.2
would read them as something else (quoted ``'True'``, ``'2026-01-01T00:00:00Z'``) or an
indicator forbids it, long strings folded at 80 columns where ruamel folds them.

It is a port of the emitter's state machine (``ruamel/yaml/emitter.py``: column, whitespace,
indention, the indent stack) restricted to what ledger records hold: mappings with string
keys, lists, strings, integers, booleans and None. Anything else — floats, strings with
characters outside printable ASCII or that would need double quotes, keys of 128
characters — is handed to ruamel itself (``_ruamel``), so the output is always ruamel's.
``tests/reconcile/test_ledgeryaml.py`` compares the two on generated data.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.resolver import VersionedResolver

WIDTH = 80
#: ruamel's MAX_SIMPLE_KEY_LENGTH: longer keys are written as ``? key``.
_SIMPLE_KEY = 128
_INDENT = 2


class _Unsupported(Exception):
    """Data this port does not write; ruamel does."""


def _str_resolvers() -> dict[str, list[re.Pattern[str]]]:
    """YAML 1.2's implicit resolvers by first character, as the safe dumper checks them: a
    plain scalar one of them matches would not read back as a string."""
    table = VersionedResolver(version=(1, 2)).versioned_resolver
    return {first: [regexp for _tag, regexp in entries] for first, entries in table.items()}


_RESOLVERS = _str_resolvers()
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_FIRST_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_WHITESPACE = "\0 \t\r\n\x85\u2028\u2029"
#: A string's style, once found: "" plain, "'" single-quoted (None: ruamel writes it).
_STYLES: dict[str, str] = {}


def render(data: Mapping[str, Any]) -> str:
    """``data`` (JSON-like) as ruamel's safe dumper writes it with ``default_flow_style=False``
    after a JSON round trip (tuples are lists, keys strings)."""
    fast = fast_render(data)
    return fast if fast is not None else _ruamel(json.loads(json.dumps(data, sort_keys=True)))


def fast_render(data: Mapping[str, Any]) -> str | None:
    """``render``'s own writer; None when the data holds something only ruamel writes."""
    try:
        emitter = _Emitter()
        emitter.document(data)
    except _Unsupported:
        return None
    return "".join(emitter.out)


def _ruamel(data: Mapping[str, Any]) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(dict(data), buffer)
    return buffer.getvalue()


def style(text: str) -> str:
    """"" when ``text`` may be a plain block scalar, "'" when it is single-quoted;
    ``_Unsupported`` when ruamel would do anything else (double quotes, special characters)."""
    found = _STYLES.get(text)
    if found is not None:
        return found
    if not _PRINTABLE.fullmatch(text):
        raise _Unsupported(text)
    found = "" if _plain(text) else "'"
    if found == "'" and "'" in text:
        raise _Unsupported(text)  # ruamel double-quotes these
    if len(_STYLES) > 200_000:
        _STYLES.clear()
    _STYLES[text] = found
    return found


def _text(value: Any) -> str:
    """A scalar as the safe representer writes it (a string stays itself)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise _Unsupported(f"the scalar {value!r}")


def _quoted(text: str) -> str:
    """A string in the style it gets when it fits on its line."""
    return text if text and style(text) == "" else f"'{text}'"


def _plain(text: str) -> bool:
    """Whether the emitter's ``analyze_scalar`` allows a block plain scalar and the resolver
    reads it back as a string (printable ASCII only, no line breaks)."""
    if not text or text[0] == " " or text[-1] == " ":
        return False
    if text.startswith(("---", "...")) or text[0] in _FIRST_INDICATORS:
        return False
    followed = len(text) == 1 or text[1] in _WHITESPACE
    if text[0] in "?:-" and followed:
        return False
    if ": " in text or text.endswith(":") or " #" in text:
        return False
    return not any(regexp.match(text) for regexp in _RESOLVERS.get(text[0], ()))


class _Emitter:
    """The part of ruamel's Emitter a ledger record needs, driven by the data directly."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.indent: int | None = None
        #: (indent, is a sequence) pairs, as ruamel's ``Indents``.
        self.indents: list[tuple[int | None, bool]] = []
        self.flow_level = 0

    # -- the document and its nodes ---------------------------------------------------------

    def document(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping) or not data:
            raise _Unsupported("a root that is not a non-empty mapping")
        self.node(data, mapping=False)
        self.write_indent()  # the document's end

    def node(self, value: Any, *, mapping: bool = False, sequence: bool = False,
             simple_key: bool = False) -> None:
        if isinstance(value, Mapping):
            if simple_key:
                raise _Unsupported("a mapping as a key")
            if value:
                self.block_mapping(value)
            else:
                self.empty("{", "}")
        elif isinstance(value, list | tuple):
            if simple_key:
                raise _Unsupported("a sequence as a key")
            if value:
                self.block_sequence(value, mapping=mapping)
            else:
                self.empty("[", "]")
        else:
            self.scalar(value, sequence=sequence, simple_key=simple_key)

    def block_mapping(self, value: Mapping[str, Any]) -> None:
        self.increase_indent(sequence=False)
        for key in sorted(value):
            if not isinstance(key, str):
                raise _Unsupported(f"the key {key!r}")
            self.write_indent()
            if len(key) >= _SIMPLE_KEY:
                raise _Unsupported("a long key")
            item = value[key]
            if not isinstance(item, Mapping | list | tuple) and self._short_pair(key, item):
                continue
            self.scalar(key, simple_key=True)
            self.write_indicator(":", False)
            self.node(item, mapping=True)
        self.indent = self.indents.pop()[0]

    def _short_pair(self, key: str, item: Any) -> bool:
        """``key: value`` on the line ``write_indent`` just began, in one write when it fits
        (what the general path writes then); False to take the general path."""
        key_text = _quoted(key)
        text = _quoted(item) if isinstance(item, str) else _text(item)
        if self.column + len(key_text) + 2 + len(text) > WIDTH:
            return False
        self.out.append(f"{key_text}: {text}")
        self.column += len(key_text) + 2 + len(text)
        self.whitespace = False
        self.indention = False
        return True

    def block_sequence(self, items: list[Any] | tuple[Any, ...], *, mapping: bool) -> None:
        indentless = mapping and not self.indention
        self.increase_indent(sequence=True, indentless=indentless)
        if len(self.indents) >= 2 and self.indents[-2][1] and self.indents[-1][1]:
            self.indention = True  # a sequence right inside a sequence (``- - x``)
        for item in items:
            self.write_indent()
            self.write_indicator("-", True, indention=True)
            self.node(item, sequence=True)
        self.indent = self.indents.pop()[0]

    def empty(self, start: str, end: str) -> None:
        """``{}`` or ``[]``: ruamel writes empty collections in flow style."""
        self.write_indicator(" " * self.flow_align() + start, True, whitespace=True)
        self.increase_indent(flow=True, sequence=start == "[")
        self.indent = self.indents.pop()[0]
        self.write_indicator(end, False)
        self.write_line_break()

    def flow_align(self) -> int:
        """ruamel's ``Indents.seq_flow_align`` (extra spaces after a dash)."""
        if len(self.indents) < 2 or not self.indents[-1][1]:
            return 0
        base = self.indents[-1][0] or 0
        return base + _INDENT - self.column - 1

    def scalar(self, value: Any, *, sequence: bool = False, simple_key: bool = False) -> None:
        text = _text(value)
        chosen = style(text) if isinstance(value, str) and value else (
            "'" if isinstance(value, str) else "")
        self.increase_indent(flow=True)
        if sequence:
            self.write_indent()
        if chosen:
            self.write_single_quoted(text, split=not simple_key)
        else:
            self.write_plain(text, split=not simple_key)
        self.indent = self.indents.pop()[0]

    # -- ruamel's writers, restricted to one line of printable ASCII -------------------------

    def increase_indent(self, *, flow: bool = False, sequence: bool = False,
                        indentless: bool = False) -> None:
        self.indents.append((self.indent, sequence))
        if self.indent is None:
            self.indent = None if flow else 0
        elif not indentless:
            self.indent += _INDENT

    def write_indicator(self, indicator: str, need_whitespace: bool, *,
                        whitespace: bool = False, indention: bool = False) -> None:
        data = indicator if self.whitespace or not need_whitespace else " " + indicator
        self.whitespace = whitespace
        self.indention = self.indention and indention
        self.column += len(data)
        self.out.append(data)

    def write_indent(self) -> None:
        indent = self.indent or 0
        if (not self.indention or self.column > indent
                or (self.column == indent and not self.whitespace)):
            self.write_line_break()
        if self.column < indent:
            self.whitespace = True
            self.out.append(" " * (indent - self.column))
            self.column = indent

    def write_line_break(self) -> None:
        self.whitespace = True
        self.indention = True
        self.column = 0
        self.out.append("\n")

    def write_plain(self, text: str, *, split: bool) -> None:
        if not self.whitespace:
            self.out.append(" ")
            self.column += 1
        self.whitespace = False
        self.indention = False
        if self.column + len(text) <= WIDTH:  # nothing to fold: one write
            self.out.append(text)
            self.column += len(text)
            return
        spaces = False
        start = end = 0
        while end <= len(text):
            ch = text[end] if end < len(text) else None
            if spaces:
                if ch != " ":
                    if start + 1 == end and self.column >= WIDTH and split:
                        self.write_indent()
                        self.whitespace = False
                        self.indention = False
                    else:
                        self.out.append(text[start:end])
                        self.column += end - start
                    start = end
            elif ch is None or ch == " ":
                if (end - start + self.column > WIDTH and self.indent is not None
                        and self.column > self.indent):
                    self.write_indent()  # a word longer than the line gets a line of its own
                self.out.append(text[start:end])
                self.column += end - start
                start = end
            if ch is not None:
                spaces = ch == " "
            end += 1

    def write_single_quoted(self, text: str, *, split: bool) -> None:
        self.write_indicator("'", True)
        if self.column + len(text) <= WIDTH:
            self.out.append(text)
            self.column += len(text)
        else:
            self._fold_quoted(text, split)
        self.write_indicator("'", False)

    def _fold_quoted(self, text: str, split: bool) -> None:
        spaces = False
        start = end = 0
        while end <= len(text):
            ch = text[end] if end < len(text) else None
            if spaces:
                if ch is None or ch != " ":
                    if (start + 1 == end and self.column > WIDTH and split and start != 0
                            and end != len(text)):
                        self.write_indent()
                    else:
                        self.out.append(text[start:end])
                        self.column += end - start
                    start = end
            elif (ch is None or ch == " ") and start < end:
                self.out.append(text[start:end])
                self.column += end - start
                start = end
            if ch is not None:
                spaces = ch == " "
            end += 1
