"""A local simulator of a New-API-style gateway's log API (dev tooling, standard library only).

The tests, the demo and the benchmark serve it on loopback; it is never installed with the
tap. `Simulator` imitates New API's log endpoints (or one-api's, and the ways deployments
misbehave: see `SimConfig`), `generate_logs` makes realistic history (`site_logs` a whole
site's), `build_account` is the demo's account with steady traffic; `python -m simulator`
serves one.

Besides the logs it serves the site's account state (`ENDPOINTS`: the user, the API keys,
status, pricing, hourly usage, and an admin's logs and users), derived from the logs by
simulator/site.py. Every secret in it (passwords, access tokens, keys) contains
`SECRET_MARKER`; `SECRET_VALUES` lists the fixed ones, `Simulator.secret_values` all.
"""

from __future__ import annotations

from .account import ACCOUNT_TYPE_WEIGHTS, STRAY_TIMES, DemoSimulator, build_account, stray_logs
from .data import (
    ALL_TYPE_WEIGHTS,
    DEFAULT_TYPE_WEIGHTS,
    QUOTA_PER_UNIT,
    SITE_USERS,
    Log,
    blank_log,
    generate_logs,
    site_logs,
)
from .server import (
    ENDPOINTS,
    FAULT_KINDS,
    GLITCH_KINDS,
    ONEAPI_ITEMS_PER_PAGE,
    RequestRecord,
    Response,
    Route,
    SimConfig,
    Simulator,
    admin_view,
    json_response,
    user_view,
)
from .site import (
    ACCESS_TOKEN_SECRET,
    PASSWORD_SECRET,
    SECRET_MARKER,
    SECRET_VALUES,
    channel_key,
    token_key,
)

__all__ = [
    "ACCESS_TOKEN_SECRET",
    "ACCOUNT_TYPE_WEIGHTS",
    "ALL_TYPE_WEIGHTS",
    "DEFAULT_TYPE_WEIGHTS",
    "ENDPOINTS",
    "FAULT_KINDS",
    "GLITCH_KINDS",
    "ONEAPI_ITEMS_PER_PAGE",
    "PASSWORD_SECRET",
    "QUOTA_PER_UNIT",
    "SECRET_MARKER",
    "SECRET_VALUES",
    "SITE_USERS",
    "STRAY_TIMES",
    "DemoSimulator",
    "Log",
    "RequestRecord",
    "Response",
    "Route",
    "SimConfig",
    "Simulator",
    "admin_view",
    "blank_log",
    "build_account",
    "channel_key",
    "generate_logs",
    "json_response",
    "site_logs",
    "stray_logs",
    "token_key",
    "user_view",
]
