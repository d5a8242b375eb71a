"""``$(VAR)`` expansion, exactly as Kubernetes expands env values, command and args.

A port of ``third_party/forked/golang/expansion``: ``$(NAME)`` becomes the
variable's value when it is defined and stays as written when it is not; ``$$``
is an escaped ``$``; a ``$`` followed by anything else is kept as it is. Used by
``environment.py``, which resolves a container's environment in Kubernetes' order.
"""

from __future__ import annotations

from collections.abc import Mapping

_OPERATOR = "$"
_OPENER = "("
_CLOSER = ")"


def expand(text: str, variables: Mapping[str, str]) -> str:
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == _OPERATOR and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_variable_name(text[cursor + 1:])
            if is_var:
                out.append(variables.get(read, f"$({read})"))
            else:
                out.append(read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


def _read_variable_name(rest: str) -> tuple[str, bool, int]:
    """(text read, whether it names a variable, characters consumed after the ``$``)."""
    first = rest[0]
    if first == _OPERATOR:
        return _OPERATOR, False, 1
    if first == _OPENER:
        closer = rest.find(_CLOSER, 1)
        if closer != -1:
            return rest[1:closer], True, closer + 1
        return _OPERATOR + _OPENER, False, 1
    return _OPERATOR + first, False, 1
