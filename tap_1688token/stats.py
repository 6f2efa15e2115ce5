"""The server's own daily totals: day boundaries, answer shapes, and a cheap search.

New API answers `/api/log/stat` with `{"quota", "rpm", "tpm"}` where only `quota`
depends on the range asked (rpm/tpm are the last 60 seconds); other gateways answer
with rows per day and model. Every day is asked for with its own first and last
instant in the chosen time zone, but ranges whose total is zero are answered for
all their days at once, and a range's right half is its total minus its left half,
so an account's empty years cost a handful of requests.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pendulum

from tap_1688token.errors import GatewayError

T = TypeVar("T")

#: aggregates that are sums over the range, by the names servers give them
ADDITIVE_FIELDS = {
    "quota": "quota",
    "count": "request_count",
    "request_count": "request_count",
    "requests": "request_count",
    "prompt_tokens": "prompt_tokens",
    "completion_tokens": "completion_tokens",
    "token_used": "total_tokens",
    "tokens": "total_tokens",
    "total_tokens": "total_tokens",
}
#: not about the range asked: New API's last-60-seconds rates, and "today" counters
_IGNORED = {"rpm", "tpm", "date", "day", "model_name", "model", "created_at"}

#: model name -> typed aggregates; WHOLE_DAY holds the whole-range total
Totals = dict[str, dict[str, int]]
#: the key of the whole-range total among a `Totals`' models (rows without a model name
#: count towards it only)
WHOLE_DAY = ""


@dataclass(frozen=True)
class DayRange:
    """Days `first`..`last` (indexes into the run's day list), both inclusive."""

    first: int
    last: int


def day_start(day: datetime.date, tz: str) -> int:
    return int(pendulum.datetime(day.year, day.month, day.day, tz=tz).timestamp())


def days_between(start: int, end: int, tz: str) -> list[datetime.date]:
    """Calendar days of `tz` from the one holding `start` to the one holding `end`."""
    first = pendulum.from_timestamp(start, tz=tz).date()
    last = pendulum.from_timestamp(end, tz=tz).date()
    count = (last - first).days + 1
    return [first + datetime.timedelta(days=i) for i in range(max(count, 0))]


def parse_totals(data: Any, path: str) -> Totals:
    """A stat answer as totals per model, whatever its shape."""
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if isinstance(data, dict):
        return {"": _aggregates(data)}
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        msg = f"{path}: unexpected `data`: {str(data)[:120]!r}"
        raise GatewayError(msg)
    totals: Totals = {"": {"quota": 0}}
    for row in data:
        model = str(row.get("model_name") or row.get("model") or "")
        # Rows the server splits further (e.g. by its own UTC dates) sum into one.
        for target in {model, ""}:
            into = totals.setdefault(target, {"quota": 0})
            for field, value in _aggregates(row).items():
                into[field] = into.get(field, 0) + value
    return totals


def _aggregates(row: dict[str, Any]) -> dict[str, int]:
    result: dict[str, int] = {"quota": 0}
    for name, value in row.items():
        if name in _IGNORED or name.startswith("today") or name not in ADDITIVE_FIELDS:
            continue
        finite = not isinstance(value, float) or math.isfinite(value)
        if isinstance(value, bool) or not isinstance(value, int | float | None) or not finite:
            msg = f"stat field {name!r} is not a number: {value!r:.40}"
            raise GatewayError(msg)
        result[ADDITIVE_FIELDS[name]] = result.get(ADDITIVE_FIELDS[name], 0) + int(value or 0)
    return result


def subtract(whole: Totals, part: Totals) -> Totals:
    """Totals of the rest of a range: every field is a sum, so it subtracts exactly."""
    rest: Totals = {}
    for model, fields in whole.items():
        taken = part.get(model, {})
        left = {field: value - taken.get(field, 0) for field, value in fields.items()}
        if model == "" or any(left.values()):
            rest[model] = left
    return rest


def is_empty(totals: Totals) -> bool:
    return not any(value for fields in totals.values() for value in fields.values())


class DaySearch:
    """Yields `(day, totals)` for every day, ascending, asking only where usage is.

    The search goes a level at a time: the left halves of every range of a level that
    holds usage on more than one day are independent, so they are asked together
    (through `mapper`, e.g. a thread pool's map), and the right halves follow by
    subtraction.
    """

    def __init__(
        self,
        days: list[datetime.date],
        ask: Callable[[DayRange], Totals],
        *,
        skip_leading_empty: bool,
        mapper: Callable[..., Iterable[Totals]] = map,
    ) -> None:
        self.days = days
        self.ask = ask
        self.mapper = mapper
        self.skip_leading_empty = skip_leading_empty

    def __iter__(self) -> Iterator[tuple[datetime.date, Totals]]:
        if not self.days:
            return
        found = self._resolve()
        seen_usage = not self.skip_leading_empty
        for index, day in enumerate(self.days):
            totals = found.get(index)
            if totals is not None:
                seen_usage = True
            if seen_usage:
                yield day, totals or {"": {"quota": 0}}

    def _resolve(self) -> dict[int, Totals]:
        """Totals of each day with usage, by index; days without are left out."""
        return halve(
            len(self.days),
            self.ask,
            settled=lambda _span, totals: is_empty(totals),
            subtract=subtract,
            mapper=self.mapper,
        )


def halve(
    days: int,
    ask: Callable[[DayRange], T],
    *,
    settled: Callable[[DayRange, T], bool],
    subtract: Callable[[T, T], T],
    mapper: Callable[..., Iterable[T]] = map,
) -> dict[int, T]:
    """The server's answer for each of `days` days that is not `settled`, by index.

    `ask` gives the server's answer (a sum) over a range of days. The whole range is
    asked once; a range not settled is halved, a level at a time, asking only the left
    halves (together, through `mapper`): a right half's answer is its range's minus its
    left's. Settled ranges cost nothing more.
    """
    if days < 1:
        return {}
    whole = DayRange(0, days - 1)
    level = [(whole, ask(whole))]
    found: dict[int, T] = {}
    while level:
        split = []
        for span, answer in level:
            if settled(span, answer):
                continue
            if span.first == span.last:
                found[span.first] = answer
            else:
                split.append((span, answer))
        lefts = [DayRange(span.first, (span.first + span.last) // 2) for span, _ in split]
        answers = list(mapper(ask, lefts))
        level = []
        for (span, answer), left, left_answer in zip(split, lefts, answers, strict=True):
            right = DayRange(left.last + 1, span.last)
            level += [(left, left_answer), (right, subtract(answer, left_answer))]
    return found
