"""The self-check's search: the days whose delivered sums differ, found by halving."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from tap_1688token.stats import DayRange
from tap_1688token.verify import find_differences


def server(figures: list[int], asked: list[DayRange]):
    def ask(span: DayRange) -> int:
        asked.append(span)
        return sum(figures[span.first : span.last + 1])

    return ask


def test_agreeing_sums_cost_one_request_whatever_the_span():
    asked: list[DayRange] = []
    delivered = [5, 0, 7] * 7000  # some 57 years of days
    assert find_differences(delivered, server(delivered, asked)) == {}
    assert asked == [DayRange(0, len(delivered) - 1)]


def test_a_short_day_is_found_in_one_request_per_halving():
    delivered = [100] * 64
    figures = list(delivered)
    figures[37] += 12_345  # the server counts a page the list never served
    asked: list[DayRange] = []
    assert find_differences(delivered, server(figures, asked)) == {37: 100 + 12_345}
    assert len(asked) == 1 + int(math.log2(64))


days = st.tuples(st.integers(min_value=0, max_value=50), st.integers(min_value=0, max_value=20))


@given(st.lists(days, min_size=1, max_size=80))
def test_every_short_day_is_found(case):
    # A run only ever delivers less than the server counts (a log is delivered at most
    # once): every day it falls short on is named, with the server's figure.
    figures = [figure for figure, _ in case]
    delivered = [max(figure - lost, 0) for figure, lost in case]
    asked: list[DayRange] = []
    found = find_differences(delivered, server(figures, asked))
    short = enumerate(zip(figures, delivered, strict=True))
    assert found == {day: figure for day, (figure, got) in short if figure != got}
    assert len(asked) <= 1 + len(found) * math.ceil(math.log2(len(figures)) + 1)


def test_no_days_no_requests():
    asked: list[DayRange] = []
    assert find_differences([], server([], asked)) == {}
    assert asked == []
