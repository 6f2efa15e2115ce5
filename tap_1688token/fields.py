"""The fields of every stream's records: the one table the schema files are written from.

`schemas/*.json` (shipped in the wheel, read by the SDK) are generated from here:
`python -m tap_1688token.fields` rewrites them, and a test fails while they differ.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tap_1688token.logtypes import LOG_TYPES, USAGE, LogType


@dataclass(frozen=True)
class Field:
    name: str
    #: JSON schema type: string, integer, number, boolean or object
    type: str
    description: str
    nullable: bool = True
    format: str | None = None
    #: the name the server sends it under, when the column's differs
    source: str | None = None

    @property
    def sent_as(self) -> str:
        return self.source or self.name


#: New API's `group` is a reserved word in every warehouse's SQL (and breaks generated
#: views): every stream emits it as `user_group`.
def _group(description: str) -> Field:
    return Field("user_group", "string", f"{description} (sent as `group`).", source="group")


def _charge(name: str, kind: str, description: str) -> Field:
    return Field(name, kind, f"{description} (from `other`; null when absent).")


LOG_FIELDS = (
    Field(
        "log_key",
        "string",
        "Primary key derived by the tap: the log's second, a digest of the fields a server "
        "never rewrites, and its ordinal among identical logs of that second. Stable across "
        "runs and unique in the stream.",
        nullable=False,
    ),
    Field(
        "created_at",
        "string",
        "When the log was written (UTC, RFC 3339). Replication key.",
        nullable=False,
        format="date-time",
    ),
    Field(
        "id",
        "integer",
        "The server's item id. NOT unique: by server version it is the database id, the id "
        "modulo 1024, the row position in the result, or 0. Use log_key.",
    ),
    # The description of `type` is the stream's own (see `log_schema`).
    Field("type", "integer", ""),
    Field("user_id", "integer", "Owner's user id (when the server sends it)."),
    Field("username", "string", "Owner's username."),
    Field("token_name", "string", "Name of the API token used."),
    Field("token_id", "integer", "Id of the API token used."),
    Field("model_name", "string", "Model requested."),
    Field("quota", "integer", "Quota charged (New API: 500,000 quota = 1 USD by default)."),
    Field("prompt_tokens", "integer", "Input tokens."),
    Field("completion_tokens", "integer", "Output tokens."),
    Field("use_time", "integer", "Request duration in seconds."),
    Field("elapsed_time", "integer", "Request duration in milliseconds (one-api)."),
    Field("is_stream", "boolean", "Whether the request streamed."),
    Field("channel", "integer", "Upstream channel id."),
    Field(
        "channel_name",
        "string",
        "Upstream channel name (blank for non-admin users on New API).",
    ),
    _group("User group the request was billed under"),
    Field("ip", "string", "Client IP, when the user enabled IP logging."),
    Field("request_id", "string", "Server request id (recent servers only)."),
    Field(
        "content",
        "string",
        "Server's description of the log; may hold prompt text on some gateways.",
    ),
    Field(
        "other",
        "object",
        "Extra details (ratios, timings, cache tokens...). Parsed from the JSON string New "
        "API sends.",
    ),
    Field("other_raw", "string", "`other` as sent, only when it is not valid JSON."),
    Field(
        "extra",
        "object",
        "Fields the server sent that this schema does not know, and known fields whose "
        "value did not fit their type (as sent).",
    ),
)

#: usage_logs only: what New API computed the charge from (service/text_quota.go), typed
CHARGE_FIELDS = (
    _charge("model_ratio", "number", "Model ratio the charge used"),
    _charge("group_ratio", "number", "Group ratio the charge used"),
    _charge("user_group_ratio", "number", "The user's own group ratio, when one applied"),
    _charge("completion_ratio", "number", "Completion (output) ratio"),
    _charge("model_price", "number", "Price per call; -1 means ratio billing"),
    _charge("cache_tokens", "integer", "Prompt tokens read from the cache"),
    _charge("cache_ratio", "number", "Ratio of cached prompt tokens"),
    _charge("cache_creation_tokens", "integer", "Prompt tokens written to the cache"),
    _charge("cache_creation_ratio", "number", "Ratio of cache-writing tokens"),
    _charge("frt", "number", "Time to the first token, in ms (-1000: not streamed)"),
    _charge("reasoning_effort", "string", "Reasoning effort asked for"),
    _charge("upstream_model_name", "string", "Model the channel was sent"),
    _charge("is_model_mapped", "boolean", "Whether the model was mapped to another upstream"),
    _charge("request_path", "string", "Path of the relayed request"),
    _charge("billing_source", "string", "What the charge was billed from"),
)

DAILY_STATS_FIELDS = (
    Field("date", "string", "Calendar day in `timezone` (YYYY-MM-DD).", False, "date"),
    Field(
        "created_at",
        "string",
        "The day's first instant (UTC, RFC 3339). Replication key.",
        nullable=False,
        format="date-time",
    ),
    Field("timezone", "string", "IANA time zone of the day (setting stats_timezone).", False),
    Field(
        "quota",
        "integer",
        "Quota of usage logs (type 2) that day, as the server sums it. Not reduced by refunds.",
        nullable=False,
    ),
    Field("request_count", "integer", "Requests that day, when the server counts them."),
    Field("prompt_tokens", "integer", "Input tokens that day, when the server sums them."),
    Field("completion_tokens", "integer", "Output tokens that day, when the server sums them."),
    Field("total_tokens", "integer", "Tokens that day, when the server gives only a total."),
)


#: daily_model_stats: the same figures for one model
DAILY_MODEL_STATS_FIELDS = (
    *DAILY_STATS_FIELDS[:3],
    Field("model_name", "string", "The model the server sums these figures for.", False),
    *DAILY_STATS_FIELDS[3:],
)


# ---- snapshots: the state of the account and the gateway, as of the run ----------------

_SNAPSHOT_AT = Field(
    "snapshot_at", "string", "When the run read it (UTC, RFC 3339).", False, "date-time"
)
_SNAPSHOT_EXTRA = Field(
    "extra",
    "object",
    "Fields the server sent that this schema does not know (secrets never), and known "
    "fields whose value did not fit their type (as sent).",
)

ACCOUNT_FIELDS = (
    Field("id", "integer", "The user's id.", nullable=False),
    Field("username", "string", "Username."),
    Field("display_name", "string", "Display name."),
    Field("role", "integer", "Role: 1 user, 10 admin, 100 root (New API)."),
    Field("status", "integer", "1 enabled, 2 disabled."),
    Field("email", "string", "Email address, when set."),
    _group("The user's group, whose ratio prices every call"),
    Field("quota", "integer", "Quota left to spend (500,000 = 1 USD by default)."),
    Field("used_quota", "integer", "Quota spent so far, as the gateway counts it."),
    Field("request_count", "integer", "Requests made so far, as the gateway counts them."),
    Field("aff_code", "string", "The user's invitation code."),
    Field("aff_count", "integer", "Users invited."),
    Field("aff_quota", "integer", "Invitation rewards not yet transferred."),
    Field("aff_history_quota", "integer", "Invitation rewards ever earned."),
    Field("inviter_id", "integer", "Who invited the user."),
    _SNAPSHOT_AT,
    _SNAPSHOT_EXTRA,
)

API_KEY_FIELDS = (
    Field("id", "integer", "The key's id (the secret key itself is never exported).", False),
    Field("user_id", "integer", "Owner's user id."),
    Field("name", "string", "The key's name: token_name in the logs."),
    Field("status", "integer", "1 enabled, 2 disabled, 3 expired, 4 exhausted."),
    _group("Group the key bills under, when set"),
    Field("created_time", "integer", "Created (Unix seconds)."),
    Field("accessed_time", "integer", "Last used (Unix seconds)."),
    Field("expired_time", "integer", "Expires (Unix seconds; -1 never)."),
    Field("remain_quota", "integer", "Quota the key may still spend."),
    Field("unlimited_quota", "boolean", "Whether the key's quota is unlimited."),
    Field("used_quota", "integer", "Quota the key has spent."),
    Field("model_limits_enabled", "boolean", "Whether only some models may be called."),
    Field("model_limits", "string", "The models allowed, comma-separated."),
    Field("allow_ips", "string", "IPs allowed, when limited."),
    _SNAPSHOT_AT,
    _SNAPSHOT_EXTRA,
)

GATEWAY_FIELDS = (
    Field("base_url", "string", "The gateway (setting base_url).", nullable=False),
    Field("system_name", "string", "The gateway's name."),
    Field("version", "string", "Its software version."),
    Field("quota_per_unit", "number", "Quota per unit of currency (New API: 500,000 per USD)."),
    Field("quota_display_type", "string", "Currency quotas are shown in (USD, CNY, TOKENS…)."),
    Field("display_in_currency", "boolean", "Whether quotas are shown as money."),
    Field("usd_exchange_rate", "number", "Exchange rate the gateway shows money with."),
    Field("price", "number", "Price of one unit of top-up, as the gateway sets it."),
    _SNAPSHOT_AT,
    _SNAPSHOT_EXTRA,
)

MODEL_PRICE_FIELDS = (
    Field("model_name", "string", "Model.", nullable=False),
    Field("quota_type", "integer", "0: billed by ratios (tokens), 1: a price per call."),
    Field("model_ratio", "number", "Model ratio (ratio billing)."),
    Field("completion_ratio", "number", "Completion (output) ratio."),
    Field("model_price", "number", "Price per call, in units of currency (per-call billing)."),
    Field("owner_by", "string", "Who provides the model."),
    Field("enable_groups", "array", "Groups that may call it."),
    Field("group_ratios", "object", "Every group's ratio on this gateway (the same on each row)."),
    _SNAPSHOT_AT,
    _SNAPSHOT_EXTRA,
)

#: scope site: every user of the gateway (GET /api/user/), the account's fields and more
USER_FIELDS = (
    *ACCOUNT_FIELDS[:-2],
    Field("created_at", "integer", "When the user registered (Unix seconds), when sent."),
    Field("last_login_at", "integer", "Last sign-in (Unix seconds), when sent."),
    _SNAPSHOT_AT,
    _SNAPSHOT_EXTRA,
)

#: scope site: the upstream channels (GET /api/channel/), never their keys
CHANNEL_FIELDS = (
    Field("id", "integer", "The channel's id: `channel` in the logs.", nullable=False),
    Field("name", "string", "The channel's name."),
    Field("type", "integer", "Upstream provider type (New API's constant/channel.go)."),
    Field("status", "integer", "1 enabled, 2 disabled by hand, 3 disabled automatically."),
    _group("User groups it serves, comma-separated"),
    Field("models", "string", "Models it serves, comma-separated."),
    Field("tag", "string", "Its tag, when set."),
    Field("priority", "integer", "Priority among channels of a model."),
    Field("weight", "integer", "Weight among channels of one priority."),
    Field("base_url", "string", "The upstream's URL, when not the provider's default."),
    Field(
        "balance",
        "number",
        "Upstream balance in USD at the last balance check (never refreshed by the tap).",
    ),
    Field("balance_updated_time", "integer", "When the balance was checked (Unix seconds)."),
    Field("used_quota", "integer", "Quota of the usage relayed through it, as the gateway counts."),
    Field("created_time", "integer", "Created (Unix seconds)."),
    Field("test_time", "integer", "Last tested (Unix seconds)."),
    Field("response_time", "integer", "Response time of the last test (ms)."),
    Field("auto_ban", "integer", "1 when failures disable it automatically."),
    Field("remark", "string", "The operator's note."),
    _SNAPSHOT_AT,
    _SNAPSHOT_EXTRA,
)

HOURLY_USAGE_FIELDS = (
    Field(
        "created_at",
        "string",
        "The hour (its first instant, UTC, RFC 3339). Replication key.",
        nullable=False,
        format="date-time",
    ),
    Field("model_name", "string", "Model.", nullable=False),
    Field("user_id", "integer", "The user (in site scope, one row per user too)."),
    Field("username", "string", "The user's name."),
    Field("count", "integer", "Usage logs (calls) that hour."),
    Field("quota", "integer", "Their quota."),
    Field("token_used", "integer", "Their prompt and completion tokens."),
    Field(
        "extra",
        "object",
        "Fields the server sent that this schema does not know, and known fields whose "
        "value did not fit their type (as sent).",
    ),
)

SNAPSHOT_FIELDS = {
    "account": ACCOUNT_FIELDS,
    "api_keys": API_KEY_FIELDS,
    "gateway": GATEWAY_FIELDS,
    "model_prices": MODEL_PRICE_FIELDS,
    "users": USER_FIELDS,
    "channels": CHANNEL_FIELDS,
}


def _property(field: Field) -> dict[str, Any]:
    prop: dict[str, Any] = {
        "type": [field.type, "null"] if field.nullable else [field.type],
        "description": field.description,
    }
    if field.format:
        prop["format"] = field.format
    if field.type == "object":
        prop["additionalProperties"] = True
    if field.type == "array":
        prop["items"] = {}
    return prop


def object_schema(fields: tuple[Field, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {field.name: _property(field) for field in fields},
        "required": [field.name for field in fields if not field.nullable],
    }


def log_schema(log_type: LogType) -> dict[str, Any]:
    fields: tuple[Field, ...] = LOG_FIELDS
    if log_type.number == USAGE.number:
        fields = (*LOG_FIELDS[:-1], *CHARGE_FIELDS, LOG_FIELDS[-1])  # `extra` stays last
    schema = object_schema(fields)
    schema["properties"]["type"]["description"] = (
        f"Log type: always {log_type.number} ({log_type.summary.lower()}) in this stream."
    )
    return schema


def schemas() -> dict[str, dict[str, Any]]:
    """Every stream's schema, by stream name."""
    found = {log_type.stream: log_schema(log_type) for log_type in LOG_TYPES}
    found["daily_stats"] = object_schema(DAILY_STATS_FIELDS)
    found["daily_model_stats"] = object_schema(DAILY_MODEL_STATS_FIELDS)
    found.update((name, object_schema(fields)) for name, fields in SNAPSHOT_FIELDS.items())
    found["hourly_usage"] = object_schema(HOURLY_USAGE_FIELDS)
    return found


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write the schema files into the folder given (default: the checkout's schemas/)."""
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "schemas"
    for name, schema in schemas().items():
        (folder / f"{name}.json").write_text(schema_text(schema), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
