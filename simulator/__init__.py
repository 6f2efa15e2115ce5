"""A local simulator of a New-API-style gateway's log API: dev tooling for the tests, the demo
and the benchmark (standard library only; never installed with the tap)."""

from __future__ import annotations

from .data import generate_logs
from .server import RequestRecord, SimConfig, Simulator, user_view

__all__ = ["RequestRecord", "SimConfig", "Simulator", "generate_logs", "user_view"]
