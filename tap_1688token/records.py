"""Turning served log items into records: types, `other`, the time format and `log_key`."""

from __future__ import annotations

import functools
import hashlib
import operator
import sys
import time
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import msgspec

from tap_1688token import jsontext
from tap_1688token.errors import GatewayError
from tap_1688token.fields import CHARGE_FIELDS, LOG_FIELDS
from tap_1688token.values import INT64_MAX, INT64_MIN, as_sent, fit, read_int

#: fields that identify a log and that servers store once and never rewrite. Not `id`
#: (a db id, id % 1024, a row position or 0 by server version), not `channel_name` (a
#: join, blanked for users), not `other` (re-serialized, admin parts removed).
IDENTITY_FIELDS = (
    "type",
    "username",
    "token_name",
    "token_id",
    "model_name",
    "quota",
    "prompt_tokens",
    "completion_tokens",
    "use_time",
    "is_stream",
    "user_group",
    "content",
    "request_id",
)
#: a site's logs are many users': the user's id joins the identity, so two users' logs
#: alike in every other field (a renamed user's, a blank username) never share a key
SITE_IDENTITY_FIELDS = (*IDENTITY_FIELDS, "user_id")

#: every field of the log schemas, in their order
RECORD_FIELDS = tuple(field.name for field in LOG_FIELDS)
#: fields read out of `other`, by JSON type
_CHARGE_TYPES = {field.name: field.type for field in CHARGE_FIELDS}
_NO_CHARGE = dict.fromkeys(_CHARGE_TYPES)
#: fields the tap derives: never typed as sent
_DERIVED = frozenset({"log_key", "created_at", "other", "other_raw", "extra", *_CHARGE_TYPES})


#: the column of each field a server sends under another name
RENAMED = {f.source: f.name for f in LOG_FIELDS if f.source}


def _typed(json_type: str) -> frozenset[str]:
    return frozenset(
        f.sent_as for f in LOG_FIELDS if f.type == json_type and f.name not in _DERIVED
    )


# What a server sends: by the names it sends them under.
INTEGER_FIELDS = _typed("integer")
STRING_FIELDS = _typed("string")
BOOLEAN_FIELDS = _typed("boolean")
KNOWN_FIELDS = frozenset(f.sent_as for f in LOG_FIELDS) - {"log_key", "extra", *_CHARGE_TYPES}

# Above this a `created_at` is milliseconds (year 5138 in seconds).
_MS_THRESHOLD = 100_000_000_000
LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z


def unix_seconds(value: Any) -> int:
    """A served `created_at` as Unix seconds; milliseconds are recognized and divided."""
    if type(value) is int and 0 < value < _MS_THRESHOLD:
        return value  # the common case, first: every item of every page comes here
    seconds = read_int(value)
    if seconds is not None and seconds >= _MS_THRESHOLD:
        seconds //= 1000
    if seconds is None or not 0 < seconds <= LAST_SECOND:
        msg = f"the server sent a log whose created_at is not a Unix time: {value!r:.60}"
        raise GatewayError(msg)
    return seconds


_MINUTES_SECONDS = tuple(f"{m:02d}:{s:02d}+00:00" for m in range(60) for s in range(60))


@functools.lru_cache(maxsize=4096)
def _hour_prefix(hours: int) -> str:
    return time.strftime("%Y-%m-%dT%H:", time.gmtime(hours * 3600))


def rfc3339(seconds: int) -> str:
    """The one format `created_at` is emitted in (bookmarks compare as strings)."""
    hours, rest = divmod(seconds, 3600)
    return _hour_prefix(hours) + _MINUTES_SECONDS[rest]


def to_records(
    items_newest_first: Iterable[dict[str, Any]], *, charge: bool = False, site: bool = False
) -> list[dict[str, Any]]:
    """Records of one window, oldest first, each with its `log_key`.

    With `charge`, each also carries the charge's inputs read out of `other`; with `site`,
    the key tells users apart (`SITE_IDENTITY_FIELDS`).

    Servers list newest first (`id` descending), so reversing gives insertion order;
    the stable sort by second keeps it among logs of the same second, and the ordinal
    of identical logs follows it, so it is the same on every run.
    """
    rows = [(unix_seconds(item.get("created_at")), item) for item in items_newest_first]
    rows.reverse()
    rows.sort(key=operator.itemgetter(0))
    seen: dict[tuple[int, str], int] = {}
    records = []
    identity = _site_identity_values if site else _identity_values
    for seconds, item in rows:
        record = _normalize_plain(item, seconds) or normalize(item, seconds)
        digest = identity_digest(record, identity)
        ordinal = seen.get((seconds, digest), 0)
        seen[seconds, digest] = ordinal + 1
        record["log_key"] = f"{seconds}-{digest}-{ordinal}"
        if charge:
            record |= charge_inputs(record["other"]) if record["other"] else _NO_CHARGE
        records.append(record)
    return records


_identity_values = operator.itemgetter(*IDENTITY_FIELDS)
_site_identity_values = operator.itemgetter(*SITE_IDENTITY_FIELDS)


def identity_digest(
    record: dict[str, Any], identity: Callable[[dict[str, Any]], Any] = _identity_values
) -> str:
    # Empty, zero and missing are one value, so a server that starts sending a field
    # as "" or 0 does not change the keys of logs it already served.
    values = [value or None for value in identity(record)]
    # Byte for byte what json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    # gave the first releases (tests/test_records.py pins it), at a fifth of the cost.
    canonical = msgspec.json.encode(values)
    return hashlib.blake2b(canonical, digest_size=10).hexdigest()


#: what a value of each field must be to be stored exactly as sent (an integer's range too)
_EXACT_TYPES: dict[str, Any] = {
    "integer": Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)],
    "string": str,
    "boolean": bool,
}
_EMPTY_RECORD = dict.fromkeys(RECORD_FIELDS)


def _plain_log_type() -> type[msgspec.Struct]:
    """A log whose every value fits its field as sent, as msgspec checks it.

    Every known field by the name a server sends it under, typed exactly (no bool for an
    integer, no number for a string) and null allowed; `created_at` and `other`, read
    later, any value; every other name (a derived field's too) refused.
    """
    fields = [
        (
            field.name,
            Any if field.name in ("created_at", "other") else _EXACT_TYPES[field.type] | None,
            msgspec.field(default=None, name=field.sent_as),
        )
        for field in LOG_FIELDS
        if field.name not in _DERIVED or field.name in ("created_at", "other")
    ]
    return msgspec.defstruct("PlainLog", fields, forbid_unknown_fields=True)


_PLAIN_LOG = _plain_log_type()
_as_plain = functools.partial(msgspec.convert, type=_PLAIN_LOG)
_plain_values = msgspec.structs.asdict


def _normalize_plain(item: dict[str, Any], seconds: int) -> dict[str, Any] | None:
    """`normalize` for an item whose every value fits its field as sent; else None.

    The check and the copy are msgspec's, in C: a server's usual item costs a fraction of
    a Python loop over its fields.
    """
    try:
        plain = _as_plain(item)
    except msgspec.ValidationError:
        return None
    record = _EMPTY_RECORD | _plain_values(plain)  # the schema's order, as `normalize`'s
    record["created_at"] = rfc3339(seconds)
    if record["other"] is not None:
        record["other"], record["other_raw"] = parse_other(record["other"])
    return record


def normalize(item: dict[str, Any], seconds: int) -> dict[str, Any]:
    """Typed copy of an item; values that do not fit their type move to `extra`.

    Every known field is present (null when the server did not send it), so each
    record has the shape of the schema whatever the server's version.
    """
    record = dict(_EMPTY_RECORD)
    record["created_at"] = rfc3339(seconds)
    extra: dict[str, Any] = {}
    for field, value in item.items():
        if field == "created_at":
            continue
        if field == "other":
            record["other"], raw = parse_other(value)
            if raw is not None:
                record["other_raw"] = raw
            continue
        if field not in KNOWN_FIELDS:
            extra[field] = value
            continue
        typed, ok = _coerce(field, value)
        record[RENAMED.get(field, field)] = typed
        if not ok:
            extra[field] = as_sent(value)
    record["extra"] = extra or None
    return record


def _charge_type() -> type[msgspec.Struct]:
    """The charge's inputs as msgspec checks them: each of its column's type, an integer
    within 64 bits, a number finite (never a bool for either); other names ignored."""
    finite = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]
    kinds: dict[str, Any] = _EXACT_TYPES | {"number": int | finite}
    fields = [(name, kinds[kind] | None, None) for name, kind in _CHARGE_TYPES.items()]
    return msgspec.defstruct("Charge", fields)


_CHARGE = _charge_type()
_as_charge = functools.partial(msgspec.convert, type=_CHARGE)


def charge_inputs(other: dict[str, Any]) -> dict[str, Any]:
    """Every input of the charge, typed as `fit` reads it from `other`; null when it is
    missing or does not fit."""
    try:
        return _plain_values(_as_charge(other))
    except msgspec.ValidationError:
        pass  # one value (at least) is not of its type as sent: `fit` reads each
    found = dict(_NO_CHARGE)
    for name in _CHARGE_TYPES.keys() & other.keys():
        found[name] = fit(_CHARGE_TYPES[name], other[name])
    return found


def parse_other(value: Any) -> tuple[dict[str, Any] | None, str | None]:
    """`other` as an object (New API sends a JSON string); unparsable text is kept raw."""
    if value is None or isinstance(value, dict):
        return value, None
    if not isinstance(value, str):
        return {"value": value}, None
    text = value.strip()
    if text in ("", "null", "{}"):
        return None, None
    try:
        parsed = jsontext.loads(text)
    except ValueError:
        return None, value
    if parsed is None:
        return None, None
    return (parsed if isinstance(parsed, dict) else {"value": parsed}), None


def _coerce(field: str, value: Any) -> tuple[Any, bool]:
    if value is None:
        return None, True
    if field in INTEGER_FIELDS:
        if isinstance(value, bool):
            return int(value), True
        number = fit("integer", value)
        return number, number is not None
    if field in BOOLEAN_FIELDS:
        if isinstance(value, bool):
            return value, True
        if value in (0, 1, "0", "1", "true", "false"):
            return value in (1, "1", "true"), True
        return None, False
    if isinstance(value, str):
        return value, True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value), True
    return None, False
