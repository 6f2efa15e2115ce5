"""The tap's settings: their schema (the public interface) and the checks beyond it."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pendulum
from singer_sdk import typing as th

DEFAULT_BASE_URL = "https://1688token.ai"
DEFAULT_CONCURRENCY = 8

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
        default=DEFAULT_BASE_URL,
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
            "Where daily_stats asks. auto: /api/log/stat (the vendor's page; admin-only on "
            "New API), falling back to /api/log/self/stat when refused."
        ),
    ),
    th.Property(
        "max_concurrency",
        th.IntegerType(minimum=1, maximum=16),
        default=DEFAULT_CONCURRENCY,
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
        "max_requests_per_minute",
        th.IntegerType(minimum=1),
        title="Max requests per minute",
        description="Pace requests to stay under the server's limiter. Unset: no pacing.",
    ),
).to_dict()


class SettingError(ValueError):
    """A setting that cannot work; the message names it."""


@dataclass(frozen=True)
class Settings:
    api_key: str
    base_url: str
    user_id: int | None
    start: int | None
    end: int | None
    min_age_seconds: int
    page_size: int
    model_name: str | None
    timestamp_unit: str
    stats_timezone: str
    stats_endpoint: str
    max_concurrency: int
    request_timeout: float
    max_retries: int
    max_rate_limit_wait: float
    max_requests_per_minute: int | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check what the JSON schema cannot: dates, their order, the URL."""
        api_key = config.get("api_key")
        if not isinstance(api_key, str) or not api_key.strip():
            msg = "api_key: required (TAP_1688TOKEN_API_KEY)"
            raise SettingError(msg)
        base_url = str(config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            msg = f"base_url: must be an http(s) URL such as {DEFAULT_BASE_URL}, got {base_url!r}"
            raise SettingError(msg)
        if parts.path.endswith("/api"):
            msg = f"base_url: give the gateway's root, without /api ({base_url!r})"
            raise SettingError(msg)
        start = _epoch(config, "start_date")
        end = _epoch(config, "end_date")
        if start is not None and end is not None and start > end:
            msg = "start_date: is after end_date"
            raise SettingError(msg)
        page_size = int(config.get("page_size", 100))
        if not 1 <= page_size <= 100:
            msg = f"page_size: must be between 1 and 100, got {page_size}"
            raise SettingError(msg)
        user_id = config.get("user_id")
        return cls(
            api_key=api_key.strip(),
            base_url=base_url,
            user_id=int(user_id) if user_id is not None else None,
            start=start,
            end=end,
            min_age_seconds=int(config.get("min_age_seconds", 60)),
            page_size=page_size,
            model_name=config.get("model_name") or None,
            timestamp_unit=config.get("timestamp_unit") or "auto",
            stats_timezone=_timezone(config.get("stats_timezone") or "UTC"),
            stats_endpoint=config.get("stats_endpoint") or "auto",
            max_concurrency=int(config.get("max_concurrency") or DEFAULT_CONCURRENCY),
            request_timeout=float(config.get("request_timeout_seconds", 60)),
            max_retries=int(config.get("max_retries", 5)),
            max_rate_limit_wait=float(config.get("max_rate_limit_wait_seconds", 600)),
            max_requests_per_minute=config.get("max_requests_per_minute"),
        )

    def __repr__(self) -> str:  # the dataclass default would print api_key
        return f"Settings(base_url={self.base_url!r}, user_id={self.user_id!r})"


def _timezone(name: str) -> str:
    try:
        return pendulum.timezone(name).name
    except ValueError:
        msg = f"stats_timezone: {name!r} is not an IANA time zone such as Asia/Shanghai"
        raise SettingError(msg) from None


def _epoch(config: Mapping[str, Any], name: str) -> int | None:
    value = config.get(name)
    if value in (None, ""):
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
