"""The bases of the streams: logs walked from the log endpoint, days from the stat endpoint."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import SchemaDirectory, StreamSchema, Tap
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from tap_1688token.fields import HOURLY_USAGE_FIELDS as _HOURLY
from tap_1688token.fields import SNAPSHOT_FIELDS
from tap_1688token.logtypes import USAGE, LogType
from tap_1688token.readahead import read_ahead
from tap_1688token.records import rfc3339, to_records
from tap_1688token.sdk_adapter import FastRecordMessages
from tap_1688token.snapshots import snapshot_row, typed_row
from tap_1688token.stats import ADDITIVE_FIELDS, WHOLE_DAY, day_start
from tap_1688token.values import read_int
from tap_1688token.verify import DayCheck
from tap_1688token.windows import WINDOW_THRESHOLD, Window, WindowWalker

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_1688token.gateway import Gateway


def _schema_dir() -> Path:
    # Installed, the wheel carries schemas/ inside the package; in a checkout it sits
    # at the repository root.
    packaged = Path(str(resources.files("tap_1688token").joinpath("schemas")))
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "schemas"


SCHEMAS = SchemaDirectory(_schema_dir())
#: a stream's first calls, to run ahead of its turn
Opening = Callable[[], object] | None
_NO_AGGREGATES = dict.fromkeys(sorted(set(ADDITIVE_FIELDS.values())))


class GatewayStream(FastRecordMessages):
    """A stream of the run's shared `Gateway`, sorted by `created_at`."""

    replication_key: str | None = "created_at"
    is_sorted = True
    schema = StreamSchema(SCHEMAS)
    # Records are typed field by field when built (records.py); the SDK's second pass
    # over every value was a quarter of the tap's CPU.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, *, gateway: Callable[[], Gateway]) -> None:
        super().__init__(tap)
        # A callable: the gateway is made at the run's first request, not at discovery.
        self._gateway_of = gateway

    @property
    def gateway(self) -> Gateway:
        return self._gateway_of()

    @override
    def generate_child_contexts(
        self, record: dict[str, Any], context: Context | None
    ) -> Iterable[Context | None]:
        # No stream has children; the SDK's default copies a context per record for them.
        return ()

    def opening(self) -> Opening:
        """What `get_records` will begin with, planned as the run starts (in the main
        thread) and run ahead of the stream's turn (see openings.py); None: nothing."""
        return None

    def planned_start(self) -> int | None:
        """Where the stream will start at its turn, as the SDK decides then: the later of
        its bookmark and start_date (Unix seconds), None for neither. Read before the SDK
        prepares the stream's state, without writing to it."""
        entry = self.tap_state.get("bookmarks", {}).get(self.name, {})
        found = []
        value = entry.get("replication_key_value")
        if value and entry.get("replication_key") == self.replication_key:
            found.append(int(datetime.datetime.fromisoformat(value).timestamp()))
        if self.gateway.settings.start_date is not None:
            found.append(self.gateway.settings.start_date)
        return max(found, default=None)

    def planned_lower(self) -> int | None:
        """`lower_bound` as it will be at the stream's turn, without its log lines."""
        lower = max(self.planned_start() or 1, 1)
        return lower if lower <= self.gateway.upper else None

    def settle_opening(self) -> None:
        """At the stream's turn: its opening is over (or dropped) before it asks anything."""
        self.gateway.openings.settle(self.name)

    @contextmanager
    def request_pool(self, *, ahead: bool = False) -> Iterator[ThreadPoolExecutor | None]:
        """Threads for `max_concurrency` requests at once; None when it is 1. `ahead`: for
        an opening, whose requests wait for those of the stream being written."""
        gateway = self.gateway
        workers = gateway.settings.max_concurrency
        if workers == 1:
            yield None
            return
        pool = gateway.openings.pool(workers) if ahead else ThreadPoolExecutor(workers)
        try:
            yield pool
        except BaseException:
            # A failed or stopped run does not wait for the requests still queued.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()

    def lower_bound(self, context: Context | None) -> int | None:
        """The bookmark's second (inclusive) or start_date; None when past the bound."""
        start = self.get_starting_timestamp(context)
        lower = max(int(start.timestamp()), 1) if start else 1
        upper = self.gateway.upper
        if lower <= upper:
            return lower
        bookmark = self.get_starting_replication_key_value(context)
        if bookmark is not None and bookmark > rfc3339(upper):
            self.logger.warning(
                "%s: the bookmark %s is later than this run's upper bound %s (now - "
                "min_age_seconds, or end_date): nothing to read. Was the state written "
                "by a clock running ahead, or for another end_date?",
                self.name,
                bookmark,
                rfc3339(upper),
            )
        else:
            self.logger.info("%s: start_date is past the run's upper bound.", self.name)
        return None


class LogStream(GatewayStream):
    """Logs of one `type`, oldest first, checkpointed as they are written."""

    #: the stream's row of the log-type table, which also gives its name
    log_type: ClassVar[LogType]
    primary_keys: ClassVar[list[str]] = ["log_key"]
    window_threshold: ClassVar[int] = WINDOW_THRESHOLD
    # Records are sorted, so a bookmark is safe to publish after any record: a STATE
    # every this many bounds what a killed run sends again.
    STATE_MSG_FREQUENCY = 1000

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "log_type" in cls.__dict__:
            cls.name = cls.log_type.stream

    def span(self, context: Context | None) -> Window | None:
        """Seconds to read: from the bookmark's second (inclusive) to the run's bound."""
        lower = self.lower_bound(context)
        return None if lower is None else Window(lower, self.gateway.upper)

    def walker(self, pool: ThreadPoolExecutor | None) -> WindowWalker:
        """The walker of this stream's windows (its opening's and its turn's alike, so the
        pages an opening sends ahead are the very ones the turn asks for)."""
        gateway, number = self.gateway, self.log_type.number
        return WindowWalker(
            lambda window, page, size: gateway.log_page(number, window, page, size),
            threshold=self.window_threshold,
            page_size=gateway.settings.page_size,
            pool=pool,
            first_pages_ahead=gateway.settings.max_concurrency,
            rows_per_page=gateway.paging.rows_per_page,
            totals=gateway.paging.totals,
        )

    @override
    def opening(self) -> Opening:
        lower, gateway = self.planned_lower(), self.gateway
        if lower is None:
            return None
        span = Window(lower, gateway.upper)

        def first_window() -> None:
            # The walker's first request, page 1 of the whole span; when the span is one
            # window, its other pages too (within the run's look-ahead), not waited for.
            if self.log_type is USAGE:
                gateway.verify_ahead(span)
            walker = self.walker(None)
            first = walker.fetch(span, 1, walker.page_size)
            later = walker.pages_of_span(first)
            gateway.send_pages_ahead(self.log_type.number, span, later, walker.page_size)

        return first_window

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        self.settle_opening()

        span = self.span(context)
        if span is None:
            return
        self.logger.info(
            "Reading %s from %s to %s.",
            self.name,
            rfc3339(span.start),
            rfc3339(span.end),
        )
        gateway, number = self.gateway, self.log_type.number
        charge, site = self.log_type is USAGE, gateway.settings.site
        check = DayCheck(span, gateway.settings.stats_timezone) if self.log_type is USAGE else None
        with self.request_pool() as pool:
            walker = self.walker(pool)
            read = ((items, _now()) for _window, items in walker.walk(span))
            # The next window is read while this one's records are written.
            for items, self.read_at in read_ahead(read):
                own = gateway.own_type(self.name, number, items)
                records = to_records(own, charge=charge, site=site)
                if check is not None:
                    check.add(records)
                yield from records
            if check is not None:
                gateway.verify(self.name, check, pool)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class SnapshotStream(GatewayStream):
    """The state of some objects as the run reads them: one record per object, stamped."""

    replication_key = None  # full table: every run reads them all
    is_sorted = False
    #: the endpoint listing the objects
    path: ClassVar[str]
    #: whether it lists them a page at a time (`p` and `size`)
    paged: ClassVar[bool] = False
    #: the objects are the whole gateway's: read only with scope: site (an admin's token)
    site_only: ClassVar[bool] = False

    def adapt(self, item: dict[str, Any]) -> dict[str, Any]:
        """An object as the stream's fields name it (most are as served)."""
        return item

    def _served(self) -> bool:
        return not self.site_only or self.gateway.settings.site

    @override
    def opening(self) -> Opening:
        if not self._served():
            return None
        return functools.partial(self.gateway.objects, self.path, paged=self.paged)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        self.settle_opening()
        if not self._served():
            self.logger.info("%s: only with scope: site; skipped.", self.name)
            return
        items = self.gateway.objects(self.path, paged=self.paged)
        if items is None:
            return
        fields = SNAPSHOT_FIELDS[self.name]
        at = rfc3339(self.gateway.started_at)
        for item in items:
            yield snapshot_row(self.adapt(item), fields, at)


class HourlyUsage(GatewayStream):
    """The gateway's own hourly totals per model, re-read over the last hours each run."""

    primary_keys: ClassVar[list[str]] = ["created_at", "model_name"]
    # Every run reads again from a few hours before its bookmark: not in order with it.
    is_sorted = False
    #: hours before the bookmark read again: the server writes its hourly rows late
    reread_hours: ClassVar[int] = 3

    def _rows(self, start: int | None) -> list[dict[str, Any]] | None:
        """The server's rows from a few hours before `start` (the bookmark, or the oldest
        log's hour) to the run's bound; None when there is nothing to read."""
        gateway = self.gateway
        if start is not None:
            lower = max(start - self.reread_hours * 3600, 1)
        else:
            oldest = gateway.oldest()
            if oldest is None:
                return None
            lower = max(oldest - oldest % 3600, 1)
        if lower > gateway.upper:
            return None
        return gateway.hourly(lower, gateway.upper)

    @override
    def opening(self) -> Opening:
        return functools.partial(self._rows, self.planned_start())

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        self.settle_opening()
        start = self.get_starting_timestamp(context)
        rows = self._rows(None if start is None else int(start.timestamp()))
        if rows is None:
            return
        hours = [(read_int(row.get("created_at")), row) for row in rows]
        for hour, row in sorted(
            ((h, r) for h, r in hours if h is not None and h >= 1),
            key=lambda pair: (pair[0], str(pair[1].get("model_name"))),
        ):
            record = typed_row({k: v for k, v in row.items() if k != "created_at"}, _HOURLY)
            record["created_at"] = rfc3339(hour)
            yield record


class DailyStats(GatewayStream):
    """One record per calendar day of `stats_timezone`: the server's totals for the day."""

    primary_keys: ClassVar[list[str]] = ["date", "timezone"]
    #: one record per model and day instead, from the rows a server breaks down by model
    per_model: ClassVar[bool] = False

    @override
    def opening(self) -> Opening:
        lower, gateway = self.planned_lower(), self.gateway
        if lower is None:
            return None
        if self.per_model:
            return functools.partial(gateway.stat_totals, lower, gateway.upper)
        unbounded = self.planned_start() is None

        def search() -> None:
            # The whole day search (the gateway keeps its answers), beside the other streams.
            with self.request_pool(ahead=True) as pool:
                gateway.daily_totals(lower, skip_leading_empty=unbounded, pool=pool)

        return search

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        self.settle_opening()
        # The bookmark's day is read again: its totals grow until the day is over.
        lower = self.lower_bound(context)
        if lower is None:
            return
        # With neither bookmark nor start_date, history starts at the first day with usage.
        unbounded = self.get_starting_timestamp(context) is None
        gateway = self.gateway
        if self.per_model and set(gateway.stat_totals(lower, gateway.upper)) <= {WHOLE_DAY}:
            return  # the server sums without models (New API): one request tells
        with self.request_pool() as pool:
            found = self.gateway.daily_totals(lower, skip_leading_empty=unbounded, pool=pool)
        tz = self.gateway.settings.stats_timezone
        for day, totals in found:
            day_fields = {
                "date": day.isoformat(),
                "created_at": rfc3339(max(day_start(day, tz), 0)),
                "timezone": tz,
            }
            if not self.per_model:
                yield {**_NO_AGGREGATES, **day_fields, **totals[WHOLE_DAY]}
                continue
            for model, fields in sorted(totals.items()):
                if model != WHOLE_DAY:
                    yield {**_NO_AGGREGATES, **day_fields, "model_name": model, **fields}


class DailyModelStats(DailyStats):
    """One record per day and model, when the server answers with rows per model."""

    primary_keys: ClassVar[list[str]] = ["date", "timezone", "model_name"]
    per_model = True
