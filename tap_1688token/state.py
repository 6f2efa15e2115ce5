"""A state file as the tap can resume from it, or one line saying why not.

Meltano stores a tap's state wrapped (`{"singer_state": {...}}`); that form is taken as
is. A bookmark the tap cannot read would otherwise end in a traceback deep in the SDK,
or silently in a full re-sync.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

from tap_1688token.errors import StateError

_EXAMPLE = "2025-06-15T00:00:00+00:00"
#: the replication key of every stream of this tap
REPLICATION_KEY = "created_at"


def parse_state(text: str, source: str, streams: Iterable[str]) -> dict[str, Any]:
    """The state in `text` (a file's content), checked for `streams`."""
    if not text.strip():
        msg = f"{source}: is empty, not a Singer state; pass no state to sync from start_date"
        raise StateError(msg)
    try:
        value = json.loads(text)
    except ValueError as exc:
        msg = f"{source}: is not JSON ({exc}); a Singer state is an object with `bookmarks`"
        raise StateError(msg) from None
    return check_state(value, source, streams)


def check_state(value: Any, source: str, streams: Iterable[str]) -> dict[str, Any]:
    """`value` unwrapped from Meltano's form, with every bookmark of `streams` readable."""
    if isinstance(value, dict) and "singer_state" in value and "bookmarks" not in value:
        value = value["singer_state"]
    if not isinstance(value, dict):
        msg = f"{source}: is not a Singer state (a JSON object with `bookmarks`)"
        raise StateError(msg)
    bookmarks = value.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        msg = f"{source}: `bookmarks` is not an object of streams"
        raise StateError(msg)
    for stream in streams:
        entry = bookmarks.get(stream)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            msg = f"{source}: the bookmark of {stream} is not an object: {entry!r:.60}"
            raise StateError(msg)
        bookmark = entry.get("replication_key_value")
        if bookmark is None:
            continue
        if not _is_timestamp(bookmark):
            msg = (
                f"{source}: the bookmark of {stream} is {bookmark!r:.60}, not an ISO 8601 "
                f"date-time such as {_EXAMPLE}; correct it, or remove the stream's entry "
                "to sync it from start_date"
            )
            raise StateError(msg)
        key = entry.setdefault("replication_key", REPLICATION_KEY)
        if key != REPLICATION_KEY:
            # The SDK would ignore such a bookmark, re-read all history, and then fail
            # on records older than it.
            msg = (
                f"{source}: the bookmark of {stream} is for replication key {key!r:.40}, "
                f"not {REPLICATION_KEY!r}; remove the stream's entry to sync it from start_date"
            )
            raise StateError(msg)
    return value


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
