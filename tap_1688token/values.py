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


#: the integers every warehouse stores (PostgreSQL's and BigQuery's BIGINT/INT64)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def fit(json_type: str, value: Any) -> Any:
    """`value` if it is of JSON type `json_type` (integers read leniently, and only those a
    64-bit column holds), else None."""
    if json_type == "integer":
        number = read_int(value)
        return number if number is not None and INT64_MIN <= number <= INT64_MAX else None
    if json_type == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value if math.isfinite(value) else None
        return None
    kinds = {"boolean": bool, "string": str, "array": list, "object": dict}
    return value if isinstance(value, kinds.get(json_type, ())) else None


def as_sent(value: Any) -> Any:
    """A value kept aside (in `extra`) as the server sent it; an integer no 64-bit column
    holds as its digits, text every target loads."""
    if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
        return str(value)
    return value
