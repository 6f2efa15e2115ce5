"""The shared throttle: pacing, Retry-After, and learning the limiter's rate."""

from __future__ import annotations

import pytest

from tap_1688token.throttle import BLOCK_GROWTH, MARGIN, PROBE_GAP, SLOW_DOWN, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacing_spaces_every_start():
    clock = Clock()
    throttle = Throttle(per_minute=120, clock=clock)
    assert [throttle.reserve() for _ in range(4)] == [0.0, 0.5, 1.0, 1.5]


def test_retry_after_blocks_every_thread_for_that_long():
    clock = Clock()
    throttle = Throttle(clock=clock)
    assert throttle.limited(7.0) == 7.0
    # Every caller, not only the one that met the 429, waits; queued ones are spread out.
    assert throttle.reserve() == pytest.approx(7.0)
    assert throttle.reserve() == pytest.approx(7.0 + PROBE_GAP)


def test_bare_429_backs_off_gently_with_jitter():
    clock = Clock()
    throttle = Throttle(backoff_base=1.0, backoff_cap=60.0, clock=clock)
    waits = []
    for _ in range(30):
        waits.append(throttle.limited(None))
        clock.now += waits[-1]
    assert 0.85 <= waits[0] <= 1.0
    assert 0.85 * BLOCK_GROWTH**2 <= waits[2] <= BLOCK_GROWTH**2
    assert all(w <= 60.0 for w in waits)
    assert waits[-1] >= 50.0
    assert sum(waits[:20]) > 180, "outlasts New API's 180 s window in 20 tries"


def test_learns_the_limiters_rate_after_one_block():
    # 60 requests allowed per 10 s: the first 60 go out in 1 s, then the limiter blocks.
    clock = Clock()
    throttle = Throttle(clock=clock)
    for i in range(60):
        clock.now = 100.0 + i / 60
        assert throttle.reserve() == 0.0
        throttle.succeeded(clock.now)
    clock.now = 101.0
    throttle.limited(None)
    clock.now = 110.2  # the oldest request aged out of the window: we are let through
    throttle.succeeded(clock.now)
    assert throttle.interval == pytest.approx(10.2 / 60 * MARGIN)
    clock.now = 111.0
    gaps = [throttle.reserve() for _ in range(3)]
    assert gaps[1] - gaps[0] == pytest.approx(throttle.interval)


def test_blocked_while_paced_slows_down():
    clock = Clock()
    throttle = Throttle(per_minute=60, clock=clock)
    for _ in range(5):
        throttle.succeeded(clock.now)
        clock.now += 1
    throttle.limited(None)
    assert throttle.interval == pytest.approx(SLOW_DOWN)


def test_a_learned_rate_creeps_up_but_never_past_the_users_pace():
    clock = Clock()
    throttle = Throttle(per_minute=600, clock=clock)
    throttle.succeeded(clock.now)
    throttle.succeeded(clock.now)
    throttle.limited(None)
    clock.now += 20
    throttle.succeeded(clock.now)
    learned = throttle.interval
    for _ in range(30):
        throttle.succeeded(clock.now)
    assert throttle.interval < learned
    for _ in range(30_000):
        throttle.succeeded(clock.now)
    assert throttle.interval == pytest.approx(0.1)
