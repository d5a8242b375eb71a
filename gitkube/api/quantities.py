"""Kubernetes resource quantities (``500m``, ``128Mi``, ``1e3``) as exact decimals.

Manifests give CPU and memory as quantities; the scheduler compares them as
integers (millicores, bytes). Parsing follows ``k8s.io/apimachinery``'s
``ParseQuantity``: a signed decimal number, then one optional suffix — a binary
SI suffix (``Ki`` … ``Ei``), a decimal SI suffix (``n u m k M G T P E``) or a
decimal exponent (``e3``, ``E-2``) — and values are rounded away from zero to
the nanounit, as Kubernetes does. Results are cached: the same few strings are
parsed for thousands of pods.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_UP, Context, Decimal
from functools import lru_cache
from typing import Any

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_QUANTITY = re.compile(rf"({_NUMBER})((?:[KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?")

#: A JSON Schema pattern for quantities written as strings (see schemas.py).
QUANTITY_PATTERN = rf"^{_NUMBER}(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$"

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_NANO = Decimal("1e-9")
#: Quantities are exact in Kubernetes (inf.Dec); the default 28 digits would round them.
_EXACT = Context(prec=200)


def _problem(value: object) -> str:
    return (
        f"{value!r} is not a Kubernetes quantity "
        "(expected a number with an optional suffix such as 500m, 128Mi, 1G)"
    )


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> Decimal:
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(_problem(text))
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    if suffix in _BINARY:
        amount = _EXACT.multiply(number, 1 << _BINARY[suffix])
    elif suffix in _DECIMAL:
        amount = number.scaleb(_DECIMAL[suffix], _EXACT)
    else:
        power = int(suffix[1:])
        if abs(power) > 1000:
            raise ValueError(f"{text!r} has an exponent too large for a Kubernetes quantity")
        amount = number.scaleb(power, _EXACT)
    # Kubernetes rounds away from zero to the nanounit: asking for a tiny amount gets some.
    exponent = amount.as_tuple().exponent
    if amount != 0 and isinstance(exponent, int) and exponent < -9:
        amount = amount.quantize(_NANO, rounding=ROUND_UP, context=_EXACT)
    return amount


def quantity_text(value: Any) -> str:
    """The string form of a quantity given as a YAML string, int or float; ValueError if invalid."""
    if isinstance(value, bool):
        raise ValueError(_problem(value))
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(_problem(value))
        text = repr(value)
        if "e" in text:  # repr(1e+20) == '1e+20': the exponent form is a valid quantity
            text = text.replace("e+", "e")
    elif isinstance(value, str):
        text = value
    elif isinstance(value, Decimal):
        text = str(value)
    else:
        raise ValueError(_problem(value))
    _parse_text(text)
    return text


def parse_quantity(value: str | int | float | Decimal) -> Decimal:
    """The exact value of a quantity: ``parse_quantity("1.5Gi") == Decimal(1610612736)``."""
    amount: Decimal = _parse_text(quantity_text(value))
    return amount


def cpu_millis(value: str | int | float | Decimal) -> int:
    """Millicores, rounded up like Kubernetes' ``MilliValue``: ``"0.1m"`` is 1, ``"2"`` is 2000."""
    return math.ceil(_EXACT.multiply(parse_quantity(value), 1000))


def memory_bytes(value: str | int | float | Decimal) -> int:
    """Bytes, rounded up like Kubernetes' ``Value``: ``"128Mi"`` is 134217728."""
    return math.ceil(parse_quantity(value))


def format_millis(millis: int) -> str:
    """The canonical CPU form: 2000 → ``"2"``, 1500 → ``"1500m"``."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_bytes(count: int) -> str:
    """The canonical memory form: the largest binary suffix that divides exactly."""
    for suffix, shift in sorted(_BINARY.items(), key=lambda item: -item[1]):
        if count and count % (1 << shift) == 0:
            return f"{count >> shift}{suffix}"
    return str(count)
