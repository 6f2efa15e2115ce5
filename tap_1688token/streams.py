"""The streams: declarations only; the logic lives in `client.py` and the modules it uses."""

from __future__ import annotations

from tap_1688token import logtypes
from tap_1688token.client import DailyModelStats, DailyStats, LogStream


class UsageLogsStream(LogStream):
    """Billed model calls."""

    log_type = logtypes.USAGE


class TopupLogsStream(LogStream):
    """Top-ups and redeemed codes."""

    log_type = logtypes.TOPUP


class ManageLogsStream(LogStream):
    """Changes an admin made to the account (its quota above all)."""

    log_type = logtypes.MANAGE


class SystemLogsStream(LogStream):
    """Entries the system wrote, such as bonuses."""

    log_type = logtypes.SYSTEM


class RefundLogsStream(LogStream):
    """Refunds."""

    log_type = logtypes.REFUND


class ErrorLogsStream(LogStream):
    """Failed calls."""

    log_type = logtypes.ERROR


class DailyStatsStream(DailyStats):
    """The server's own usage totals per calendar day, for billing reconciliation."""

    name = "daily_stats"


class DailyModelStatsStream(DailyModelStats):
    """The server's daily usage totals per model, when it breaks them down."""

    name = "daily_model_stats"


STREAM_TYPES = (
    UsageLogsStream,
    TopupLogsStream,
    ManageLogsStream,
    SystemLogsStream,
    RefundLogsStream,
    ErrorLogsStream,
    DailyStatsStream,
    DailyModelStatsStream,
)
