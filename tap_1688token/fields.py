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

from tap_1688token.logtypes import LOG_TYPES, LogType


@dataclass(frozen=True)
class Field:
    name: str
    #: JSON schema type: string, integer, number, boolean or object
    type: str
    description: str
    nullable: bool = True
    format: str | None = None
    #: read out of the log's `other` object (the charge's inputs), not a field of its own
    from_other: bool = False


def _charge(name: str, kind: str, description: str) -> Field:
    return Field(name, kind, f"{description} (from `other`; null when absent).", from_other=True)


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
    Field("group", "string", "User group the request was billed under."),
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
    # What New API computed the charge from (service/text_quota.go), typed.
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
    Field(
        "extra",
        "object",
        "Fields the server sent that this schema does not know, and known fields whose "
        "value did not fit their type (as sent).",
    ),
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


def _property(field: Field) -> dict[str, Any]:
    prop: dict[str, Any] = {
        "type": [field.type, "null"] if field.nullable else [field.type],
        "description": field.description,
    }
    if field.format:
        prop["format"] = field.format
    if field.type == "object":
        prop["additionalProperties"] = True
    return prop


def object_schema(fields: tuple[Field, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {field.name: _property(field) for field in fields},
        "required": [field.name for field in fields if not field.nullable],
    }


def log_schema(log_type: LogType) -> dict[str, Any]:
    schema = object_schema(LOG_FIELDS)
    schema["properties"]["type"]["description"] = (
        f"Log type: always {log_type.number} ({log_type.summary.lower()}) in this stream."
    )
    return schema


def schemas() -> dict[str, dict[str, Any]]:
    """Every stream's schema, by stream name."""
    found = {log_type.stream: log_schema(log_type) for log_type in LOG_TYPES}
    found["daily_stats"] = object_schema(DAILY_STATS_FIELDS)
    found["daily_model_stats"] = object_schema(DAILY_MODEL_STATS_FIELDS)
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
