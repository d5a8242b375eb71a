"""Many simulated nodes from one inventory entry: ``count`` and ``{i}`` templates.

An inventory entry with ``count: 500`` stands for 500 nodes; in its name, address,
stateDir, label values and taint values, ``{i}`` is the node's number (0 to
count - 1), optionally with one arithmetic step and a format: ``sim-{i}``,
``sim-{i:03d}``, ``zone-{i % 3}``, ``rack-{i // 20}``, ``{i + 1}``. Every node of
an entry has the entry's capacity (and the simulated runtime reports it); nodes of
different sizes are several entries.

    - name: sim-{i:03d}
      count: 500
      transport: sim               # in this process: no SSH, no podman
      labels: {topology.kubernetes.io/zone: "zone-{i % 3}"}
      capacity: {cpu: "8", memory: 32Gi, pods: "110"}

The entry is expanded when the inventory is read (``InventoryNode.expanded``, with
``render`` here), so everything downstream sees ordinary nodes.
"""

from __future__ import annotations

import re

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_EXPRESSION = re.compile(r"\s*i\s*(?:(%|//|\+|-|\*)\s*(\d+)\s*)?(?::([0-9<>^=+ ,._a-zA-Z-]*))?")


def render(template: str, i: int) -> str:
    """``template`` with every ``{i ...}`` placeholder replaced for node number ``i``."""

    def one(match: re.Match[str]) -> str:
        parsed = _EXPRESSION.fullmatch(match.group(1))
        if parsed is None:
            raise ValueError(
                f"cannot expand {match.group(0)!r} in {template!r}: a placeholder is {{i}}, "
                "optionally with one of % // + - * and a number, and a format such as :03d")
        operator, operand, spec = parsed.groups()
        value = i
        if operator is not None:
            number = int(operand)
            if operator in ("%", "//") and number == 0:
                raise ValueError(f"cannot expand {match.group(0)!r}: division by zero")
            value = {"%": value % max(number, 1), "//": value // max(number, 1),
                     "+": value + number, "-": value - number, "*": value * number}[operator]
        return format(value, spec or "")

    return _PLACEHOLDER.sub(one, template)

