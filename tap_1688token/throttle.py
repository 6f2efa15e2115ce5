"""One request budget shared by every thread: pacing, and what a 429 teaches.

New API's limiter (N requests per W seconds per client IP, sliding) answers a bare 429
with no hint of N or W. After the first block the throttle learns them: the requests
that succeeded since the run (or the last block) began, over the time until the server
let us through again, is the rate the limiter allows. From then on requests are spaced
at that rate, so a long backfill runs at the limiter's pace instead of bouncing off it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

#: while blocked, queued requests are released at least this far apart (no stampede)
PROBE_GAP = 0.25
#: bare 429s back off by this factor per consecutive block (capped)
BLOCK_GROWTH = 1.3
#: learned spacing is padded by this factor so the limiter is never quite full
MARGIN = 1.05
#: a learned rate is only an upper bound of the wait: every PROBE_EVERY requests without a
#: 429 the spacing shrinks by SPEED_UP, and a 429 while paced widens it by SLOW_DOWN
PROBE_EVERY = 30
SPEED_UP = 0.98
SLOW_DOWN = 1.15


class Throttle:
    def __init__(
        self,
        per_minute: int | None = None,
        *,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.floor = 60.0 / per_minute if per_minute else 0.0
        self.interval = self.floor
        self._learned = False
        self._paced_successes = 0
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0
        self._blocked_until = 0.0
        self._blocks = 0  # consecutive 429s since the last success
        self._streak_start: float | None = None
        self._streak_successes = 0
        self.limited_count = 0

    def reserve(self) -> float:
        """Book the caller's start time; return how long to wait for it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next, self._blocked_until)
            gap = max(self.interval, PROBE_GAP) if self._blocks else self.interval
            self._next = slot + gap
            return slot - now

    def succeeded(self, started: float) -> None:
        with self._lock:
            now = self._clock()
            if self._blocks:
                # The limiter let us through again: it allows about the requests of the
                # last streak per the time since that streak began.
                if self._streak_start is not None and self._streak_successes >= 2:
                    learned = (now - self._streak_start) / self._streak_successes * MARGIN
                    self.interval = max(self.interval, learned)
                    self._learned = True
                self._blocks = 0
                self._streak_start, self._streak_successes = now, 1
                return
            if self._streak_start is None:
                self._streak_start = started
            self._streak_successes += 1
            if self._learned:
                self._paced_successes += 1
                if self._paced_successes % PROBE_EVERY == 0:
                    self.interval = max(self.floor, self.interval * SPEED_UP)

    def limited(self, retry_after: float | None) -> float:
        """A 429: block every thread for a while; return the wait it imposes."""
        with self._lock:
            self.limited_count += 1
            self._blocks += 1
            if retry_after is not None:
                wait = retry_after
            else:
                # Gentle growth: the moment we are let through again measures the
                # limiter's window, so probes must not overshoot it by much.
                growth = BLOCK_GROWTH ** (self._blocks - 1)
                ceiling = min(self.backoff_cap, self.backoff_base * growth)
                wait = ceiling * random.uniform(0.85, 1.0)  # noqa: S311 - jitter
            if self._blocks == 1 and self.interval and self._streak_successes > 1:
                # Blocked although paced: too fast, or someone shares the budget.
                self.interval *= SLOW_DOWN
            now = self._clock()
            self._blocked_until = max(self._blocked_until, now + wait)
            return self._blocked_until - now
