"""Numbers as servers send them: ints, integral floats, or text of digits."""

from __future__ import annotations

from typing import Any


def read_int(value: Any) -> int | None:
    """The integer `value` holds, else None; booleans are not numbers.

    Text counts only if it is digits with an optional minus: str.isdigit also says yes
    to digits int() refuses ("¹", "①"), and those are not numbers.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        try:
            return int(value)
        except ValueError:
            return None
    return None
