"""Rows of the snapshot streams: typed by their field table, and never a secret.

New API's objects carry secrets beside their figures: an API key's `key`, a channel's
upstream `key`, a user's `password` and `access_token`. Whatever a server version sends,
those names never reach a record, not even inside `extra`; nor do the free-form settings
where operators keep credentials (a user's `setting` holds a webhook secret, a channel's a
proxy URL with its password, its overrides authorization headers).
"""

from __future__ import annotations

from typing import Any

from tap_1688token.fields import Field
from tap_1688token.values import as_sent, fit

#: fields never exported, whatever object they are in
SECRET_FIELDS = frozenset(
    {
        "key",
        "password",
        "original_password",
        "access_token",
        "secret",
        "api_key",
        "webhook_secret",
        "verification_code",
        "setting",
        "header_override",
        "param_override",
    }
)


def snapshot_row(item: dict[str, Any], fields: tuple[Field, ...], at: str) -> dict[str, Any]:
    """`item` as a record of `fields`, stamped `snapshot_at`; the rest in `extra`."""
    return typed_row(item, fields) | {"snapshot_at": at}


def typed_row(item: dict[str, Any], fields: tuple[Field, ...]) -> dict[str, Any]:
    """`item` as a record of `fields`; the rest, and values that do not fit, in `extra`."""
    known = {field.sent_as: field for field in fields}
    row: dict[str, Any] = dict.fromkeys(field.name for field in fields)
    extra: dict[str, Any] = {}
    for name, value in item.items():
        if name in SECRET_FIELDS:
            continue
        field = known.get(name)
        if field is None or name in ("snapshot_at", "extra"):
            extra[name] = _without_secrets(as_sent(value))
            continue
        typed = fit(field.type, value)
        if field.type == "object" and typed is not None:
            typed = _without_secrets(typed)
        row[field.name] = typed
        if typed is None and value is not None:
            extra[name] = _without_secrets(as_sent(value))
    row["extra"] = extra or None
    return row


def _without_secrets(value: Any) -> Any:
    """`value` with every secret field removed, at any depth."""
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value
