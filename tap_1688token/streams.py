"""The streams: declarations only; the logic lives in `client.py` and the modules it uses."""

from __future__ import annotations

from tap_1688token.client import DailyStats, LogStream


class UsageLogsStream(LogStream):
    """Billed model calls (log type 2)."""

    name = "usage_logs"
    log_type = 2


class TopupLogsStream(LogStream):
    """Top-ups and redeemed codes (log type 1)."""

    name = "topup_logs"
    log_type = 1


class RefundLogsStream(LogStream):
    """Refunds (log type 6)."""

    name = "refund_logs"
    log_type = 6


class ErrorLogsStream(LogStream):
    """Failed calls (log type 5)."""

    name = "error_logs"
    log_type = 5


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
