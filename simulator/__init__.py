"""A local simulator of a New-API-style gateway's log API (dev tooling, standard library only).

The tests, the demo and the benchmark serve it on loopback; it is never installed with the
tap. `Simulator` imitates New API's log endpoints (or one-api's, and the ways deployments
misbehave: see `SimConfig`), `generate_logs` makes realistic history, `build_account` is the
demo's account with steady traffic; `python -m simulator` serves one.
"""

from __future__ import annotations

from .account import ACCOUNT_TYPE_WEIGHTS, STRAY_TIMES, DemoSimulator, build_account, stray_logs
from .data import (
    ALL_TYPE_WEIGHTS,
    DEFAULT_TYPE_WEIGHTS,
    QUOTA_PER_UNIT,
    Log,
    blank_log,
    generate_logs,
)
from .server import (
    FAULT_KINDS,
    GLITCH_KINDS,
    ONEAPI_ITEMS_PER_PAGE,
    RequestRecord,
    Response,
    Route,
    SimConfig,
    Simulator,
    json_response,
    user_view,
)

__all__ = [
    "ACCOUNT_TYPE_WEIGHTS",
    "ALL_TYPE_WEIGHTS",
    "DEFAULT_TYPE_WEIGHTS",
    "FAULT_KINDS",
    "GLITCH_KINDS",
    "ONEAPI_ITEMS_PER_PAGE",
    "QUOTA_PER_UNIT",
    "STRAY_TIMES",
    "DemoSimulator",
    "Log",
    "RequestRecord",
    "Response",
    "Route",
    "SimConfig",
    "Simulator",
    "blank_log",
    "build_account",
    "generate_logs",
    "json_response",
    "stray_logs",
    "user_view",
]
