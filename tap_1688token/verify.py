"""The run's own check: the usage quota it delivered per day against the server's totals.

New API's stat endpoints sum the quota of usage logs (type 2) over a time range: for
every day a run read to its end, the logs it delivered must add up to that. A day the
run began inside (after its bookmark) is compared over the part it read.

The days are compared by halving, not one by one: one request for the whole span, and
only a range whose sums differ is split. A lost log only ever makes the delivered sum
smaller, so losses cannot hide one another; only a day delivering more than the server
counts could offset one delivering less, and that is no loss the tap can make (each log
is delivered once, by its key).
"""

from __future__ import annotations

import datetime
import operator
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import Any

import pendulum

from tap_1688token.stats import DayRange, day_start, halve
from tap_1688token.windows import Window

_ONE_DAY = datetime.timedelta(days=1)


class DayCheck:
    """The usage quota and logs of a run's records, per calendar day of `tz`."""

    def __init__(self, span: Window, tz: str) -> None:
        self.span = span
        self.tz = tz
        #: day -> [quota, logs] delivered
        self.delivered: dict[datetime.date, list[int]] = {}
        self._day_start = self._next_day_start = 0
        self._current = [0, 0]

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            # log_key begins with the log's second: no time text to parse
            seconds = int(record["log_key"].split("-", 1)[0])
            if not self._day_start <= seconds < self._next_day_start:
                day = pendulum.from_timestamp(seconds, tz=self.tz).date()
                self._day_start = day_start(day, self.tz)
                self._next_day_start = day_start(day + _ONE_DAY, self.tz)
                self._current = self.delivered.setdefault(day, [0, 0])
            self._current[0] += record["quota"] or 0
            self._current[1] += 1

    @property
    def first_day(self) -> datetime.date:
        return pendulum.from_timestamp(self.span.start, tz=self.tz).date()

    @property
    def last_closed_day(self) -> datetime.date:
        """The last day that ended within the span (its totals are final)."""
        return pendulum.from_timestamp(self.span.end + 1, tz=self.tz).date() - _ONE_DAY

    def day_end(self, day: datetime.date) -> int:
        return day_start(day + _ONE_DAY, self.tz) - 1

    def bounds(self, first: datetime.date, last: datetime.date) -> tuple[int, int]:
        """The seconds of days `first`..`last` the run read (Unix, inclusive): the first
        day of the span from where the run began in it (its bookmark), the others whole."""
        start = max(self.span.start, 1) if first == self.first_day else day_start(first, self.tz)
        return start, self.day_end(last)


def find_differences(
    delivered: list[int],
    ask: Callable[[DayRange], int],
    mapper: Callable[..., Iterable[int]] = map,
) -> dict[int, int]:
    """The server's figure for each day (an index into `delivered`) where they differ.

    `ask` gives the server's sum over a range of days: one request for the whole range,
    and only a range whose sums differ is halved (`stats.halve`).
    """
    before = [0, *accumulate(delivered)]  # before[i]: delivered on days 0..i-1

    def agrees(span: DayRange, server: int) -> bool:
        return server == before[span.last + 1] - before[span.first]

    return halve(len(delivered), ask, settled=agrees, subtract=operator.sub, mapper=mapper)
