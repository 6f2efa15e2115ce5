"""Every stream's first requests, sent together as a run starts rather than each in its turn.

Streams are written one after another, and each used to begin with a few requests in series
(page 1 of its span, a listing, a sum), so a run paid every stream's first round trips one
after the other. Here each stream's opening (the calls it will make first) runs in a pool as
the run starts; a request made there is kept, and when the stream makes the same request in
its turn it gets that answer (waiting for it if it is still on its way) instead of asking
again. What the streams write, and in what order, does not change: an answer is the same
whenever it is fetched within a run, whose time bound is fixed before anything is asked.

Nothing here does HTTP: it is given the function that does.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

LOGGER = logging.getLogger("tap-1688token")
T = TypeVar("T")

#: `fetch(path, params, ahead=..., step=...)`: `ahead` for a request sent before its
#: stream's turn, `step` for a search's step (a sum the next request waits for)
Fetch = Callable[..., dict[str, Any]]
Key = tuple[str, tuple[tuple[str, str], ...]]


def _key(path: str, params: Mapping[str, Any]) -> Key:
    return path, tuple(sorted((name, str(value)) for name, value in params.items()))


class Openings:
    """Answers fetched ahead, each handed out once, to the first identical request."""

    def __init__(self, fetch: Fetch, *, look_ahead: int = 0) -> None:
        self._fetch = fetch
        #: answers that may be kept at once beyond the streams' first requests, unasked
        #: for: one bound for the run, so what waits for its turn is bounded whatever the
        #: streams. A unit is given back when its answer is handed out.
        self._look_ahead = look_ahead
        self._lock = threading.Lock()
        self._kept: dict[Key, Future[dict[str, Any]]] = {}
        #: kept answers that hold a unit of the look-ahead
        self._counted: set[Key] = set()
        #: requests waiting for the look-ahead, by stream, in the order streams are written
        self._queued: dict[str, deque[tuple[Key, str, Mapping[str, Any]]]] = {}
        #: streams whose opening is over: all their requests are asked or queued
        self._opened: set[str] = set()
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        #: each stream's opening, by stream name, until the stream's turn
        self._begun: dict[str, Future[None]] = {}

    def get(self, path: str, params: Mapping[str, Any], *, step: bool = False) -> dict[str, Any]:
        """The answer to a request: one fetched ahead if there is one, else fetched now."""
        key = _key(path, params)
        if getattr(self._local, "opening", False):
            return self._fetch_ahead(key, path, params, step=step)
        with self._lock:
            kept = self._kept.pop(key, None)
            if key in self._counted:
                self._counted.discard(key)
                self._look_ahead += 1
                self._send_queued()
        if kept is not None:
            try:
                return kept.result()
            except Exception:  # noqa: S110 - asked again below, with retries of its own
                # An opening that failed (its retries spent, perhaps in a passing outage)
                # does not fail the stream: the stream asks in its turn, as it always did.
                pass
        return self._fetch(path, params, ahead=False)

    def _fetch_ahead(
        self, key: Key, path: str, params: Mapping[str, Any], *, step: bool
    ) -> dict[str, Any]:
        future, mine = self._register(key)
        if not mine:
            return future.result()  # two openings asking alike share one request
        return self._send(future, path, params, step=step)

    def _register(self, key: Key) -> tuple[Future[dict[str, Any]], bool]:
        """The answer kept for `key`, and whether it is new (the caller's to send).

        Registered before it is sent, so a request asking meanwhile waits for it."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                return kept, False
            future: Future[dict[str, Any]] = Future()
            self._kept[key] = future
            return future, True

    def _send(
        self,
        future: Future[dict[str, Any]],
        path: str,
        params: Mapping[str, Any],
        *,
        step: bool = False,
    ) -> dict[str, Any]:
        """Fetch a registered request ahead; its answer (or failure) goes to `future`."""
        future.set_running_or_notify_cancel()
        try:
            answer = self._fetch(path, params, ahead=True, step=step)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        future.set_result(answer)
        return answer

    def start(self, openings: Mapping[str, Callable[[], object]], workers: int) -> None:
        """Run each stream's opening in a pool of `workers` threads; return at once."""
        if workers < 2:
            return  # strictly sequential: every request in its turn
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="opening")
        # Under the lock: an opening already running finds itself in `_begun` (see `queue`).
        with self._lock:
            for name, opening in openings.items():
                self._queued[name] = deque()  # in the order the streams will be written
                self._begun[name] = self._pool.submit(self._open, name, opening)

    def send_ahead(self, path: str, params: Mapping[str, Any]) -> None:
        """Send one request without waiting for it: on the openings' threads once they run
        (behind the openings themselves), before that on a thread of its own (see `aside`).
        Its answer is kept for the first identical request, registered before this returns
        so that one asked at once waits for it rather than asking again."""
        key = _key(path, params)
        # A failure is kept for the request that asks; it asks again (see `get`).
        with self._lock:
            if key in self._kept:
                return
            if self._pool is not None:
                self._submit(key, path, params)
                return
        future, mine = self._register(key)
        if mine:
            self.aside(self._send, future, path, params)

    def queue(self, requests: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """From an opening: more requests its stream's turn will make (a window's later
        pages), sent ahead as the look-ahead allows. Those it does not allow yet wait,
        earlier streams' first, until answers kept are handed out; those of a stream whose
        turn has come are dropped (the stream asks for them itself, first in line)."""
        stream = getattr(self._local, "stream", None)
        # Made before the lock is taken: the caller's code never runs under it.
        entries = [(_key(path, params), path, params) for path, params in requests]
        with self._lock:
            waiting = self._queued.get(stream) if stream in self._begun else None
            if waiting is None:
                return
            waiting.extend(entries)
            self._send_queued()

    def _send_queued(self) -> None:
        """Send what waits for the look-ahead, as far as it goes (under the lock).

        In the order streams are written, whenever their openings end: the look-ahead
        goes to the next stream to be written, whose answers are taken first and so give
        it back soonest. A later stream's requests wait until every earlier stream's
        opening is over, and then behind those requests."""
        for name, waiting in self._queued.items():
            while waiting and self._look_ahead > 0:
                key, path, params = waiting.popleft()
                if key not in self._kept and self._submit(key, path, params):
                    self._look_ahead -= 1
                    self._counted.add(key)
            if waiting or name not in self._opened:
                return

    def _submit(self, key: Key, path: str, params: Mapping[str, Any]) -> bool:
        """Send a request ahead on the openings' threads (under the lock); False once the
        run is over."""
        if self._pool is None:
            return False
        try:
            # The pool's own future: one the run's end drops from the queue is cancelled,
            # so whoever waits for it asks for itself (see `get`).
            self._kept[key] = self._pool.submit(self._fetch, path, params, ahead=True)
        except RuntimeError:  # shut down: the run is over
            return False
        return True

    def aside(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """`call(*args, **kwargs)` on a thread of its own, its requests sent ahead like an
        opening's.

        The thread is a daemon: a run that ends (or fails) never waits for what it still
        has on its way.
        """
        future: Future[T] = Future()

        def run() -> None:
            self._ahead()
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(call(*args, **kwargs))
            except BaseException as exc:  # handed to whoever awaits it
                future.set_exception(exc)

        threading.Thread(target=run, name="aside", daemon=True).start()
        return future

    def pool(self, workers: int) -> ThreadPoolExecutor:
        """Threads an opening may use for requests of its own, sent ahead like it."""
        return ThreadPoolExecutor(workers, thread_name_prefix="opening", initializer=self._ahead)

    def _ahead(self) -> None:
        self._local.opening = True

    def settle(self, name: str) -> None:
        """At a stream's turn: its opening, if not begun, is dropped (the stream asks for
        itself); if under way, awaited, so that nothing is asked twice and no opening
        outlives its stream."""
        with self._lock:
            begun = self._begun.pop(name, None)
            self._queued.pop(name, None)
            self._send_queued()  # nothing waits behind this stream's opening any more
        if begun is not None and not begun.cancel():
            begun.result()  # an opening never raises: see `_open`

    def _open(self, name: str, opening: Callable[[], object]) -> None:
        self._ahead()
        self._local.stream = name
        try:
            opening()
        except BaseException as exc:
            # The stream asks again in its turn (see `get`), and meets the failure then.
            LOGGER.debug("An opening request failed ahead of its stream: %s", exc)
        finally:
            with self._lock:
                self._opened.add(name)
                self._send_queued()  # later streams' requests may have waited for it

    def close(self) -> None:
        """Drop what no stream asked for; do not wait for openings still on their way."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._kept.clear()
            self._queued.clear()
