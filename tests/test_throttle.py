"""The shared throttle: pacing, Retry-After, and learning the limiter's rate."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable

import pytest

from tap_1688token.api import ApiClient
from tap_1688token.settings import Settings
from tap_1688token.throttle import (
    BLOCK_GROWTH,
    CONFIRM_WAIT,
    GUESS_PAD,
    SLOW_DOWN,
    SPEED_UP,
    WINDOW_GUESSES,
    Throttle,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _confirmed(throttle: Throttle, clock: Clock) -> None:
    """The probe right after a first bare 429 is refused too: a limiter at its budget."""
    clock.now += CONFIRM_WAIT
    throttle.reserve()
    throttle.limited(None, clock.now)
    throttle.release()


def test_pacing_spaces_every_start():
    clock = Clock()
    throttle = Throttle(per_minute=120, clock=clock)
    assert [throttle.reserve() for _ in range(4)] == [0.0, 0.5, 1.0, 1.5]


def test_retry_after_blocks_every_thread_for_that_long():
    clock = Clock()
    throttle = Throttle(clock=clock)
    assert throttle.limited(7.0, clock.now) == 7.0
    # Every caller, not only the one that met the 429, waits; while blocked one request
    # at a time probes the limiter and the others wait for its answer.
    assert throttle.reserve() == pytest.approx(7.0)
    throttle.release()
    assert throttle.reserve() == pytest.approx(7.0)
    throttle.release()


def test_bare_429_backs_off_gently_with_jitter():
    clock = Clock()
    throttle = Throttle(backoff_base=1.0, backoff_cap=60.0, clock=clock)
    waits = []
    for _ in range(30):
        waits.append(throttle.limited(None, clock.now))
        clock.now += waits[-1]
    assert 0.85 <= waits[0] <= 1.0
    assert 0.85 * BLOCK_GROWTH**2 <= waits[2] <= BLOCK_GROWTH**2
    assert all(w <= 60.0 for w in waits)
    assert waits[-1] >= 50.0
    assert sum(waits[:20]) > 180, "outlasts New API's 180 s window in 20 tries"


def test_learns_the_limiters_window_after_one_block():
    # 60 requests allowed per 10 s: the first 60 go out in 1 s, then the limiter blocks.
    clock = Clock()
    throttle = Throttle(clock=clock)
    for i in range(60):
        clock.now = 100.0 + i / 60
        assert throttle.reserve() == 0.0
        throttle.succeeded(clock.now)
        throttle.release()
    clock.now = 101.0
    throttle.limited(None, clock.now)
    _confirmed(throttle, clock)
    clock.now = 110.2  # the oldest request aged out of the window: a probe goes through
    throttle.reserve()
    throttle.succeeded(clock.now)
    throttle.release()
    assert throttle.budget == 60
    assert throttle.window == pytest.approx(10.2)
    # The limiter still counts the first requests (and the probe): a slot frees as each
    # of them ages out of the learned window, not all 60 at once.
    waits = [throttle.reserve() for _ in range(60)]
    streak = [100.0 + i / 60 for i in range(1, 60)]
    assert waits == pytest.approx(
        [t + throttle.window - clock.now for t in streak] + [throttle.window]
    )


def test_a_bare_429_let_through_at_once_teaches_nothing():
    # A proxy's hiccup, or a fault, after the second request of a run: the probe right
    # after it goes through, so no limiter was at its budget. Learned from, the two
    # requests before it paced a 20,000-log run at 2 a second: 195 s instead of 2.
    clock = Clock()
    throttle = Throttle(clock=clock)
    _burst(throttle, clock, 2, spread=0.01)
    clock.now = 100.02
    assert throttle.limited(None, clock.now) == pytest.approx(CONFIRM_WAIT)
    clock.now += CONFIRM_WAIT
    assert throttle.reserve() == pytest.approx(0.0)
    throttle.succeeded(clock.now)
    throttle.release()
    assert throttle.budget is None
    assert [throttle.reserve() for _ in range(100)] == [0.0] * 100


def test_a_429_that_says_how_long_is_waited_out_and_teaches_nothing():
    # A gateway (or a proxy) answering 429 with Retry-After needs no model of its limiter.
    clock = Clock()
    throttle = Throttle(clock=clock)
    for i in range(60):
        clock.now = 100.0 + i / 60
        throttle.reserve()
        throttle.succeeded(clock.now)
        throttle.release()
    clock.now = 101.0
    assert throttle.limited(1.0, clock.now) == pytest.approx(1.0)
    clock.now = 102.0
    throttle.reserve()
    throttle.succeeded(clock.now)
    throttle.release()
    assert throttle.budget is None
    assert throttle.reserve() == 0.0  # no pace was learned: the next request goes at once


def test_blocked_despite_the_model_slows_down():
    clock = Clock()
    throttle = Throttle(clock=clock)
    throttle.succeeded(clock.now)
    throttle.succeeded(clock.now)
    throttle.limited(None, clock.now)
    _confirmed(throttle, clock)
    clock.now += 20
    throttle.succeeded(clock.now)
    learned = throttle.window
    clock.now += 1
    throttle.limited(None, clock.now)
    assert throttle.window == pytest.approx(learned * SLOW_DOWN)
    clock.now += 30
    throttle.succeeded(clock.now)
    for _ in range(30):
        throttle.succeeded(clock.now)
    assert throttle.window < learned * SLOW_DOWN


def test_429s_of_one_round_count_as_one_block():
    # Four workers in flight meet the same closed limiter: one block, not four.
    clock = Clock()
    throttle = Throttle(clock=clock)
    sent = clock.now
    clock.now += 0.01
    first = throttle.limited(None, sent)
    others = [throttle.limited(None, sent) for _ in range(3)]
    assert all(w <= first for w in others)
    clock.now += first
    again = throttle.limited(None, clock.now - 0.001)
    assert again >= 0.85 * BLOCK_GROWTH  # the next round escalates once


def _burst(throttle, clock, n, *, start=100.0, spread=1.0):
    for i in range(n):
        clock.now = start + spread * i / n
        assert throttle.reserve() == 0.0
        throttle.succeeded(clock.now)
        throttle.release()


def test_first_block_probes_just_past_round_windows():
    # 60 per 10 s: 60 go out in the first second, the 61st is refused at 101.0.
    clock = Clock()
    throttle = Throttle(clock=clock)
    _burst(throttle, clock, 60)
    clock.now = 101.0
    probes = []
    wait = throttle.limited(None, clock.now)
    while True:
        clock.now += wait
        assert throttle.reserve() == pytest.approx(0.0)
        probes.append(clock.now)
        if clock.now - 100.0 >= 10.0:  # the limiter lets it through
            throttle.succeeded(clock.now)
            throttle.release()
            break
        throttle.release()
        clock.now += 0.01
        wait = throttle.limited(None, clock.now - 0.01)
    factor, seconds = GUESS_PAD
    expected = [100.0 + g * factor + seconds for g in WINDOW_GUESSES if g <= 10]
    # at once (refused: a limiter at its budget; the 1 s guess would follow it within
    # 0.01 s, and is left out), then 2, 3 and 5 s refused
    assert probes == pytest.approx([101.0 + CONFIRM_WAIT, *expected[1:]])
    assert throttle.budget == 60
    assert 10.0 < throttle.window <= 10.0 * factor + seconds


def test_a_learned_window_shrinks_once_a_budget_by_a_percent():
    # Learned from a probe just past a round-number guess, the window is within 1.5 % of
    # the limiter's: shrinking it sooner, or by more, met a 429 in the third window.
    clock = Clock()
    throttle = Throttle(clock=clock)
    _burst(throttle, clock, 60)
    clock.now = 101.0
    throttle.limited(None, clock.now)
    clock.now = 110.2
    throttle.reserve()
    throttle.succeeded(clock.now)
    throttle.release()
    learned = throttle.window
    for _ in range(59):
        throttle.succeeded(clock.now)
    assert throttle.window == learned
    throttle.succeeded(clock.now)
    assert throttle.window == pytest.approx(learned * SPEED_UP)
    assert SPEED_UP == 0.99


def test_answers_to_requests_sent_before_the_block_do_not_end_it():
    clock = Clock()
    throttle = Throttle(clock=clock)
    _burst(throttle, clock, 57)
    in_flight = [clock.now + 0.001 * i for i in range(1, 4)]  # sent, not yet answered
    clock.now = 101.0
    wait = throttle.limited(None, 100.99)
    clock.now = 101.01
    for started in in_flight:  # let through before the block, answered after it
        throttle.succeeded(started)
    assert throttle.budget is None, "nothing was learned from them"
    assert throttle.reserve() == pytest.approx(101.0 + wait - clock.now)  # still blocked
    throttle.limited(None, clock.now)  # the probe at once is refused
    throttle.release()
    clock.now = 110.2
    throttle.succeeded(clock.now)
    assert throttle.budget == 60  # 57 + the 3 answered late


def _through_limiter(
    requests: int,
    budget: int,
    window: float,
    *,
    trip: float = 0.01,
    counted: Callable[[int], float] = lambda i: 0.0,
) -> tuple[float, list[float]]:
    """One worker behind New API's limiter (a log of allowed arrival times), fake time.

    Each request takes `trip` seconds from its start to its answer; the limiter counts
    request i `counted(i)` of the way there.
    """
    clock = Clock()
    throttle = Throttle(clock=clock)
    allowed: deque[float] = deque()
    refused, done, start = [], 0, clock.now
    for i in itertools.count():
        if done == requests:
            break
        clock.now += max(throttle.reserve(), 0.0)
        started = clock.now
        arrived = started + trip * counted(i)
        if len(allowed) >= budget and arrived - allowed[0] >= window:
            allowed.popleft()
        clock.now += trip
        if len(allowed) < budget:
            allowed.append(arrived)
            throttle.succeeded(started)
            done += 1
        else:
            refused.append(started - start)
            throttle.limited(None, started)
        throttle.release()
    return clock.now - start, refused


def test_the_model_holds_wherever_in_a_round_trip_the_limiter_counts():
    # The limiter counts a request when it arrives: after it left, before its answer,
    # anywhere in between. 5 per 10 s, round trips of a second, and the requests counted
    # at their start and at their answer in turn: after the block that teaches the limiter,
    # none is refused. (A margin of 5 % on start times met one more 429, and took 58.6 s.)
    elapsed, refused = _through_limiter(
        25, 5, 10.0, trip=1.0, counted=lambda i: 0.0 if i % 2 == 0 else 1.0
    )
    learned = [t for t in refused if t < 2 * 10.0]
    assert refused == learned
    assert elapsed < 5 * 10.0 + 5 * 1.0  # five windows and a round trip each


@pytest.mark.parametrize(("budget", "window"), [(60, 10.0), (30, 3.0), (360, 180.0)])
def test_a_long_run_settles_under_the_limiter(budget, window):
    requests = 50 * budget
    elapsed, refused = _through_limiter(requests, budget, window)
    floor = requests * window / budget
    assert elapsed <= 1.04 * floor
    learned = [t for t in refused if t < 2 * window]  # the first block and its probes
    assert len(refused) - len(learned) <= 2, refused


def test_a_start_booked_before_a_block_waits_the_block_out():
    clock = Clock()
    slept: list[float] = []
    client = ApiClient(
        Settings.from_config({"api_key": "token", "base_url": "http://127.0.0.1:9"}),
        sleep=lambda s: None,
    )
    client.throttle = throttle = Throttle(per_minute=60, clock=clock)
    throttle.reserve()  # another request starts now; ours is booked a second later
    throttle.release()

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds
        if len(slept) == 1:  # meanwhile, another request meets a 429
            throttle.limited(None, clock.now - 0.5)

    client._sleep = sleep
    client._book()
    throttle.release()
    assert slept[0] == pytest.approx(1.0)
    assert len(slept) == 2, "booked again after the block"
    assert slept[1] >= 0.85 * 1.0 - 1e-9  # the block's back-off


def test_a_start_booked_after_waiting_out_a_probe_goes_once():
    # Threads wait in `book` while another probes a closed limiter. A start booked once
    # the probe is answered already knows every block so far: it is not booked again (a
    # second booking would hold one of the learned model's slots with no request at it).
    clock = Clock()
    client = ApiClient(
        Settings.from_config({"api_key": "token", "base_url": "http://127.0.0.1:9"}),
        sleep=lambda s: None,
    )
    client.throttle = throttle = Throttle(clock=clock)
    throttle.limited(None, clock.now)  # the limiter closes
    throttle.book()  # this thread probes it
    slept: list[float] = []
    client._sleep = slept.append
    waiting = threading.Thread(target=client._book)
    waiting.start()
    time.sleep(0.2)  # it waits for the probe's answer
    assert waiting.is_alive()
    clock.now += 1.0
    throttle.limited(None, clock.now)  # the probe is refused: a second block
    throttle.release()
    waiting.join(timeout=5)
    assert not waiting.is_alive()
    assert len(slept) == 1, f"booked {len(slept)} times"
