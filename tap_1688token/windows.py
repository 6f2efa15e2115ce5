"""Walking a time range in ascending windows small enough to page through exactly.

Servers page newest first by offset, and some cap `total`. So a range is cut into
closed windows (whole seconds, both ends inclusive) whose `total` stays under a
threshold, and each window is read to its end by a short or empty page, never by
`total` alone; by a short page only when the rows a full page holds are known. A page
that contradicts what the server already said (no total from a server that gives one,
fewer rows than its total leaves for it) is asked again, then is an error: never the
end of a window. A server without totals (one-api) is read window by window to an
empty page, a window cut in halves when it holds more than the threshold.
Nothing here does HTTP: it calls a `fetch(window, page, page_size)`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tap_1688token.errors import GatewayError
from tap_1688token.records import unix_seconds


@dataclass(frozen=True, slots=True)
class Window:
    """Unix seconds `start`..`end`, both inclusive."""

    start: int
    end: int

    @property
    def width(self) -> int:
        return self.end - self.start + 1

    def split(self, parts: int) -> list[Window]:
        """Cut into `parts` (at most one per second) contiguous windows, oldest first."""
        parts = max(1, min(parts, self.width))
        edges = [self.start + (self.width * i) // parts for i in range(parts + 1)]
        return [Window(edges[i], edges[i + 1] - 1) for i in range(parts)]

    def __str__(self) -> str:
        return f"[{self.start}, {self.end}]"


@dataclass(slots=True)
class Page:
    items: list[dict[str, Any]]
    #: how many logs the server says the range holds; None when it does not say
    total: int | None
    #: the page size the server says it used, when it says
    page_size: int | None = None
    #: `data` was null: never an answer (an empty page is `[]` or has `items: []`)
    null: bool = False


LOGGER = logging.getLogger("tap-1688token")

Fetch = Callable[[Window, int, int], Page]
#: a window's page 1: fetched, on its way, or not asked for yet
FirstPage = Page | Future[Page] | None

#: a window holding this many logs is split: bounds memory and offset depth, and stays
#: under the 10,000 some servers cap `total` at
WINDOW_THRESHOLD = 5000
#: seconds kept before the oldest log found, see `WindowWalker._plan`
OLDEST_MARGIN = 86_400
#: a one-second window whose total changes while it is read is read again this often
MAX_REREADS = 3
#: a page that contradicts the server's own total is asked this often before failing (a
#: busy server glitching on 3 % of pages fails all five about once in 400 million pages)
MAX_ASKS = 5


class _TooBig:
    """`_read`'s answer for a window without totals that holds more than the threshold."""


TOO_BIG = _TooBig()


class WindowWalker:
    """Yields `(window, items)` for a range, oldest window first, items as served."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        threshold: int,
        page_size: int,
        pool: ThreadPoolExecutor | None = None,
        first_pages_ahead: int = 8,
        rows_per_page: int | None = None,
        totals: bool = True,
    ) -> None:
        self.fetch = fetch
        self.threshold = threshold
        #: rows asked for per page
        self.page_size = page_size
        #: rows a full page really holds, when known for sure (a server may serve fewer
        #: than asked, or a size of its own): a shorter page then ends a window
        self.rows_per_page = rows_per_page
        #: whether the server gives `total`: a page without one is then a glitch
        self.totals = totals
        #: once a window's total is known its pages are independent: fetch them together
        self.pool = pool
        #: page 1 of this many of the next windows is fetched while a window is read (not
        #: of all of them: a long history is cut into thousands of windows)
        self.first_pages_ahead = first_pages_ahead
        #: pages 2.. of windows not read yet, fetched while the one before is read
        self._started: dict[Window, dict[int, Future[Page]]] = {}

    def _fetch_first_pages(self, pending: list[tuple[Window, FirstPage]]) -> None:
        """Set page 1 of the next windows (the end of `pending`) on its way."""
        if self.pool is None:
            return
        for index in range(len(pending) - 1, len(pending) - 1 - self.first_pages_ahead, -1):
            if index < 0:
                return
            window, first = pending[index]
            if first is None:
                pending[index] = (window, self.pool.submit(self.fetch, window, 1, self.page_size))

    def _rows(self, page: Page) -> int | None:
        """Rows a full page holds, if known for sure."""
        return self.rows_per_page or page.page_size

    def _later_pages(self, first: Page) -> range:
        """Pages 2.. of a window, as its page 1 counts them (none without a total)."""
        if first.total is None or first.total <= len(first.items):
            return range(0)
        # Without a known page size, pages are asked as if served as asked: a shorter one
        # leaves the rest to `_read`, which fetches pages in turn to the window's end.
        size = self._rows(first) or self.page_size
        return range(2, math.ceil(first.total / size) + 1)

    def _fetch_pages(self, window: Window, first: Page) -> dict[int, Future[Page]]:
        """Pages 2.. of a window whose page 1 is known, set on their way (with a pool)."""
        if self.pool is None:
            return {}
        numbers = self._later_pages(first)
        return {n: self.pool.submit(self.fetch, window, n, self.page_size) for n in numbers}

    def pages_of_span(self, first: Page) -> range:
        """The pages after page 1 that `walk` will ask of a span whose page 1 is `first`:
        those of the span read as one window; none when it will cut the span into
        windows, or when page 1 is to be asked again."""
        if first.total is None or first.total >= self.threshold:
            return range(0)
        if self._contradiction(1, first, None) is not None:
            return range(0)
        return self._later_pages(first)

    def _fetch_next_window(self, pending: list[tuple[Window, FirstPage]]) -> None:
        """Set the pages of the next window on their way, if it will be read as it is."""
        if self.pool is None or not pending:
            return
        window, first = pending[-1]
        if window in self._started or first is None:
            return
        if isinstance(first, Future):  # on its way since before this window's pages
            if first.exception() is not None:
                return  # raised when that window's turn comes, after this one is out
            first = first.result()
            pending[-1] = (window, first)
        if first.total is not None and (first.total < self.threshold or window.width == 1):
            self._started[window] = self._fetch_pages(window, first)

    def walk(self, span: Window) -> Iterator[tuple[Window, list[dict[str, Any]]]]:
        self._started = {}
        whole = self._checked(span, 1, self.fetch(span, 1, self.page_size), None)
        if not whole.items and not whole.total:
            return
        pending: list[tuple[Window, FirstPage]] = [(span, whole)]
        if whole.total is not None and whole.total >= self.threshold:
            planned = self._plan(span, whole.total)
            pending = [(window, None) for window in reversed(planned)]
        rereads = 0
        while pending:
            window, ahead = pending.pop()
            self._fetch_first_pages(pending)
            first = ahead.result() if isinstance(ahead, Future) else ahead
            first = self._checked(window, 1, first or self.fetch(window, 1, self.page_size), None)
            started = self._started.pop(window, None)
            if first.total is not None and first.total >= self.threshold and window.width > 1:
                parts = window.split(math.ceil(2 * first.total / self.threshold))
                pending += [(part, None) for part in reversed(parts)]
                continue
            if first.items or first.total:
                started = started or self._fetch_pages(window, first)
                # The next window's pages queue behind this one's, so the pool has work
                # while this window's last pages are out.
                self._fetch_next_window(pending)
                items = self._read(window, first, started)
            else:
                items = []
            if items is TOO_BIG:
                pending += [(part, None) for part in reversed(window.split(2))]
                continue
            if items is None:
                # Logs were written into the window while it was read, so offsets moved.
                # They land at the open end of the span: cut that second off and reread.
                if window.width > 1:
                    edge = (
                        window.end if window.end == span.end else window.start + window.width // 2
                    )
                    pending += [
                        (Window(edge, window.end), None),
                        (Window(window.start, edge - 1), None),
                    ]
                    continue
                rereads += 1
                if rereads <= MAX_REREADS:
                    pending.append((window, None))
                    continue
                if window.end == span.end:
                    LOGGER.info(
                        "Logs are still arriving at %s: they wait for the next run.", window
                    )
                    return
                msg = (
                    f"the number of logs in {window} kept changing while it was read; "
                    "raise min_age_seconds so a run only reads settled history"
                )
                raise GatewayError(msg)
            rereads = 0
            if isinstance(items, list) and items:
                yield window, items

    def _plan(self, span: Window, total: int) -> list[Window]:
        """Cut a large range where its logs are, not across empty years before them."""
        oldest = self._oldest(span, total)
        start = span.start
        if oldest is not None:
            # The last page holds the lowest ids; a margin covers logs whose
            # created_at runs a little behind their id.
            start = min(span.end, max(span.start, oldest - OLDEST_MARGIN))
        trimmed = Window(start, span.end)
        windows = trimmed.split(math.ceil(2 * total / self.threshold))
        if start > span.start:
            # A row written later with an older time (a backfill, a clock set wrong) sits
            # before the lowest id's time: the years before are one more window, usually
            # empty (one request), split like any other when it is not.
            windows.insert(0, Window(span.start, start - 1))
        return windows

    def _oldest(self, span: Window, total: int) -> int | None:
        """`created_at` of the range's oldest log, read from its last page (one request).

        A page size that does not divide `total` makes the last page short when `total`
        is a true count; a full last page means `total` is capped, and we learn nothing.
        Only a page of exactly the rows left over is trusted: a server that serves fewer
        rows than asked (a cap) or a size of its own would answer with a middle page.
        """
        largest = min(self.page_size, self.rows_per_page or self.page_size)
        size = next((k for k in range(largest, 1, -1) if total % k), None)
        if size is None:
            return None
        page = self.fetch(span, total // size + 1, size)
        if len(page.items) != total % size or page.total != total:
            return None
        return min(_created_at(item) for item in page.items)

    def _checked(self, window: Window, number: int, page: Page, total: int | None) -> Page:
        """`page` as served, asked again while it contradicts what the server said.

        `total` is the window's total from its page 1 (None for page 1 itself).
        """
        for _ in range(MAX_ASKS - 1):
            if self._contradiction(number, page, total) is None:
                return page
            page = self.fetch(window, number, self.page_size)
        problem = self._contradiction(number, page, total)
        if problem is None:
            return page
        msg = (
            f"the server answered page {number} of {window} with {problem}, "
            f"{MAX_ASKS} times: it cannot be paged exactly"
        )
        raise GatewayError(msg)

    def _contradiction(self, number: int, page: Page, total: int | None) -> str | None:
        """What is wrong with a page, given the window's total; None if nothing."""
        if page.null:
            return "`data` null"
        if page.total is None:
            return "no total where it gives one" if self.totals else None
        if total is None:
            total = page.total  # page 1 speaks for itself
        elif page.total != total:
            return None  # the window changed: `_read` reads it again
        rows = self._rows(page)
        if rows is None:
            return (
                f"no logs while its total is {total}"
                if number == 1 and total and not page.items
                else None
            )
        expected = max(0, min(rows, total - (number - 1) * rows))
        if len(page.items) < expected:
            return f"{len(page.items)} logs where its total of {total} leaves {expected}"
        return None

    def _read(
        self, window: Window, first: Page, ahead: dict[int, Future[Page]]
    ) -> list[dict[str, Any]] | _TooBig | None:
        """All items of a window from page 1 to its end; None if it moved.

        The end is an empty page, or a short one when the rows of a full page are known.
        `ahead` holds the pages already on their way; the others are fetched in turn.
        """
        items = list(first.items)
        page, number = first, 1
        total = first.total
        while True:
            _check_in_window(window, page.items)
            rows = self._rows(page)
            if not page.items:
                break
            if rows is not None and len(page.items) < rows and len(items) >= (total or 0):
                break
            if total is None and len(items) > self.threshold and window.width > 1:
                return TOO_BIG  # no total to plan by: halve the window instead
            if total is not None and len(items) > total > 0:
                # `total` is capped: never let a window grow past what that cap can show.
                self.threshold = min(self.threshold, total)
            number += 1
            previous = page
            coming = ahead.pop(number, None)
            page = coming.result() if coming else self.fetch(window, number, self.page_size)
            page = self._checked(window, number, page, total)
            if page.total != total:
                return None
            if page.items and page.items == previous.items:
                msg = f"the server returned page {number - 1} again for page {number}"
                raise GatewayError(msg)
            items.extend(page.items)
        return items


def _created_at(item: dict[str, Any]) -> int:
    return unix_seconds(item.get("created_at"))


def _check_in_window(window: Window, items: list[dict[str, Any]]) -> None:
    for item in items:
        created = _created_at(item)
        if not window.start <= created <= window.end:
            msg = (
                f"the server returned a log of {created} for the range {window}: "
                "it reads start_timestamp/end_timestamp in another unit than the one sent; "
                "set timestamp_unit to auto"
            )
            raise GatewayError(msg)
