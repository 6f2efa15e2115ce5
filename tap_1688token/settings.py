"""The tap's settings: their schema (the public interface) and the checks beyond it."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

import pendulum
from singer_sdk import typing as th

from tap_1688token.errors import SettingError

#: whose logs a run reads: the token's own account, or the whole gateway's (an admin's)
SCOPES = ("self", "site")
#: the settings that filter a site's logs (New API's /api/log/ query parameters)
SITE_FILTERS = ("username", "group", "channel")

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "api_key",
        th.StringType,
        required=True,
        secret=True,
        title="API key",
        description=(
            "Bearer token. On New API gateways this is the user's system access token "
            "(Personal settings → Generate access token), not an sk- model key."
        ),
    ),
    th.Property(
        "base_url",
        th.StringType,
        default="https://1688token.ai",
        title="Base URL",
        description="Root URL of the gateway (any New-API-style server), without /api.",
    ),
    th.Property(
        "user_id",
        th.IntegerType,
        title="User ID",
        description="Sent as the New-Api-User header, which New API requires with an access token.",
    ),
    th.Property(
        "scope",
        th.StringType(allowed_values=list(SCOPES)),
        default="self",
        title="Scope",
        description=(
            "self: the account's own logs (/api/log/self). site: every user's logs of the "
            "gateway (/api/log/, an admin's access token), with user and channel columns, "
            "and the users and channels streams."
        ),
    ),
    th.Property(
        "username",
        th.StringType,
        title="Username filter (site)",
        description="With scope site: only this user's logs (New API's username filter).",
    ),
    th.Property(
        "group",
        th.StringType,
        title="Group filter (site)",
        description="With scope site: only logs billed under this user group.",
    ),
    th.Property(
        "channel",
        th.IntegerType(minimum=1),
        title="Channel filter (site)",
        description="With scope site: only logs relayed through this upstream channel id.",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description="Earliest created_at to extract. Unset: all history.",
    ),
    th.Property(
        "end_date",
        th.DateTimeType,
        title="End date",
        description="Latest created_at to extract, for backfills or sharding by time.",
    ),
    th.Property(
        "min_age_seconds",
        th.IntegerType(minimum=0),
        default=60,
        title="Minimum log age (seconds)",
        description=(
            "A run takes logs at least this old; newer ones wait for the next run, so "
            "logs still being written never slip past a bookmark."
        ),
    ),
    th.Property(
        "page_size",
        th.IntegerType(minimum=1, maximum=100),
        default=100,
        title="Page size",
        description="Logs per request (servers cap it at 100).",
    ),
    th.Property(
        "model_name",
        th.StringType,
        title="Model name filter",
        description="Only logs of this model (New API matches it with SQL LIKE).",
    ),
    th.Property(
        "timestamp_unit",
        th.StringType(allowed_values=["auto", "s", "ms"]),
        default="auto",
        title="Timestamp unit",
        description=(
            "Unit of start_timestamp/end_timestamp on the wire: s (New API), ms (the "
            "vendor's page) or auto (detected each run with at most two requests)."
        ),
    ),
    th.Property(
        "stats_timezone",
        th.StringType,
        default="UTC",
        title="Stats time zone",
        description="IANA time zone whose calendar days daily_stats reports (e.g. Asia/Shanghai).",
    ),
    th.Property(
        "stats_endpoint",
        th.StringType(allowed_values=["auto", "/api/log/stat", "/api/log/self/stat"]),
        default="auto",
        title="Stats endpoint",
        description=(
            "Where daily_stats asks. auto: with scope self /api/log/self/stat (the account's "
            "own sums), falling back to /api/log/stat (the vendor's page) where the server "
            "lacks it; with scope site /api/log/stat (the whole gateway's, admin only)."
        ),
    ),
    th.Property(
        "max_concurrency",
        th.IntegerType(minimum=1, maximum=16),
        default=8,
        title="Max concurrency",
        description=(
            "Requests in flight at once: the pages of a window, once its total is known, "
            "the first pages of the next windows, and daily_stats' ranges of one search "
            "level. 1 = strictly sequential."
        ),
    ),
    th.Property(
        "request_timeout_seconds",
        th.NumberType(exclusive_minimum=0),
        default=60,
        title="Request timeout (seconds)",
        description="How long one request may take before it is retried.",
    ),
    th.Property(
        "max_retries",
        th.IntegerType(minimum=0),
        default=5,
        title="Max retries",
        description=(
            "Retries of a request after a 5xx, timeout, dropped connection or unreadable "
            "body, with exponential back-off, before the run fails."
        ),
    ),
    th.Property(
        "max_rate_limit_wait_seconds",
        th.NumberType(minimum=0),
        default=600,
        title="Max rate-limit wait (seconds)",
        description=(
            "How long one request keeps waiting out HTTP 429 answers before the run "
            "fails. New API's default limiter window is 180 s."
        ),
    ),
    th.Property(
        "verify",
        th.StringType(allowed_values=["warn", "fail", "off"]),
        default="warn",
        title="Verify",
        description=(
            "Compare the usage quota delivered for each day a run read to its end with the "
            "server's own total for that day: warn (a WARNING per differing day), fail (the "
            "run then exits non-zero) or off."
        ),
    ),
    th.Property(
        "max_requests_per_minute",
        th.IntegerType(minimum=1),
        title="Max requests per minute",
        description="Pace requests to stay under the server's limiter. Unset: no pacing.",
    ),
).to_dict()


#: the tap's own settings, copied before the SDK adds its built-in ones to the schema
PROPERTIES: dict[str, dict[str, Any]] = dict(CONFIG_SCHEMA["properties"])
SECRETS = tuple(name for name, prop in PROPERTIES.items() if prop.get("secret"))


def default(name: str) -> Any:
    """A setting's default, as the schema declares it."""
    return PROPERTIES[name].get("default")


@dataclass(frozen=True)
class Settings:
    """The settings of a run, typed: one field per property of `CONFIG_SCHEMA`, same name.

    Built from a config the schema has validated (types and ranges); `from_config`
    checks what a schema cannot and fills the schema's defaults, nothing else.
    """

    api_key: str
    base_url: str
    user_id: int | None
    scope: str
    username: str | None
    group: str | None
    channel: int | None
    #: Unix seconds
    start_date: int | None
    #: Unix seconds
    end_date: int | None
    min_age_seconds: int
    page_size: int
    model_name: str | None
    timestamp_unit: str
    stats_timezone: str
    stats_endpoint: str
    max_concurrency: int
    request_timeout_seconds: float
    max_retries: int
    max_rate_limit_wait_seconds: float
    verify: str
    max_requests_per_minute: int | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check what the JSON schema cannot: dates, their order, the URL, the zone."""
        # Unset and empty are one: a setting left blank in Meltano arrives as "".
        values = {
            name: default(name) if config.get(name) in (None, "") else config[name]
            for name in PROPERTIES
        }
        api_key = values["api_key"]
        if not isinstance(api_key, str) or not api_key.strip():
            msg = "api_key: required (TAP_1688TOKEN_API_KEY)"
            raise SettingError(msg)
        values["api_key"] = api_key.strip()
        values["base_url"] = _base_url(str(values["base_url"]))
        start, end = _epoch(values, "start_date"), _epoch(values, "end_date")
        if start is not None and end is not None and start > end:
            msg = "start_date: is after end_date"
            raise SettingError(msg)
        values["start_date"], values["end_date"] = start, end
        values["stats_timezone"] = _timezone(values["stats_timezone"])
        if values["scope"] != "site":
            for name in SITE_FILTERS:
                if values[name] is not None:
                    msg = f"{name}: filters a site's logs; it needs scope: site"
                    raise SettingError(msg)
        elif values["stats_endpoint"] == "/api/log/self/stat":
            msg = (
                "stats_endpoint: /api/log/self/stat sums the token's own logs, not the "
                "site's; with scope: site use auto or /api/log/stat"
            )
            raise SettingError(msg)
        return cls(**values)

    @property
    def site(self) -> bool:
        """Whether the run reads the whole gateway (scope: site)."""
        return self.scope == "site"

    def site_filters(self) -> dict[str, Any]:
        """The site filters set, as /api/log/ and /api/log/stat take them."""
        found = {name: getattr(self, name) for name in SITE_FILTERS}
        return {name: value for name, value in found.items() if value is not None}

    def __repr__(self) -> str:  # the dataclass default would print api_key
        return f"Settings(base_url={self.base_url!r}, user_id={self.user_id!r})"


# One declaration per setting: a field here that the schema lacks, or the reverse,
# fails at import rather than in a run.
if {field.name for field in fields(Settings)} != set(PROPERTIES):  # pragma: no cover
    msg = "Settings and CONFIG_SCHEMA declare different settings"
    raise RuntimeError(msg)


def _base_url(url: str) -> str:
    url = url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        msg = f"base_url: must be an http(s) URL such as {default('base_url')}, got {url!r}"
        raise SettingError(msg)
    if parts.path.endswith("/api"):
        msg = f"base_url: give the gateway's root, without /api ({url!r})"
        raise SettingError(msg)
    return url


def _timezone(name: str) -> str:
    try:
        return pendulum.timezone(name).name
    except ValueError:
        msg = f"stats_timezone: {name!r} is not an IANA time zone such as Asia/Shanghai"
        raise SettingError(msg) from None


def _epoch(values: Mapping[str, Any], name: str) -> int | None:
    value = values[name]
    if value is None:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        msg = f"{name}: {value!r} is not an ISO 8601 date-time such as 2025-01-31T00:00:00Z"
        raise SettingError(msg) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    seconds = int(parsed.timestamp())
    if seconds < 1:
        msg = f"{name}: {value!r} is before 1970"
        raise SettingError(msg)
    return seconds
