"""What a YAML scalar means, the way Kubernetes reads it.

kubectl and the API server turn YAML into JSON with go-yaml v2, which follows
YAML 1.1 for plain (unquoted) scalars: ``yes``/``on``/``y`` are booleans,
``0400`` is octal (the usual ``defaultMode: 0400``), timestamps stay strings.
YAML 1.2 loaders read ``0400`` as four hundred, which would silently give a
secret file the wrong mode, so ``yamlload`` resolves plain scalars here instead
of trusting the parser library's schema.
"""

from __future__ import annotations

import math
import re
from typing import Any

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
_SPECIAL_FLOATS = {
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
}  # fmt: skip
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")

TAG_PREFIX = "tag:yaml.org,2002:"
#: Explicit tags whose meaning is clear; anything else is refused with a Problem.
KNOWN_SCALAR_TAGS = frozenset({"str", "int", "float", "bool", "null"})


def resolve_plain(text: str) -> Any:
    """The value of an untagged plain scalar: None, bool, int, float or the text itself."""
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    if text and (text[0].isdigit() or text[0] in "+-."):
        number = _parse_number(text.replace("_", ""))
        if number is not None:
            return number
    return text


def _parse_number(text: str) -> int | float | None:
    if _INT.fullmatch(text):
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        if digits[:2].lower() in ("0x", "0o", "0b"):
            return sign * int(digits, 0)
        if len(digits) > 1 and digits.startswith("0"):
            return sign * int(digits, 8)  # go's strconv base 0: a leading zero means octal
        return sign * int(digits)
    if _FLOAT.fullmatch(text):
        return float(text)
    return None


def resolve_tagged(tag: str, text: str) -> Any:
    """The value of a scalar with an explicit standard tag (``!!int "8"``).

    Raises ValueError with a sentence when the text does not fit the tag.
    """
    name = tag.removeprefix(TAG_PREFIX)
    if name == "str":
        return text
    value = resolve_plain(text)
    if name == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if name == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if name == "bool" and isinstance(value, bool):
        return value
    if name == "null" and value is None:
        return None
    raise ValueError(f"the value {text!r} is not a valid !!{name}")


def key_text(value: Any) -> str:
    """A mapping key as JSON has it: keys are strings, as in Kubernetes' YAML-to-JSON step."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
