"""YAML text → plain documents that remember the line of every key and item.

First step of reading a revision: ``repo`` hands each committed file here, and
``manifests`` validates what comes out. Errors point at ``file:line`` because a
person fixes a manifest in an editor, so every mapping key and sequence item
keeps its line, and ``Document.line_of`` maps a field path from validation
(``spec.template.spec.containers[0].image``) back to the deepest line that exists.

The text is read from ruamel.yaml's event stream rather than its round-trip
loader: building plain values straight from events keeps the lines, lets
``scalars`` give plain scalars Kubernetes' meaning (``0400`` is octal), and can use
libyaml's parser (``ruamel.yaml.clibz``), ten times faster than the pure Python one
it falls back to, which matters for a repository of hundreds of manifests.

A file that is not valid YAML, a duplicate key or a document that is not a
mapping becomes a ``Problem`` with its line, never an exception.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML, events
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from gitkube import errors
from gitkube.source import scalars

_libyaml: Any
try:
    _libyaml = importlib.import_module("_ruamel_yaml_clibz")
except ImportError:  # pragma: no cover - the pure Python parser gives the same events
    _libyaml = None

#: A document whose aliases expand to more values than this is refused (the "billion laughs").
MAX_VALUES = 200_000
#: Mappings and lists nested deeper than this are refused, as Kubernetes' YAML decoder refuses
#: more than 10,000 levels ("exceeded max depth"). No manifest of a kind gitkube knows needs
#: a tenth of this bound (the corpus' deepest is 11), and everything after parsing
#: (validation, hashing, JSON) recurses once a level, so the bound is the one that keeps every
#: command's stack safe.
MAX_DEPTH = 100


class Lines:
    """Where a value sits: its line, and the lines of its keys or items."""

    __slots__ = ("items", "keys", "line")

    def __init__(self, line: int) -> None:
        self.line = line
        self.keys: dict[str, Lines] = {}
        self.items: list[Lines] = []


@dataclasses.dataclass(frozen=True)
class Document:
    """One YAML document of one file, as plain Python data."""

    path: str
    #: 1-based line where the document's content starts (its first key, or its ``{``).
    line: int
    #: 0-based position of the document in its file's stream, empty documents counted.
    index: int
    data: dict[str, Any]
    lines: Lines | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def line_of(self, field_path: str) -> int:
        """The line of the deepest part of ``field_path`` present in the document."""
        node = self.lines
        if node is None:
            return self.line
        found = node.line
        tokens = _split_path(field_path)
        while tokens and node is not None:
            node, tokens = _step(node, tokens)
            if node is not None:
                found = node.line
        return found


# ``[0]`` an item; ``["a.b"]``, ``['a.b']`` or ``[a.b]`` a key with odd characters; ``.name`` a key.
_PATH_TOKEN = re.compile(r"\[(\d+)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]|\[([^\]]*)\]|\.?([^.\[]+)")


def _split_path(field_path: str) -> list[str | int]:
    tokens: list[str | int] = []
    for match in _PATH_TOKEN.finditer(field_path):
        index, *keys = match.groups()
        if index is not None:
            tokens.append(int(index))
        else:
            tokens.append(next(key for key in keys if key is not None))
    return tokens


def _step(node: Lines, tokens: list[str | int]) -> tuple[Lines | None, list[str | int]]:
    head = tokens[0]
    if isinstance(head, int) and not node.keys:
        child = node.items[head] if 0 <= head < len(node.items) else None
        return child, tokens[1:]
    # Keys may hold dots (``example.com/dongle``): try the longest run of segments first.
    run = 1
    while run < len(tokens) and isinstance(tokens[run], str):
        run += 1
    for size in range(run, 0, -1):
        key = ".".join(str(t) for t in tokens[:size])
        if key in node.keys:
            return node.keys[key], tokens[size:]
    return None, tokens


class _Invalid(Exception):
    """A document is wrong in a way the YAML parser itself accepts."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def parse_documents(text: str | bytes, path: str) -> tuple[list[Document], list[errors.Problem]]:
    """Every non-empty document of a file, and what is wrong with the file.

    The first YAML error ends the file (the parser cannot resynchronise), so a
    file with problems should be treated as invalid as a whole.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return [], [errors.Problem(path, 0, f"The file is not UTF-8 text ({exc.reason}).")]
    documents, problems, scanned = _read(text, path, pure=False)
    if scanned and _libyaml is not None:
        # libyaml refuses what YAML 1.2 allows and kubectl reads: a colon inside a plain
        # scalar in flow style (``{image: localhost/web:v1}``). The pure parser follows
        # YAML 1.2 there; a file it reads too is taken as it reads it.
        again, still, _ = _read(text, path, pure=True)
        if not still:
            return again, still
    return documents, problems


def _read(text: str, path: str, *, pure: bool) -> tuple[list[Document], list[errors.Problem],
                                                         bool]:
    """The documents and problems of ``text``, and whether the parser itself refused it."""
    documents: list[Document] = []
    problems: list[errors.Problem] = []
    builder = _Builder(parse_events(text, pure=pure))
    try:
        for index, root, lines in builder.documents():
            if root is None:
                continue
            if not isinstance(root, dict):
                kind = "a list" if isinstance(root, list) else "a single value"
                problems.append(
                    errors.Problem(
                        path,
                        lines.line,
                        f"Document {index + 1} is {kind}, not a mapping; a manifest is a "
                        "mapping with apiVersion, kind and metadata.",
                    )
                )
                continue
            documents.append(Document(path, lines.line, index, root, lines))
    except _Invalid as exc:
        problems.append(errors.Problem(path, exc.line, exc.message))
    except MarkedYAMLError as exc:
        return documents, [*problems, _yaml_problem(path, exc)], True
    except YAMLError as exc:
        problems.append(errors.Problem(path, 0, f"The file is not valid YAML: {exc}."))
    return documents, problems, False


def parse_events(text: str, *, pure: bool = False) -> Iterator[events.Event]:
    """YAML parser events, from libyaml when it is installed (unless ``pure``)."""
    if _libyaml is None or pure:
        yield from YAML(typ="safe", pure=True).parse(text)
        return
    parser = _libyaml.CParser(text)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


def load_documents(text: str | bytes, path: str) -> list[Document]:
    """Like ``parse_documents``, but a file with problems raises ``ManifestError``."""
    documents, problems = parse_documents(text, path)
    if problems:
        raise errors.ManifestError(problems)
    return documents


def _yaml_problem(path: str, exc: MarkedYAMLError) -> errors.Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 0
    problem = str(exc.problem or "").strip()
    if "'\\t'" in problem or "tab character" in problem:
        message = "A tab is used for indentation, which YAML does not allow; indent with spaces."
    else:
        context = str(exc.context or "").strip()
        if context and exc.context_mark is not None:
            context = f" ({context} on line {exc.context_mark.line + 1})"
        elif context:
            context = f" ({context})"
        message = f"The file is not valid YAML: {problem}{context}."
    return errors.Problem(path, line, message)


class _Builder:
    """Turns parser events into plain values plus ``Lines``, one document at a time."""

    def __init__(self, stream: Iterator[events.Event]) -> None:
        self._events = stream
        self._anchors: dict[str, tuple[Any, Lines, int]] = {}
        self._count = 0
        self._depth = 0

    def documents(self) -> Iterator[tuple[int, Any, Lines]]:
        index = 0
        for event in self._events:
            if isinstance(event, events.DocumentStartEvent):
                self._anchors = {}
                self._count = 0
                self._depth = 0
                value, lines, _ = self._value(next(self._events))
                yield index, value, lines
                index += 1

    def _value(self, event: events.Event) -> tuple[Any, Lines, int]:
        """The value starting at ``event``, its lines, and how many values it holds."""
        line = event.start_mark.line + 1
        if isinstance(event, events.AliasEvent):
            if event.anchor not in self._anchors:
                raise _Invalid(line, f"The alias *{event.anchor} has no anchor before it.")
            value, lines, size = self._anchors[event.anchor]
            self._grow(size, line)
            return value, lines, size
        if isinstance(event, events.ScalarEvent):
            result: tuple[Any, Lines, int] = (self._scalar(event, line), Lines(line), 1)
            self._grow(1, line)
        elif isinstance(event, events.SequenceStartEvent):
            self._check_collection_tag(event, "seq", line)
            self._enter(line)
            result = self._sequence(line)
            self._depth -= 1
        elif isinstance(event, events.MappingStartEvent):
            self._check_collection_tag(event, "map", line)
            self._enter(line)
            result = self._mapping(line)
            self._depth -= 1
        else:
            raise _Invalid(line, f"Unexpected YAML structure ({type(event).__name__}).")
        anchor = getattr(event, "anchor", None)
        if anchor:
            self._anchors[anchor] = result
        return result

    def _enter(self, line: int) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Invalid(
                line,
                f"Mappings and lists are nested more than {MAX_DEPTH} levels deep here; "
                "gitkube reads at most that many (no manifest needs more).",
            )

    def _grow(self, size: int, line: int) -> None:
        self._count += size
        if self._count > MAX_VALUES:
            raise _Invalid(
                line,
                f"The document expands to more than {MAX_VALUES} values through aliases; "
                "write it out without repeating anchors.",
            )

    def _sequence(self, line: int) -> tuple[list[Any], Lines, int]:
        values: list[Any] = []
        lines = Lines(line)
        size = 1
        for event in self._events:
            if isinstance(event, events.SequenceEndEvent):
                break
            value, item_lines, item_size = self._value(event)
            values.append(value)
            lines.items.append(item_lines)
            size += item_size
        return values, lines, size

    def _mapping(self, line: int) -> tuple[dict[str, Any], Lines, int]:
        mapping: dict[str, Any] = {}
        lines = Lines(line)
        merges: list[tuple[Any, Lines]] = []
        size = 1
        for event in self._events:
            if isinstance(event, events.MappingEndEvent):
                break
            key_line = event.start_mark.line + 1
            is_merge = isinstance(event, events.ScalarEvent) and _is_merge_key(event)
            key, _, _ = self._value(event)
            if isinstance(key, dict | list):
                raise _Invalid(key_line, "A mapping key must be a single value, not a collection.")
            value, value_lines, value_size = self._value(next(self._events))
            size += value_size
            if is_merge:
                merges.append((value, value_lines))
                continue
            # A key is the text written (``on:`` stays "on", unlike go-yaml's "true"): keys are
            # field names, labels and file names, never meant as booleans or numbers.
            untagged = isinstance(event, events.ScalarEvent) and event.tag is None
            name = str(getattr(event, "value", "")) if untagged else scalars.key_text(key)
            if name in mapping:
                raise _Invalid(
                    key_line,
                    f'The key "{name}" appears twice in the same mapping (lines '
                    f"{lines.keys[name].line} and {key_line}); keep only one.",
                )
            mapping[name] = value
            # The key's own line is where a person looks for the field.
            value_lines_at_key = (
                value_lines if value_lines.line == key_line else _at(value_lines, key_line)
            )
            lines.keys[name] = value_lines_at_key
        for value, value_lines in merges:
            _merge(mapping, lines, value, value_lines)
        return mapping, lines, size

    def _scalar(self, event: events.ScalarEvent, line: int) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            plain = not event.style and event.implicit[0] and tag is None
            return scalars.resolve_plain(event.value) if plain else event.value
        name = tag.removeprefix(scalars.TAG_PREFIX)
        if tag.startswith(scalars.TAG_PREFIX) and name in scalars.KNOWN_SCALAR_TAGS:
            try:
                return scalars.resolve_tagged(tag, event.value)
            except ValueError as exc:
                said = str(exc)
                raise _Invalid(line, f"{said[0].upper()}{said[1:]}.") from exc
        raise _Invalid(
            line,
            f"The tag {tag} is not supported; write the value as a plain string or number.",
        )

    @staticmethod
    def _check_collection_tag(event: events.CollectionStartEvent, name: str, line: int) -> None:
        if event.tag is not None and event.tag not in ("!", scalars.TAG_PREFIX + name):
            raise _Invalid(line, f"The tag {event.tag} is not supported; remove it.")


def _is_merge_key(event: events.ScalarEvent) -> bool:
    return event.value == "<<" and (
        (event.tag is None and not event.style) or event.tag == scalars.TAG_PREFIX + "merge"
    )


def _at(value_lines: Lines, key_line: int) -> Lines:
    """A copy of ``value_lines`` that reports the key's line (for block values below a key)."""
    moved = Lines(key_line)
    moved.keys = value_lines.keys
    moved.items = value_lines.items
    return moved


def _merge(mapping: dict[str, Any], lines: Lines, value: Any, value_lines: Lines) -> None:
    """YAML merge keys (``<<: *defaults``): keys written in the mapping win."""
    sources = [(value, value_lines)]
    if isinstance(value, list):
        sources = list(zip(value, value_lines.items, strict=True))
    for source, source_lines in sources:
        if not isinstance(source, dict):
            raise _Invalid(value_lines.line, "A merge key (<<) must refer to a mapping.")
        for name, item in source.items():
            if name not in mapping:
                mapping[name] = item
                lines.keys[name] = source_lines.keys[name]
