"""How a server pages, found out from the server rather than assumed.

New API counts `p` from 1 (and reads 0 as 1), serves the `page_size` asked up to its
cap, and gives `total`; one-api counts from 0, serves 10 rows whatever is asked, and
answers with a bare list; forks mix these. Two or three requests over all history
tell them apart: the first page (asked as `p=0`, which every family reads as its
first), the one after it, and without a total the one after that.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tap_1688token.errors import GatewayError
from tap_1688token.windows import MAX_ASKS, Page


@dataclass(frozen=True)
class Paging:
    #: the wire number of the first page: 1 (New API) or 0 (one-api)
    first_page: int
    #: rows a full page holds, when the server has shown one (else read to empty pages)
    rows_per_page: int | None
    #: whether answers carry `total`
    totals: bool

    def describe(self, asked: int) -> str:
        rows = (
            f"{self.rows_per_page} logs a full page (asked {asked})"
            if self.rows_per_page
            else "page size not shown yet (windows are read to an empty page)"
        )
        totals = "with a total" if self.totals else "without a total"
        return f"p counts from {self.first_page}, {rows}, answers {totals}"


def learn(fetch: Callable[[int], Page], asked: int) -> Paging:
    """The paging of a server, from `fetch(p)`: the page it answers for wire number p."""
    fetch = _without_nulls(fetch)
    first = fetch(0)
    totals = first.total is not None
    if not first.items:
        return Paging(1, first.page_size, totals)
    second = fetch(1)
    if _same_page(first, second):
        first_page = 1  # p=0 was read as p=1
        # Beyond the first page: as its total says, or as the page after it shows.
        more = first.total > len(first.items) if first.total is not None else bool(fetch(2).items)
    else:
        first_page = 0
        more = bool(second.items) or (first.total or 0) > len(first.items)
    # A page followed by more logs was full: its length is what the server serves.
    rows = len(first.items) if more else first.page_size
    return Paging(first_page, rows, totals)


def _without_nulls(fetch: Callable[[int], Page]) -> Callable[[int], Page]:
    """`fetch`, asking again (twice at most) when a busy server answers `data: null`."""

    def asked(wire_page: int) -> Page:
        for _ in range(MAX_ASKS):
            page = fetch(wire_page)
            if not page.null:
                return page
        msg = f"the server answered page p={wire_page} with `data` null, {MAX_ASKS} times"
        raise GatewayError(msg)

    return asked


def _same_page(first: Page, second: Page) -> bool:
    """Whether two answers are one page, though logs written between them shift it.

    Ids are left out: some servers number items by their position in the answer.
    """
    if not second.items:
        return False
    seen = {_identity(item) for item in first.items}
    shared = sum(1 for item in second.items if _identity(item) in seen)
    return 2 * shared > len(second.items)


def _identity(item: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in item.items() if k != "id"}, sort_keys=True, default=str)
