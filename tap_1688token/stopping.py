"""Stopping a run on SIGTERM/SIGINT: within seconds, with whole lines, non-zero exit.

The SDK's own handler exits 0, so an orchestrator would record a run cut short as a
success. Here a signal sets the run's `Stop` (no thread sends another request, no
back-off or limiter wait goes on) and raises `Interrupted` in the main thread, unless
a message is being written: then the writer finishes that line and raises it itself.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

from tap_1688token.errors import Interrupted


class Stop:
    """Set once when the run must stop; every thread checks it before the next request."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum = 0

    def set(self, signum: int) -> None:
        self.signum = signum
        self._event.set()

    def check(self) -> None:
        if self._event.is_set():
            raise Interrupted(self.signum)


def install(stop: Stop, defer: Callable[[int], bool]) -> None:
    """Handle SIGTERM and SIGINT for this run; `defer(signum)` is True while writing."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers (and receives signals)

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set(signum)
        if not defer(signum):
            raise Interrupted(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)
