"""JSON text from the server as Python values: fast in the common case, lenient in the rest."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec


def loads(text: bytes | str) -> Any:
    """Parse JSON; raise ValueError when it is not JSON.

    msgspec parses pages several times faster than the json module and gives the same
    values wherever both accept the text. What it refuses, json may still accept (NaN,
    numbers beyond a float's range, escaped lone surrogates); json's answer stands then.
    """
    text = _mend_nul(text)
    try:
        try:
            return msgspec.json.decode(text)
        except msgspec.DecodeError:
            return _without_lone_surrogates(json.loads(text))
    except RecursionError:
        msg = "JSON nested too deeply"
        raise ValueError(msg) from None


#: an escaped NUL: valid JSON, but PostgreSQL's text refuses it ("text fields cannot contain
#: NUL") and fails the whole load; it becomes U+FFFD, as a lone surrogate does
_NUL, _NUL_TEXT = b"\\u0000", "\\u0000"
#: the escape itself, not the text "\\u0000" (a backslash escaped, then "u0000")
_NUL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")
_NUL_ESCAPE_TEXT = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _mend_nul(text: bytes | str) -> bytes | str:
    if isinstance(text, bytes):
        return _NUL_ESCAPE.sub(rb"\1\\ufffd", text) if _NUL in text else text
    return _NUL_ESCAPE_TEXT.sub(r"\1\\ufffd", text) if _NUL_TEXT in text else text


def _without_lone_surrogates(value: Any) -> Any:
    # "\ud800" is valid JSON but not Unicode text: no encoder (ours, a target's) can
    # write it. Such a character becomes U+FFFD, the rest of the text is kept.
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value
