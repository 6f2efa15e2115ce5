"""One run against one gateway: its fixed time bound, its timestamp unit, its pages."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from tap_1688token import timeunit
from tap_1688token.api import ApiClient
from tap_1688token.errors import EndpointMissing, GatewayError, PermissionRefused
from tap_1688token.records import unix_seconds
from tap_1688token.settings import Settings
from tap_1688token.stats import Totals, parse_totals
from tap_1688token.stopping import Stop
from tap_1688token.values import read_int
from tap_1688token.windows import Page, Window

LOGGER = logging.getLogger("tap-1688token")

LOG_PATH = "/api/log/self"
STAT_PATH = "/api/log/stat"
SELF_STAT_PATH = "/api/log/self/stat"


class Gateway:
    """Shared by every stream of a run, so all agree on the bound and the unit."""

    def __init__(
        self, settings: Settings, *, now: float | None = None, stop: Stop | None = None
    ) -> None:
        self.settings = settings
        self.client = ApiClient(settings, stop=stop)
        # Fixed once, so logs written during the run cannot shift any page.
        settled = int(now if now is not None else time.time()) - settings.min_age_seconds
        end = settings.end_date
        self.upper = min(end, settled) if end is not None else settled
        self._unit: str | None = None
        self._unit_lock = threading.Lock()
        configured = settings.stats_endpoint
        self.stat_path = STAT_PATH if configured == "auto" else configured

    @property
    def unit(self) -> str:
        """The wire unit of time bounds, detected (and checked) once per run."""
        with self._unit_lock:
            if self._unit is None:
                self._unit = self._resolve_unit()
            return self._unit

    def _resolve_unit(self) -> str:
        configured = self.settings.timestamp_unit
        detected = timeunit.detect(self._probe, self.upper)
        if detected is None:
            LOGGER.info("No logs up to the upper bound yet; timestamp unit left at %s.", configured)
            return timeunit.SECONDS if configured == "auto" else configured
        if configured not in ("auto", detected):
            msg = (
                f"timestamp_unit: set to {configured!r}, but the server reads "
                f"start_timestamp/end_timestamp in {detected!r}; set it to {detected!r} or auto"
            )
            raise GatewayError(msg)
        LOGGER.info("The server reads start_timestamp/end_timestamp in %s.", detected)
        return detected

    def _probe(self, start: int, end: int) -> tuple[int, int | None]:
        params = {"p": 1, "page_size": 1, "type": 0, "start_timestamp": start, "end_timestamp": end}
        page = parse_log_page(self.client.get_data(LOG_PATH, params))
        newest = max((unix_seconds(i.get("created_at")) for i in page.items), default=None)
        return max(page.total, len(page.items)), newest

    def log_page(self, log_type: int, window: Window, page: int, page_size: int) -> Page:
        unit = self.unit
        params: dict[str, Any] = {
            "p": page,
            "page_size": page_size,
            "type": log_type,
            "start_timestamp": timeunit.to_wire(window.start, unit),
            "end_timestamp": timeunit.to_wire(window.end, unit, end=True),
        }
        if self.settings.model_name:
            params["model_name"] = self.settings.model_name
        return parse_log_page(self.client.get_data(LOG_PATH, params))

    def stat_totals(self, start: int, end: int) -> Totals:
        """The server's totals for `start`..`end` (Unix seconds, inclusive)."""
        unit = self.unit
        params: dict[str, Any] = {
            "start_timestamp": timeunit.to_wire(start, unit),
            "end_timestamp": timeunit.to_wire(end, unit, end=True),
        }
        if self.settings.model_name:
            params["model_name"] = self.settings.model_name
        try:
            data = self.client.get_data(self.stat_path, params)
        except (PermissionRefused, EndpointMissing) as refused:
            if self.settings.stats_endpoint != "auto" or self.stat_path == SELF_STAT_PATH:
                msg = f"stats_endpoint: {self.stat_path} refused this account: {refused}"
                raise GatewayError(msg) from None
            LOGGER.info(
                "%s is not open to this account (%s); using %s instead.",
                self.stat_path,
                refused,
                SELF_STAT_PATH,
            )
            self.stat_path = SELF_STAT_PATH
            data = self.client.get_data(self.stat_path, params)
        return parse_totals(data, self.stat_path)

    def close(self) -> None:
        self.client.close()


def parse_log_page(data: Any) -> Page:
    """`data` of /api/log/self: `{items, total, page_size}`; a bare list on some forks."""
    items: Any
    total: Any
    size: Any
    if isinstance(data, list):
        items, total, size = data, 0, None
    elif isinstance(data, dict):
        items = data.get("items")
        if items is None:
            items = data.get("data") or []
        total, size = data.get("total"), data.get("page_size")
    elif data is None:
        items, total, size = [], 0, None
    else:
        msg = f"/api/log/self: unexpected `data` of type {type(data).__name__}"
        raise GatewayError(msg)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        msg = "/api/log/self: `data.items` is not a list of log objects"
        raise GatewayError(msg)
    return Page(items=items, total=_count(total), page_size=_count(size) or None)


def _count(value: Any) -> int:
    return max(read_int(value) or 0, 0)
