"""Local simulator of a New-API-style gateway's log API, for tests and benchmarks."""

from __future__ import annotations

from .data import generate_logs
from .server import RequestRecord, SimConfig, Simulator, user_view

__all__ = ["RequestRecord", "SimConfig", "Simulator", "generate_logs", "user_view"]
