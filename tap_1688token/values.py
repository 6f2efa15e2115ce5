"""Numbers as servers send them: ints, integral floats, or text of digits."""

from __future__ import annotations

import math
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


def fit(json_type: str, value: Any) -> Any:
    """`value` if it is of JSON type `json_type` (integers read leniently), else None."""
    if json_type == "integer":
        return read_int(value)
    if json_type == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value if math.isfinite(value) else None
        return None
    kinds = {"boolean": bool, "string": str, "array": list, "object": dict}
    return value if isinstance(value, kinds.get(json_type, ())) else None
