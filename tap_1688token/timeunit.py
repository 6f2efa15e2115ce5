"""Which unit a server reads `start_timestamp`/`end_timestamp` in.

New API reads seconds, the vendor's page says milliseconds, and a bound in the wrong
unit silently selects nothing. Two facts decide it with at most two requests over all
history up to the run's upper bound `upper` (seconds):

- in seconds, `[1, upper]` holds every log a seconds server has up to `upper`, while a
  milliseconds server reads it as January 1970 and finds nothing;
- in milliseconds, a milliseconds server finds logs no newer than `upper`, while a
  seconds server reads the end as far in the future and also shows newer ones.
"""

from __future__ import annotations

from collections.abc import Callable

SECONDS = "s"
MILLISECONDS = "ms"

#: probe(start, end) -> (total, created_at of the newest item or None), bounds on the wire
Probe = Callable[[int, int], tuple[int, int | None]]


def to_wire(seconds: int, unit: str, *, end: bool = False) -> int:
    """A bound in seconds as sent: an end bound in ms covers its whole last second."""
    if unit == MILLISECONDS:
        return seconds * 1000 + (999 if end else 0)
    return seconds


def detect(probe: Probe, upper: int) -> str | None:
    """The server's unit, or None when it holds no log up to `upper` in either reading."""
    total, _ = probe(to_wire(1, SECONDS), to_wire(upper, SECONDS, end=True))
    if total > 0:
        return SECONDS
    total, newest = probe(to_wire(1, MILLISECONDS), to_wire(upper, MILLISECONDS, end=True))
    if total == 0 or newest is None:
        return None
    return MILLISECONDS if newest <= upper else SECONDS
