"""The ledger's own YAML writer writes exactly what ruamel's safe dumper writes."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from gitkube.reconcile import ledgeryaml


def ruamel(data: dict[str, Any]) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


#: Words that make YAML hesitate: indicators, resolvable scalars, spaces, quotes, length.
WORDS = st.sampled_from([
    "web", "True", "true", "False", "null", "~", "yes", "on", "NO", "123", "-1", "1.5", "1e3",
    "0x1f", ".inf", "2026-12-03T22:23:08Z", "2026-12-03", "- x", "-", "-x", "?", "? x", ":", "a:",
    "a: b", "a:b", "#x", "x #y", "x#y", "it's", "'q'", '"d"', "[x]", "{x}", "x,y", "&a", "*a",
    "!t", "|", ">", "%", "@", "`", "---", "...", "a b", " lead", "trail ", "", "é", "tab\tx",
    "line\nbreak", "=", "<<", "x" * 85, "registry.local/web-000:1", "sim://2",
    "Successfully assigned default/web-000-75c67654bc-26cjk to sim-0049: fits sim-0049",
])
TEXT = st.lists(WORDS, min_size=1, max_size=14).map(" ".join) | WORDS
SCALARS = st.none() | st.booleans() | st.integers(-10**12, 10**12) | TEXT | st.floats(
    allow_nan=False, allow_infinity=False)
KEYS = st.sampled_from(["a", "name", "status", "1", "True", "x" * 130, "key with space",
                        "lastTransitionTime", "message"]) | WORDS


def nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5)


VALUES = st.recursive(SCALARS, nested, max_leaves=25)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=8))
def test_generated_records_render_as_ruamel_renders_them(data: dict[str, Any]) -> None:
    assert ledgeryaml.render(data) == ruamel(data)


@pytest.mark.parametrize("data", [
    {"m": "a" * 90, "n": "word " * 30},
    {"a": [[], {}, [[]], [{}], [[1, 2], [3]]]},
    {"b": [{"k": 1, "l": [1, 2]}, {"m": {}}], "c": [["x" * 79, "y " * 50]]},
    {"deep": {"er": {"est": ["a b " * 30, {"x": "'" + "q" * 90}]}}},
], ids=["folding", "empty-collections", "nesting", "deep"])
def test_layouts_ruamel_has_special_cases_for(data: dict[str, Any]) -> None:
    assert ledgeryaml.render(data) == ruamel(data)
