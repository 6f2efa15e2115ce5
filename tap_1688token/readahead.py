"""Produce the next item of an iterator on a thread while the caller handles this one.

The log walk is network-bound and record emission is CPU-bound: reading the next
window while the current one is written hides one behind the other. At most `depth`
items wait in the queue, so memory stays bounded by a window or two.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def read_ahead(source: Iterable[T], depth: int = 1) -> Iterator[T]:
    # An item travels as a 1-tuple, so any value (None too) is told from the end (None)
    # and from a failure.
    buffer: queue.Queue[tuple[T] | _Failure | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[T] | _Failure | None) -> bool:
        while not stop.is_set():
            try:
                buffer.put(entry, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for item in source:
                if not put((item,)):
                    return
        except BaseException as exc:  # handed to the consumer, re-raised there
            put(_Failure(exc))
            return
        put(None)

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            entry = buffer.get()
            if entry is None:
                break
            if isinstance(entry, _Failure):
                raise entry.error
            yield entry[0]
    except GeneratorExit:
        stop.set()
        worker.join()
        raise
    except BaseException:
        # Failing or stopped: the worker may be inside a request; it sees `stop` after
        # it and ends on its own, unwaited for.
        stop.set()
        raise
    stop.set()
    worker.join()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
