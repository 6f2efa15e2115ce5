"""The streams: declarations only; the logic lives in `client.py` and the modules it uses."""

from __future__ import annotations

from typing import Any

from tap_1688token import logtypes
from tap_1688token.client import (
    DailyModelStats,
    DailyStats,
    HourlyUsage,
    LogStream,
    SnapshotStream,
)


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


class AccountStream(SnapshotStream):
    """The account's balance and counters as the gateway keeps them."""

    name = "account"
    path = "/api/user/self"
    primary_keys = ["id"]  # noqa: RUF012 - the SDK reads a list


class ApiKeysStream(SnapshotStream):
    """The account's API keys: what each spent and has left (never the key itself)."""

    name = "api_keys"
    path = "/api/token/"
    paged = True
    primary_keys = ["id"]  # noqa: RUF012 - the SDK reads a list


class GatewaySettingsStream(SnapshotStream):
    """The gateway's settings that price everything: quota per unit, display currency."""

    name = "gateway"
    path = "/api/status"
    primary_keys = ["base_url"]  # noqa: RUF012 - the SDK reads a list

    def adapt(self, item: dict[str, Any]) -> dict[str, Any]:
        return {**item, "base_url": self.gateway.settings.base_url}


class ModelPricesStream(SnapshotStream):
    """Ratios and prices per model, with the gateway's group ratios."""

    name = "model_prices"
    path = "/api/pricing"
    primary_keys = ["model_name"]  # noqa: RUF012 - the SDK reads a list

    def adapt(self, item: dict[str, Any]) -> dict[str, Any]:
        # New API serves the group ratios beside the models: each row gets the map.
        return {**item, "group_ratios": item.get("group_ratio")} if "group_ratio" in item else item


class UsersStream(SnapshotStream):
    """The gateway's users, with their balances (scope: site)."""

    name = "users"
    path = "/api/user/"
    paged = True
    site_only = True
    primary_keys = ["id"]  # noqa: RUF012 - the SDK reads a list


class ChannelsStream(SnapshotStream):
    """The gateway's upstream channels: balance and usage (scope: site; never their keys)."""

    name = "channels"
    path = "/api/channel/"
    paged = True
    site_only = True
    primary_keys = ["id"]  # noqa: RUF012 - the SDK reads a list


class HourlyUsageStream(HourlyUsage):
    """The gateway's hourly usage per model (New API's data export)."""

    name = "hourly_usage"


#: the order streams are written in: the longest first, so that the others' first requests,
#: sent as the run starts (openings.py), are answered before their turns come
STREAM_TYPES = (
    UsageLogsStream,
    ErrorLogsStream,
    RefundLogsStream,
    TopupLogsStream,
    ManageLogsStream,
    SystemLogsStream,
    DailyStatsStream,
    DailyModelStatsStream,
    HourlyUsageStream,
    AccountStream,
    ApiKeysStream,
    GatewaySettingsStream,
    ModelPricesStream,
    UsersStream,
    ChannelsStream,
)
