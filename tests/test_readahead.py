"""read_ahead: same items in the same order, errors re-raised, the producer stopped."""

from __future__ import annotations

import threading

import pytest

from tap_1688token.readahead import read_ahead


def test_same_items_in_order():
    assert list(read_ahead(iter(range(1000)), depth=2)) == list(range(1000))


def test_an_error_reaches_the_consumer_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise ValueError("boom")

    seen = []
    with pytest.raises(ValueError, match="boom"):
        seen.extend(read_ahead(source()))
    assert seen == [1, 2]


def test_closing_early_stops_the_producer():
    produced = []

    def source():
        for i in range(10_000):
            produced.append(i)
            yield i

    reader = read_ahead(source(), depth=1)
    assert next(reader) == 0
    reader.close()
    assert len(produced) <= 4
    assert not any(t.name == "read-ahead" for t in threading.enumerate())
