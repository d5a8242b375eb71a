"""Field types shared by the kinds: Kubernetes' integers, quantities and int-or-percent values.

They accept what YAML gives (``cpu: 1``, ``cpu: "500m"``, ``maxSurge: 25%``) and keep
a plain ``str``/``int`` in the model, so controllers compare and copy them without
special types. Their JSON Schema says the same thing to editors (schemas/).

``Int32`` and ``Int64`` are Kubernetes' ``int32``/``int64`` fields: a number within the
type's range, never a string (``replicas: "3"`` is refused, as kubectl refuses it) nor a
boolean. A field's own ``Field(ge=..., le=...)`` narrows the range further.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, cast

from pydantic import BeforeValidator, GetCoreSchemaHandler, Strict, WithJsonSchema
from pydantic_core import core_schema

from gitkube.api import quantities

_PERCENT = re.compile(r"[0-9]+%")

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class _Range:
    """The range of a Go integer type, unless the field's own ``Field`` bounds are set."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = handler(source)
        if schema["type"] == "int":  # the field's ge/gt/le/lt are already in it, and win
            bounds = cast(core_schema.IntSchema, schema)
            if "gt" not in bounds:
                bounds.setdefault("ge", self.low)
            if "lt" not in bounds:
                bounds.setdefault("le", self.high)
        return schema


Int32 = Annotated[int, Strict(), _Range(INT32_MIN, INT32_MAX)]
Int64 = Annotated[int, Strict(), _Range(INT64_MIN, INT64_MAX)]


def _int_or_percent(value: Any) -> int | str:
    if isinstance(value, bool):
        raise ValueError(f"must be an integer or a percentage such as '25%', not {value!r}")
    if isinstance(value, int):
        if not INT32_MIN <= value <= INT32_MAX:
            raise ValueError(f"must be an int32 ({INT32_MIN} to {INT32_MAX}), not {value}")
        return value
    if isinstance(value, str) and _PERCENT.fullmatch(value):
        return value
    raise ValueError(
        f"must be an integer or a percentage such as '25%', not {value!r} "
        "(a valid percent string must be a numeric string followed by an ending '%')"
    )


Quantity = Annotated[
    str,
    BeforeValidator(quantities.quantity_text),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": quantities.QUANTITY_PATTERN},
                {"type": "number"},
            ],
            "description": "A Kubernetes quantity such as 500m, 0.5, 128Mi or 1G.",
        }
    ),
]

IntOrPercent = Annotated[
    int | str,
    BeforeValidator(_int_or_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^[0-9]+%$"},
            ],
            "description": "A number of pods or a percentage of the desired replicas.",
        }
    ),
]


def scaled_value(value: int | str, total: int, *, round_up: bool) -> int:
    """An int-or-percent resolved against ``total`` (Kubernetes' GetScaledValueFromIntOrPercent)."""
    if isinstance(value, int):
        return value
    percent = int(value.rstrip("%"))
    whole, rest = divmod(percent * total, 100)
    return whole + 1 if round_up and rest else whole
