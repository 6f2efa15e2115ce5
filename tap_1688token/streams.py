"""The streams: declarations only; the logic lives in `client.py` and the modules it uses."""

from __future__ import annotations

from tap_1688token import logtypes
from tap_1688token.client import DailyStats, LogStream


class UsageLogsStream(LogStream):
    """Billed model calls."""

    log_type = logtypes.USAGE


class TopupLogsStream(LogStream):
    """Top-ups and redeemed codes."""

    log_type = logtypes.TOPUP


class RefundLogsStream(LogStream):
    """Refunds."""

    log_type = logtypes.REFUND


class ErrorLogsStream(LogStream):
    """Failed calls."""

    log_type = logtypes.ERROR


class DailyStatsStream(DailyStats):
    """The server's own daily usage totals, for billing reconciliation."""

    name = "daily_stats"


STREAM_TYPES = (
    UsageLogsStream,
    TopupLogsStream,
    RefundLogsStream,
    ErrorLogsStream,
    DailyStatsStream,
)
