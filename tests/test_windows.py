"""The window walker on its own: an in-memory server, exact pages, bounded look-ahead."""

from __future__ import annotations

import bisect
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_1688token.windows import Page, Window, WindowWalker


class Server:
    """Logs by second, listed newest first by offset, as New API pages them."""

    def __init__(self, n: int, start: int, end: int) -> None:
        rng = random.Random(7)
        self.times = sorted(rng.randint(start, end) for _ in range(n))
        self.lock = threading.Lock()
        self.first_pages: list[Window] = []
        self.later_pages: list[Window] = []

    def fetch(self, window: Window, page: int, size: int) -> Page:
        lo = bisect.bisect_left(self.times, window.start)
        hi = bisect.bisect_right(self.times, window.end)
        newest_first = [
            {"created_at": t, "n": i} for i, t in reversed(list(enumerate(self.times[lo:hi], lo)))
        ]
        with self.lock:
            if page == 1:
                self.first_pages.append(window)
            else:
                self.later_pages.append(window)
        return Page(newest_first[(page - 1) * size : page * size], hi - lo)


@pytest.mark.parametrize("workers", [1, 4])
def test_a_long_history_is_read_exactly_with_few_first_pages_ahead(workers):
    server = Server(60_000, 1_000_000, 2_000_000)
    span = Window(1, 2_100_000)
    with ThreadPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        walker = WindowWalker(
            server.fetch, threshold=500, page_size=100, pool=pool, first_pages_ahead=workers
        )
        seen, previous, most_ahead, most_read_ahead = [], Window(0, 0), 0, 0
        for window, items in walker.walk(span):
            assert window.start > previous.end
            previous = window
            seen += [item["n"] for item in items]
            with server.lock:
                ahead = sum(1 for w in server.first_pages if w.start > window.end)
                read_ahead = {w for w in server.later_pages if w.start > window.end}
            most_ahead = max(most_ahead, ahead)
            # the pages of one window at most are fetched before its turn
            most_read_ahead = max(most_read_ahead, len(read_ahead))
    # 240 windows are planned; page 1 is fetched for the next few of them, not for all
    assert most_ahead <= (workers if workers > 1 else 0)
    assert most_read_ahead == (1 if workers > 1 else 0)
    assert sorted(seen) == list(range(60_000))
    assert len(seen) == 60_000


class CappedServer(Server):
    """Like New API with a total cap and a page-size cap: `total` stops at `cap`."""

    def __init__(self, times: list[int], cap: int | None, max_page: int) -> None:
        self.times = sorted(times)
        self.lock = threading.Lock()
        self.first_pages, self.later_pages = [], []
        self.cap, self.max_page = cap, max_page

    def fetch(self, window: Window, page: int, size: int) -> Page:
        size = min(size, self.max_page)
        served = super().fetch(window, page, size)
        total = served.total if self.cap is None else min(served.total, self.cap)
        return Page(served.items, total, size)


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(st.integers(1_000, 1_200), max_size=700),
    threshold=st.integers(20, 300),
    page_size=st.integers(1, 60),
    max_page=st.integers(5, 100),
    cap=st.none() | st.integers(50, 400),
    workers=st.sampled_from([1, 3, 8]),
)
def test_any_history_arrives_exactly_once(times, threshold, page_size, max_page, cap, workers):
    server = CappedServer(times, cap, max_page)
    with ThreadPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        walker = WindowWalker(
            server.fetch,
            threshold=threshold,
            page_size=page_size,
            pool=pool,
            first_pages_ahead=workers,
        )
        seen = [item["n"] for _, items in walker.walk(Window(1, 1_300)) for item in items]
    assert sorted(seen) == list(range(len(times)))
