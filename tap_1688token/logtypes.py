"""The server's log types and the stream each is exported to: the one table of them.

Standard library only, so the demo and the dev tools can read it without the tap's
dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogType:
    """A value of the `type` field of New API's logs (model/log.go) and its stream."""

    number: int
    stream: str
    summary: str


#: every type New API writes but 0 ("unknown", never written)
LOG_TYPES = (
    LogType(2, "usage_logs", "Billed model calls"),
    LogType(1, "topup_logs", "Top-ups and redeemed codes"),
    LogType(3, "manage_logs", "Changes an admin made to the account"),
    LogType(4, "system_logs", "Entries the system wrote, such as bonuses"),
    LogType(6, "refund_logs", "Refunds"),
    LogType(5, "error_logs", "Failed calls"),
)
USAGE, TOPUP, MANAGE, SYSTEM, REFUND, ERROR = LOG_TYPES

STREAM_BY_TYPE = {log_type.number: log_type.stream for log_type in LOG_TYPES}
TYPE_BY_STREAM = {log_type.stream: log_type.number for log_type in LOG_TYPES}
LOG_STREAMS = tuple(TYPE_BY_STREAM)
