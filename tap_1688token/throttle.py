"""One request budget shared by every thread: pacing, and what a 429 teaches.

New API's limiter allows N requests per sliding W seconds per client IP and answers a
bare 429 with no hint of N or W. The first block teaches both: the requests that went
through before it are N, and the time until a probe is let through again bounds W.
From then on the throttle keeps its own sliding window of N requests per W seconds, so a
long backfill runs at the limiter's pace (bursts included) instead of bouncing off it.

The limiter counts a request when it arrives, which the tap never sees: only that it
came after the request left and before its answer did. So every bound is taken on the
safe side of that span: the window is measured from the first start to the probe's
answer, and a request frees its slot a window after its answer, not its start. A margin
in proportion to the window would cost 9 s of every 180 s of New API's default limiter;
this costs a round trip.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

#: bare 429s back off by this factor per consecutive block (capped), once the limiter
#: is learned or when nothing was let through before the block
BLOCK_GROWTH = 1.3
#: Until the limiter is learned, probes go just after the first request let through
#: ages out of each of these windows (seconds) in turn: the moment a probe is let
#: through measures the window, and limiters are configured in round numbers (New
#: API's default is 180 requests per 180 s). Between guesses a probe overshoots by 50%
#: at most, where growing back-off overshoots by its factor on top of its jitter.
WINDOW_GUESSES = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900)
#: a guess is probed this much later (a factor, then seconds), for clock and latency jitter
GUESS_PAD = (1.01, 0.05)
#: Before any guess, one probe goes this soon after the first bare 429. A limiter at its
#: budget refuses it too (no window has passed); one that lets it through was not at its
#: budget (a proxy's hiccup, a fault), and the requests before it teach nothing: learned
#: from them, a 429 after the second request of a run paced it at 2 requests a second.
CONFIRM_WAIT = 0.05
#: a learned window is an upper bound: every PROBE_EVERY requests (or the budget, if
#: more: once a window at most) without a 429 it shrinks by SPEED_UP, and a 429 despite
#: it widens it by SLOW_DOWN. A window that met a 429 is too short: the window stays
#: ABOVE_TOO_SHORT times over the longest such one, so a long run settles instead of
#: meeting the limiter every few hundred requests. (Learned from a probe just past a
#: round-number guess, the window is within a round trip and 1.5 % of the limiter's: the
#: first shrink that goes below it costs a block, so it comes no sooner than a window in.)
PROBE_EVERY = 30
SPEED_UP = 0.99
SLOW_DOWN = 1.15
ABOVE_TOO_SHORT = 1.02
#: the first requests' answer times kept for the model of the limiter (a longer streak
#: than this before the first block means a budget the model need not follow exactly)
STREAK_MEMORY = 10_000


class _Start:
    """A request in the model of the limiter: when the limiter counted it, at the latest."""

    __slots__ = ("answered", "at")

    def __init__(self, at: float, answered: float | None = None) -> None:
        self.at = at
        self.answered = answered

    def counted_by(self, longest_trip: float) -> float:
        # Still on its way: it is counted before its answer comes, which none so far took
        # longer than `longest_trip` to do.
        return self.answered if self.answered is not None else self.at + longest_trip


class Booking(NamedTuple):
    """A start booked: how long to wait for it, and the blocks seen as it was booked."""

    wait: float
    blocks: int


class Throttle:
    def __init__(
        self,
        per_minute: int | None = None,
        *,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        #: the user's pacing (max_requests_per_minute): seconds between starts
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._clock = clock
        self._lock = threading.Condition()
        self._next = 0.0
        self._blocked_until = 0.0
        self._blocks = 0  # consecutive blocks since the last request let through
        self._escalated_at = float("-inf")
        self._probe: int | None = None  # while blocked, the one thread testing the limiter
        self._streak_start: float | None = None
        self._streak = 0  # requests let through before the first block
        #: when each of them was answered
        self._streak_answers: deque[float] = deque(maxlen=STREAK_MEMORY)
        #: whether the latest block came from a bare 429
        self._bare = True
        #: whether the probe under way is the one that confirms a first bare 429
        self._confirming = False
        #: the limiter as learned: at most `budget` requests per `window` seconds
        self.budget: int | None = None
        self.window = 0.0
        self._starts: deque[_Start] = deque()
        #: each thread's latest start in the model, until its request is over
        self._mine: dict[int, _Start] = {}
        #: the longest a request let through took from its start to its answer
        self._longest_trip = 0.0
        self._quiet = 0
        self._too_short = 0.0  # the longest learned window that still met a 429
        #: blocks so far: a caller that slept towards a start booked before the latest
        #: block books again rather than go at a pace the limiter just refused
        self.blocks_seen = 0

    def reserve(self) -> float:
        """Book the caller's start time; return how long to wait for it."""
        return self.book().wait

    def book(self) -> Booking:
        """Book the caller's start time: how long to wait for it, and the blocks seen then.

        While blocked, one caller probes and the others wait here for its answer, so a
        closed limiter sees one request per round, not one per thread.
        """
        with self._lock:
            while self._blocks and self._probe is not None:
                self._lock.wait(timeout=1.0)
            if self._blocks:
                self._probe = threading.get_ident()
            now = self._clock()
            slot = max(now, self._next, self._blocked_until)
            if self.budget is not None:
                if len(self._starts) >= self.budget:
                    oldest = self._starts[0].counted_by(self._longest_trip)
                    slot = max(slot, oldest + self.window)
                start = self._mine[threading.get_ident()] = _Start(slot)
                self._starts.append(start)
                while len(self._starts) > self.budget:
                    self._starts.popleft()
            self._next = slot + self.interval
            return Booking(slot - now, self.blocks_seen)

    def release(self) -> None:
        """The caller's request is over, whatever its outcome."""
        with self._lock:
            me = threading.get_ident()
            self._mine.pop(me, None)
            if self._probe == me:
                self._probe = None
                self._lock.notify_all()

    def succeeded(self, started: float) -> None:
        """A request sent at `started` was let through (any answer but 429)."""
        with self._lock:
            now = self._clock()
            self._longest_trip = max(self._longest_trip, now - started)
            mine = self._mine.get(threading.get_ident())
            if mine is not None:
                mine.answered = now
            probe = self._blocks and started >= self._escalated_at
            if probe and self._confirming:
                # Refused once, let through at once: no limiter at its budget. The block
                # is over, and the request counts like any other let through.
                self._blocks = 0
                self._confirming = False
            elif probe:
                # A probe let through: the block is over. (A request sent before the
                # block and answered after it was let through before it: it counts
                # into the budget below, and says nothing of the window.)
                if (
                    self.budget is None
                    and self._streak >= 2
                    and self._streak_start is not None
                    and self._bare
                ):
                    self.budget = self._streak
                    # Counted after the streak's first start, before this answer: the
                    # window is at most that long.
                    self.window = now - self._streak_start
                    # The limiter still counts the streak's latest requests and this probe:
                    # a slot frees as each of them ages out, not all at once. (Answers are
                    # noted as they come, under the lock: already in order.)
                    latest = list(self._streak_answers)[-(self.budget - 1) :]
                    self._starts = deque(_Start(at, at) for at in [*latest, now])
                self._blocks = 0
                return
            if self.budget is None:
                if self._streak_start is None or started < self._streak_start:
                    self._streak_start = started
                self._streak += 1
                self._streak_answers.append(now)
                return
            self._quiet += 1
            if self._quiet % max(PROBE_EVERY, self.budget) == 0:
                self.window = max(self.window * SPEED_UP, self._too_short * ABOVE_TOO_SHORT)

    def limited(self, retry_after: float | None, started: float) -> float:
        """A 429 for a request sent at `started`: block every thread; return the wait."""
        with self._lock:
            now = self._clock()
            if started < self._escalated_at and retry_after is None:
                # Sent in the same round as a 429 already counted: wait with it.
                return max(0.0, self._blocked_until - now)
            self._escalated_at = now
            self._blocks += 1
            self.blocks_seen += 1
            # A limiter that says how long to wait needs no model of it: only the blocks
            # of a bare 429 (New API's) teach one, and only they mean the model ran too fast.
            self._bare = retry_after is None
            if self._blocks == 1 and self.budget is not None and self._bare:
                # too fast, or someone shares the budget
                self._too_short = max(self._too_short, self.window)
                self.window *= SLOW_DOWN
            learning = self._bare and self.budget is None and self._streak_start is not None
            self._confirming = learning and self._blocks == 1
            if retry_after is not None:
                wait = retry_after
            elif self._confirming:
                wait = CONFIRM_WAIT
            elif learning:
                wait = min(self.backoff_cap, self._next_guess(now) - now)
            else:
                growth = BLOCK_GROWTH ** (self._blocks - 1)
                ceiling = min(self.backoff_cap, self.backoff_base * growth)
                wait = ceiling * random.uniform(0.85, 1.0)  # noqa: S311 - jitter
            self._blocked_until = max(self._blocked_until, now + wait)
            return self._blocked_until - now

    def _next_guess(self, now: float) -> float:
        """When the first request let through leaves the next window worth trying."""
        assert self._streak_start is not None
        factor, seconds = GUESS_PAD
        for guess in WINDOW_GUESSES:
            at = self._streak_start + guess * factor + seconds
            if at > now + seconds:
                return at
        return now + self.backoff_cap
