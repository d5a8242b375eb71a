"""Field types shared by the kinds: quantities and int-or-percent values.

They accept what YAML gives (``cpu: 1``, ``cpu: "500m"``, ``maxSurge: 25%``) and keep
a plain ``str``/``int`` in the model, so controllers compare and copy them without
special types. Their JSON Schema says the same thing to editors (schemas/).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from gitkube.api import quantities

_PERCENT = re.compile(r"[0-9]+%")


def _int_or_percent(value: Any) -> int | str:
    if isinstance(value, bool):
        raise ValueError(f"must be an integer or a percentage such as '25%', not {value!r}")
    if isinstance(value, int):
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
