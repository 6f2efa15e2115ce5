"""One run against one gateway: its fixed time bound, its timestamp unit, its pages."""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tap_1688token import paging, timeunit
from tap_1688token.api import ApiClient
from tap_1688token.errors import EndpointMissing, GatewayError, PermissionRefused
from tap_1688token.logtypes import STREAM_BY_TYPE
from tap_1688token.openings import Openings
from tap_1688token.paging import Paging
from tap_1688token.records import LAST_SECOND, rfc3339, unix_seconds
from tap_1688token.settings import Settings
from tap_1688token.stats import (
    WHOLE_DAY,
    DayRange,
    DaySearch,
    Totals,
    day_start,
    days_between,
    is_empty,
    parse_totals,
)
from tap_1688token.stopping import Stop
from tap_1688token.values import read_int
from tap_1688token.verify import DayCheck, find_differences
from tap_1688token.windows import OLDEST_MARGIN, WINDOW_THRESHOLD, Page, Window

LOGGER = logging.getLogger("tap-1688token")

#: a clock difference this large (seconds) is worth a line
CLOCK_SKEW_LOGGED = 60
#: seconds a server without totals is kept from the present, beyond min_age_seconds
NO_TOTAL_MARGIN = 2
#: logs dated this far past the run's bound are reported (seconds)
FUTURE_MARGIN = 86_400

#: a day search over less than this (seconds: 64 days, six rounds) starts where it is asked
SHORT_SEARCH = 64 * 86_400
#: objects asked per page of a snapshot endpoint, and pages at most
SNAPSHOT_PAGE = 100
SNAPSHOT_MAX_PAGES = 1000
#: the envelope's own fields: the rest beside `data` belongs to the answer (e.g. the
#: group ratios beside /api/pricing's models)
_ENVELOPE = frozenset({"data", "success", "message"})

#: the longest span New API's hourly usage answers for at once (a month, in seconds)
HOURLY_SPAN = 2_592_000


@dataclass(frozen=True)
class Paths:
    """Where a scope reads: its logs, its sums, its hourly usage."""

    logs: str
    #: the sums a scope reads first (`stats_endpoint: auto`), and where else a server may
    #: keep them (None: nowhere else)
    stat: str
    stat_fallback: str | None
    hourly: str


PATHS = {
    "self": Paths("/api/log/self", "/api/log/self/stat", "/api/log/stat", "/api/data/self"),
    "site": Paths("/api/log/", "/api/log/stat", None, "/api/data/"),
}


class Gateway:
    """Shared by every stream of a run, so all agree on the bound, the unit, the paging."""

    def __init__(
        self, settings: Settings, *, now: float | None = None, stop: Stop | None = None
    ) -> None:
        self.settings = settings
        self.client = ApiClient(settings, stop=stop)
        #: every request goes through here: a stream's first ones may have been sent ahead
        # Later streams' pages fetched ahead of their turns: a window's logs at most kept at
        # once, so what waits in memory is bounded whatever the number of streams.
        look_ahead = max(1, WINDOW_THRESHOLD // settings.page_size)
        self.openings = Openings(self.client.get_envelope, look_ahead=look_ahead)
        #: the count of logs no window reaches, asked on the side (off the run's critical
        #: path, sent ahead so that streams' requests go first), awaited before the summary
        self._unreachable: Future[None] | None = None
        self._now = now
        self._lock = threading.Lock()
        self._started = False
        self._unit = timeunit.SECONDS
        self._upper = 0
        self._started_at = 0
        self._paging = Paging(1, None, totals=True)
        self.paths = PATHS[settings.scope]
        configured = settings.stats_endpoint
        self.stat_path = self.paths.stat if configured == "auto" else configured
        #: answers asked once a run (sums, the oldest log), by what was asked
        self._answers: dict[tuple[Any, ...], Future[Any]] = {}
        #: whether `stat_path` is the one this server serves: once a stat request was
        #: answered, or from the start where there is nowhere else to look (a first sum
        #: over a site's whole history may take the server seconds: none waits for it)
        self._stat_path_known = configured != "auto" or self.paths.stat_fallback is None
        #: held by the one thread asking while it is not: sums asked at once (the day
        #: search, the model sums, the check) would each meet the same refusal otherwise
        self._stat_path_lock = threading.Lock()
        #: the unit probes' answers, by their bounds as sent
        self._probed: dict[tuple[int, int], Page] = {}
        #: endpoints this server or account does not have, found out this run
        self._unserved: set[str] = set()
        #: the self-check's figures: days compared, days that differ
        self.days_verified = 0
        self.days_differing = 0
        #: a server that ignores `type` (each stream then keeps its own type)
        self.type_blind = False
        #: logs of types no stream exports, by type, as the stream that saw most found them
        self.stray_types: dict[str, Counter[int]] = {}

    @property
    def unit(self) -> str:
        """The wire unit of time bounds, detected (and checked) once per run."""
        self.start()
        return self._unit

    @property
    def upper(self) -> int:
        """The run's upper bound (Unix seconds, inclusive), fixed as it starts."""
        self.start()
        return self._upper

    @property
    def started_at(self) -> int:
        """When the run started (Unix seconds): what snapshots are stamped with."""
        self.start()
        return self._started_at

    @property
    def paging(self) -> Paging:
        self.start()
        return self._paging

    def start(self) -> None:
        """Learn, once, what the run needs of the server: its unit, clock and paging."""
        with self._lock:
            if self._started:
                return
            tap_now = int(self._now if self._now is not None else time.time())
            self._started_at = tap_now
            self._upper = self._bound(tap_now)
            if self.settings.max_concurrency > 1:
                # Paging is learned next from the unit probe's query and its page p=1: sent
                # with the probe, in seconds (as most servers read them), the answer is in
                # when it is asked for (a server reading ms is asked again, in ms).
                first = Window(1, self._upper)
                size = self.settings.page_size
                params = self._window_params(0, first, 1, size, filtered=False)
                self.openings.send_ahead(self.paths.logs, params)
            try:
                self._unit = self._resolve_unit()
            except (PermissionRefused, EndpointMissing) as refused:
                if not self.settings.site:
                    raise
                msg = (
                    f"scope: site reads every user's logs from {self.paths.logs}, which "
                    f"this gateway refuses to this token ({refused}); use an admin's access "
                    "token (with its user_id), or scope: self"
                )
                raise GatewayError(msg) from None
            # Fixed once, so logs written during the run cannot shift any page; by the
            # earlier of the two clocks, so no log the server stamps later falls behind it.
            server_now = self.client.server_time()
            if server_now is not None:
                skew = server_now - tap_now
                if abs(skew) > CLOCK_SKEW_LOGGED:
                    LOGGER.warning(
                        "The server's clock is %d s %s this machine's; the run's bound "
                        "follows the earlier of the two.",
                        abs(skew),
                        "behind" if skew < 0 else "ahead of",
                    )
                # `Date` has whole seconds: a second behind is no more than its rounding.
                if skew < -1:
                    self._upper = self._bound(server_now)
            self._paging = paging.learn(self._first_pages, self.settings.page_size)
            if not self._paging.totals:
                # Without a total, logs written into a window while it is read go unseen
                # (they shift its pages): stay clear of the seconds still being written.
                latest = tap_now - self.settings.min_age_seconds - NO_TOTAL_MARGIN
                self._upper = min(self._upper, latest)
            self._started = True
            LOGGER.info(
                "The server reads start_timestamp/end_timestamp in %s; %s.",
                self._unit,
                self._paging.describe(self.settings.page_size),
            )
            settled = self._first_pages(0).total
        if self.settings.max_concurrency > 1:
            # Only a WARNING hangs on it: counted beside the streams, awaited at the end.
            self._unreachable = self.openings.aside(self._report_unreachable, settled)
        else:
            self._report_unreachable(settled)

    def finish(self) -> None:
        """Await the check answered on the side (its warnings come before the summary; if
        it failed, the run fails, as with any request)."""
        if self._unreachable is not None:
            self._unreachable.result()

    def _bound(self, now: int) -> int:
        settled = now - self.settings.min_age_seconds
        end = self.settings.end_date
        return min(end, settled) if end is not None else settled

    def _resolve_unit(self) -> str:
        configured = self.settings.timestamp_unit
        detected = timeunit.detect(self._probe, self._upper)
        if detected is None:
            LOGGER.info("No logs up to the upper bound yet; timestamp unit left at %s.", configured)
            return timeunit.SECONDS if configured == "auto" else configured
        if configured not in ("auto", detected):
            msg = (
                f"timestamp_unit: set to {configured!r}, but the server reads "
                f"start_timestamp/end_timestamp in {detected!r}; set it to {detected!r} or auto"
            )
            raise GatewayError(msg)
        return detected

    def _probe(self, start: int, end: int) -> tuple[int, int | None]:
        # The first page of all logs, as paging is then learned from: p=0 is the first
        # page whether the server counts from 0 or from 1.
        params = self._page_params(0, 0, self.settings.page_size, filtered=False)
        params.update(start_timestamp=start, end_timestamp=end)
        page = parse_log_page(self._get(self.paths.logs, params))
        self._probed[start, end] = page
        newest = max((unix_seconds(i.get("created_at")) for i in page.items), default=None)
        return max(page.total or 0, len(page.items)), newest

    def _first_pages(self, wire_page: int) -> Page:
        """Page `wire_page` (as sent) of all logs up to the bound: what paging is learned from."""
        window = Window(1, self._upper)
        if wire_page == 0:
            wire = (
                timeunit.to_wire(window.start, self._unit),
                timeunit.to_wire(window.end, self._unit, end=True),
            )
            probed = self._probed.get(wire)
            if probed is not None:
                return probed  # the unit's probe asked exactly this
        return self._page(0, window, wire_page, self.settings.page_size, filtered=False)

    def _report_unreachable(self, settled: int | None) -> None:
        """Say how many logs no time window can reach (created_at 0, negative, absurd).

        `settled` is the count up to the run's bound; one more request, for all logs
        without time bounds, usually shows there is nothing else to look for.
        """
        if not self._paging.totals:
            return  # counting them needs totals
        everything = self._count(Window(-LAST_SECOND, LAST_SECOND))
        if everything is None or everything == settled:
            return
        reachable = self._count(Window(1, LAST_SECOND))
        if everything is not None and reachable is not None and everything > reachable:
            LOGGER.warning(
                "%d logs have a created_at no time range can select (0, negative, or past "
                "9999): no run can export them.",
                everything - reachable,
            )
        future = self._count(Window(self._upper + FUTURE_MARGIN, LAST_SECOND))
        if future:
            LOGGER.warning(
                "%d logs are dated more than a day after this run's bound: each run reads "
                "them only once their time has come.",
                future,
            )

    def _count(self, window: Window) -> int | None:
        """How many logs (of every type) the server says `window` holds."""
        return self._page(0, window, 0, 1, filtered=False).total

    def log_page(self, log_type: int, window: Window, page: int, page_size: int) -> Page:
        """Page `page` (counted from 1) of a window's logs of one type."""
        params = self._log_page_params(log_type, window, page, page_size)
        return parse_log_page(self._get(self.paths.logs, params))

    def send_pages_ahead(self, log_type: int, window: Window, pages: range, page_size: int) -> None:
        """From a stream's opening: pages of a window its turn will read, sent without
        waiting for them as the run's look-ahead allows (see `Openings.queue`)."""
        path = self.paths.logs
        self.openings.queue(
            (path, self._log_page_params(log_type, window, page, page_size)) for page in pages
        )

    def _log_page_params(
        self, log_type: int, window: Window, page: int, page_size: int
    ) -> dict[str, Any]:
        wire_page = page - 1 + self.paging.first_page
        return self._window_params(log_type, window, wire_page, page_size, filtered=True)

    def _page(
        self,
        log_type: int,
        window: Window,
        wire_page: int,
        page_size: int,
        *,
        filtered: bool = True,
    ) -> Page:
        params = self._window_params(log_type, window, wire_page, page_size, filtered=filtered)
        return parse_log_page(self._get(self.paths.logs, params))

    def _window_params(
        self, log_type: int, window: Window, wire_page: int, page_size: int, *, filtered: bool
    ) -> dict[str, Any]:
        unit = self._unit
        params = self._page_params(log_type, wire_page, page_size, filtered=filtered)
        params.update(
            start_timestamp=timeunit.to_wire(window.start, unit),
            end_timestamp=timeunit.to_wire(window.end, unit, end=True),
        )
        return params

    def _page_params(
        self, log_type: int, wire_page: int, page_size: int, *, filtered: bool = True
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"p": wire_page, "page_size": page_size, "type": log_type}
        if filtered:
            params.update(self._filters())
        return params

    def _filters(self) -> dict[str, Any]:
        """The settings that narrow the logs (and the sums) a run reads."""
        model = self.settings.model_name
        return ({"model_name": model} if model else {}) | self.settings.site_filters()

    def own_type(
        self, stream: str, number: int, items: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The items of type `number`: a server that ignores `type` sends every type."""
        own = [item for item in items if item.get("type") == number]
        if len(own) == len(items):
            return items
        own, strays = [], Counter[int]()
        for item in items:
            kind = read_int(item.get("type"))
            if kind is None or kind == number:
                own.append(item)  # without a type, the server's filter is all we have
            elif kind not in STREAM_BY_TYPE:
                strays[kind] += 1
        with self._lock:
            first, self.type_blind = not self.type_blind, True
            self.stray_types.setdefault(stream, Counter()).update(strays)
        if first:
            LOGGER.warning(
                "The server ignores the `type` filter: each log stream reads every log and "
                "keeps those of its own type (more requests, same records)."
            )
        return own

    def verify_ahead(self, span: Window) -> None:
        """From the usage stream's opening: the sum its check asks first (of every closed
        day the span reads), asked on the side now, for the check to find it answered
        when the stream ends rather than ask it then, a round trip after its last page."""
        check = DayCheck(span, self.settings.stats_timezone)
        days = self._days_to_check(check)
        if days is not None:
            self.openings.aside(self.stat_totals, *check.bounds(*days))

    def _days_to_check(self, check: DayCheck) -> tuple[datetime.date, datetime.date] | None:
        """The first and last day the check compares; None: it compares none."""
        first, last = check.first_day, check.last_closed_day
        return None if self.settings.verify == "off" or last < first else (first, last)

    def verify(self, stream: str, check: DayCheck, pool: ThreadPoolExecutor | None) -> None:
        """Compare the usage quota delivered per closed day with the server's own totals."""
        mode, tz = self.settings.verify, self.settings.stats_timezone
        checked = self._days_to_check(check)
        if checked is None:
            return
        first, last = checked
        began = check.span.start
        # Plain dates: a span from 1970 is some 20,000 days, and pendulum's adds are slow.
        ordinals = range(first.toordinal(), last.toordinal() + 1)
        days = [datetime.date.fromordinal(n) for n in ordinals]
        delivered = [check.delivered.get(day, (0, 0))[0] for day in days]

        def ask(span: DayRange) -> int:
            totals = self.stat_totals(*check.bounds(days[span.first], days[span.last]))
            return totals[WHOLE_DAY].get("quota", 0)

        found = find_differences(delivered, ask, pool.map if pool else map)
        for index, expected in sorted(found.items()):
            day = days[index]
            quota, logs = check.delivered.get(day, (0, 0))
            LOGGER.warning(
                "%s: on %s (%s%s) the server counts a usage quota of %d; the %d logs "
                "delivered add up to %d (difference %+d).",
                stream,
                day.isoformat(),
                tz,
                f", from {rfc3339(began)}" if index == 0 and began > day_start(day, tz) else "",
                expected,
                logs,
                quota,
                expected - quota,
            )
        # Days count from the first with usage either side (not from 1970).
        used = [i for i, day in enumerate(days) if day in check.delivered or i in found]
        compared = len(days) - used[0] if used else 0
        differing = len(found)
        with self._lock:
            self.days_verified += compared
            self.days_differing += differing
        if differing and mode == "fail":
            msg = (
                f"verify: on {differing} of {compared} days the {stream} delivered differ "
                "from the server's own totals (see the warnings above)"
            )
            raise GatewayError(msg)

    def daily_totals(
        self, lower: int, *, skip_leading_empty: bool, pool: ThreadPoolExecutor | None
    ) -> list[tuple[datetime.date, Totals]]:
        """The server's totals of each day of `stats_timezone` from `lower` to the bound."""
        tz, upper = self.settings.stats_timezone, self.upper
        if skip_leading_empty:
            lower = self._first_day_with_logs(lower)
        days = days_between(lower, upper, tz)

        def ask(span: DayRange) -> Totals:
            first = max(day_start(days[span.first], tz), 1)
            last = upper
            if span.last + 1 < len(days):
                last = min(upper, day_start(days[span.last + 1], tz) - 1)
            return self.stat_totals(first, last)

        # Days are found a level of the search at a time, so all are found first.
        mapper = pool.map if pool else map
        return list(DaySearch(days, ask, skip_leading_empty=skip_leading_empty, mapper=mapper))

    def _first_day_with_logs(self, lower: int) -> int:
        """Where a search for the first day with usage from the beginning of time (`lower`
        1) may begin: the start of the oldest log's day (less a margin) when the server sums
        nothing before it, else `lower`.

        A search from 1970 takes some fifteen rounds of requests, one after another; two
        requests (the oldest log, the sum before its day) spare most of them.
        """
        if lower > 1 or self.upper - lower < SHORT_SEARCH:
            # From a bookmark or start_date, or a few rounds at most: not worth two requests.
            return lower
        oldest = self.oldest()
        if oldest is None:
            return lower
        tz = self.settings.stats_timezone
        (day,) = days_between(max(oldest - OLDEST_MARGIN, 1), max(oldest - OLDEST_MARGIN, 1), tz)
        cut = day_start(day, tz)
        if cut <= lower or not is_empty(self.stat_totals(lower, cut - 1)):
            return lower
        return cut

    def stat_totals(self, start: int, end: int) -> Totals:
        """The server's totals for `start`..`end` (Unix seconds, inclusive), asked once."""
        totals: Totals = self._once(("stat", start, end), lambda: self._ask_stat(start, end))
        return totals

    def _once(self, key: tuple[Any, ...], ask: Callable[[], Any]) -> Any:
        """`ask()`'s answer, asked once a run, even by two threads at once (a stream and
        its opening, a stream's own check): the second waits for the first's answer."""
        with self._lock:
            known = self._answers.get(key)
            if known is None:
                asking: Future[Any] = Future()
                self._answers[key] = asking
        if known is not None:
            return known.result()
        asking.set_running_or_notify_cancel()
        try:
            answer = ask()
        except BaseException as exc:
            with self._lock:  # a failure is not an answer: the next asker tries again
                del self._answers[key]
            asking.set_exception(exc)
            raise
        asking.set_result(answer)
        return answer

    def _ask_stat(self, start: int, end: int) -> Totals:
        unit = self.unit
        params: dict[str, Any] = {
            "start_timestamp": timeunit.to_wire(start, unit),
            "end_timestamp": timeunit.to_wire(end, unit, end=True),
        }
        params.update(self._filters())
        if not self._stat_path_known:
            with self._stat_path_lock:
                if not self._stat_path_known:
                    data = self._stat_or_fallback(params)
                    self._stat_path_known = True
                    return parse_totals(data, self.stat_path)
        return parse_totals(self._stat_or_fallback(params), self.stat_path)

    def _stat_or_fallback(self, params: dict[str, Any]) -> Any:
        """`data` of a stat request, from the documented endpoint if the one asked refuses."""
        try:
            return self._get(self.stat_path, params, step=True)
        except (PermissionRefused, EndpointMissing) as refused:
            fallback = self.paths.stat_fallback
            if self.settings.stats_endpoint != "auto" or self.stat_path == fallback:
                msg = f"stats_endpoint: {self.stat_path} refused this account: {refused}"
                raise GatewayError(msg) from None
            if fallback is None:
                msg = (
                    f"scope: site sums the gateway's logs with {self.stat_path}, which this "
                    f"gateway refuses to this token ({refused}); use an admin's access token"
                )
                raise GatewayError(msg) from None
            LOGGER.info(
                "%s is not open to this account (%s); using %s instead.",
                self.stat_path,
                refused,
                fallback,
            )
            self.stat_path = fallback
            return self._get(self.stat_path, params, step=True)

    def objects(self, path: str, *, paged: bool = False) -> list[dict[str, Any]] | None:
        """The objects an endpoint lists (all its pages), or None if the server has none.

        Answers New API gives: one object (`/api/user/self`, `/api/status`), a list
        (`/api/pricing`), or, `paged`, a page `{items, total}` walked with `p` and `size`
        (`/api/token/`, `/api/user/`, `/api/channel/`); one-api pages those as bare lists,
        `p` from 0, as it pages logs.
        """
        first = self.paging.first_page if paged else 1
        envelope = self._if_served(path, {"p": first, "size": SNAPSHOT_PAGE})
        if envelope is None:
            return None
        data = envelope.get("data")
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            return self._pages(path, data)
        if isinstance(data, dict):
            return [data | {k: v for k, v in envelope.items() if k not in _ENVELOPE}]
        if isinstance(data, list) and paged:
            return self._list_pages(path, first, data)
        if isinstance(data, list):
            siblings = {k: v for k, v in envelope.items() if k not in _ENVELOPE}
            return [item | siblings for item in data if isinstance(item, dict)]
        msg = f"{path}: unexpected `data`: {str(data)[:120]!r}"
        raise GatewayError(msg)

    def hourly(self, start: int, end: int) -> list[dict[str, Any]] | None:
        """The server's hourly usage rows from `start` to `end` (inclusive), None if it has
        none to serve: asked a month at a time, New API's longest span."""
        rows: list[dict[str, Any]] = []
        path, username = self.paths.hourly, self.settings.username
        for first in range(start, end + 1, HOURLY_SPAN):
            params: dict[str, Any] = {
                "start_timestamp": first,
                "end_timestamp": min(end, first + HOURLY_SPAN - 1),
            }
            if username:
                params["username"] = username
            envelope = self._if_served(path, params)
            if envelope is None:
                return None
            data = envelope.get("data")
            if not isinstance(data, list):
                msg = f"{path}: unexpected `data`: {str(data)[:120]!r}"
                raise GatewayError(msg)
            rows += [row for row in data if isinstance(row, dict)]
        return rows

    def oldest(self) -> int | None:
        """`created_at` of the lowest id up to the bound (its last page), if known: the
        oldest log, but for one written later with an older time."""
        found: int | None = self._once(("oldest",), self._oldest)
        return found

    def _oldest(self) -> int | None:
        total = self._first_pages(0).total
        if not total:
            return None
        wire = total - 1 + self.paging.first_page
        page = self._page(0, Window(1, self.upper), wire, 1, filtered=False)
        return min((unix_seconds(item.get("created_at")) for item in page.items), default=None)

    def _if_served(self, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The envelope of `path`, or None (said once) if this server or account lacks it."""
        if path in self._unserved:
            return None  # found out already (by the stream's opening)
        try:
            return self.openings.get(path, params)
        except (EndpointMissing, PermissionRefused) as missing:
            with self._lock:
                self._unserved.add(path)
            LOGGER.info(
                "%s is not served to this account (%s): its stream is skipped.", path, missing
            )
            return None

    def _list_pages(self, path: str, first_page: int, first: list[Any]) -> list[dict[str, Any]]:
        """Pages without a total, read to the first empty one: the rows a page holds are
        the server's to choose (one-api: 10, whatever `size` asks)."""
        items, page, previous = list(first), first_page, first
        while previous:
            page += 1
            if page - first_page >= SNAPSHOT_MAX_PAGES:
                msg = f"{path}: still listing objects after {SNAPSHOT_MAX_PAGES} pages"
                raise GatewayError(msg)
            more = self._get(path, {"p": page, "size": SNAPSHOT_PAGE})
            if not isinstance(more, list):
                msg = f"{path}: page {page} is not a list like the first: {str(more)[:120]!r}"
                raise GatewayError(msg)
            if more == previous:
                break  # a server that does not page answers every page alike: all was read
            items += more
            previous = more
        return [item for item in items if isinstance(item, dict)]

    def _pages(self, path: str, first: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = list(first["items"])
        total = _count(first.get("total"))
        page = self.paging.first_page
        while len(items) < total and page < SNAPSHOT_MAX_PAGES:
            page += 1
            data = self._get(path, {"p": page, "size": SNAPSHOT_PAGE})
            more = data.get("items") if isinstance(data, dict) else None
            if not more:
                msg = f"{path}: page {page} is empty while its total says {total}"
                raise GatewayError(msg)
            items += more
        return [item for item in items if isinstance(item, dict)]

    def _get(self, path: str, params: dict[str, Any], *, step: bool = False) -> Any:
        """`data` of an answer (fetched now, or ahead by a stream's opening); `step`: a
        search's step (see `Slots`)."""
        return self.openings.get(path, params, step=step)["data"]

    def open(self, openings: dict[str, Callable[[], object]]) -> None:
        """Send the streams' first requests together, ahead of their turns."""
        self.start()
        self.openings.start(openings, self.settings.max_concurrency)

    def close(self) -> None:
        self.openings.close()
        self.client.close()


def parse_log_page(data: Any) -> Page:
    """`data` of a log page: `{items, total, page_size}`; a bare list on some forks."""
    items: Any
    total: Any
    size: Any
    if isinstance(data, list):
        items, total, size = data, None, None
    elif isinstance(data, dict):
        items = data.get("items")
        if items is None:
            items = data.get("data") or []
        total, size = data.get("total"), data.get("page_size")
    elif data is None:
        # Go writes a nil slice as null, but the servers' queries answer an empty page
        # with [] (GORM makes the slice): null is a glitch of a busy server.
        return Page(items=[], total=None, null=True)
    else:
        msg = f"log page: unexpected `data` of type {type(data).__name__}"
        raise GatewayError(msg)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        msg = "log page: `data.items` is not a list of log objects"
        raise GatewayError(msg)
    counted = None if total is None else _count(total)
    return Page(items=items, total=counted, page_size=_count(size) or None)


def _count(value: Any) -> int:
    return max(read_int(value) or 0, 0)
