"""Openings: a stream's first requests sent ahead, each answer handed out once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tap_1688token.errors import GatewayError
from tap_1688token.gateway import Gateway
from tap_1688token.openings import Openings
from tap_1688token.settings import Settings


class Server:
    def __init__(self, failures: int = 0) -> None:
        self.asked: list[tuple[str, dict[str, Any], bool]] = []
        self.failures = failures
        self.lock = threading.Lock()

    def fetch(
        self, path: str, params: dict[str, Any], *, ahead: bool, step: bool = False
    ) -> dict[str, Any]:
        with self.lock:
            self.asked.append((path, dict(params), ahead))
            if self.failures:
                self.failures -= 1
                raise GatewayError("HTTP 502 (gave up after 6 tries)")
        return {"data": [path, params["p"]]}


def test_an_answer_fetched_ahead_is_handed_to_the_stream_once():
    server = Server()
    openings = Openings(server.fetch)
    openings.start({"s": lambda: openings.get("/a", {"p": 1})}, workers=2)
    openings.settle("s")
    assert openings.get("/a", {"p": 1}) == {"data": ["/a", 1]}
    assert openings.get("/a", {"p": 1}) == {"data": ["/a", 1]}  # asked again: fetched again
    assert [(path, ahead) for path, _, ahead in server.asked] == [("/a", True), ("/a", False)]


def test_a_failed_opening_does_not_fail_the_stream():
    server = Server(failures=1)
    openings = Openings(server.fetch)
    openings.start({"s": lambda: openings.get("/a", {"p": 1})}, workers=2)
    openings.settle("s")
    assert openings.get("/a", {"p": 1}) == {"data": ["/a", 1]}
    assert len(server.asked) == 2
    server.failures = 1
    with pytest.raises(GatewayError):  # the stream's own failure is its own
        openings.get("/b", {"p": 1})


def test_sequential_runs_send_nothing_ahead():
    server = Server()
    openings = Openings(server.fetch)
    openings.start({"s": lambda: openings.get("/a", {"p": 1})}, workers=1)
    openings.settle("s")
    assert server.asked == []


def _queued_by(openings: Openings, plan: dict[str, list[int]]) -> None:
    """Run openings that each queue pages `plan[name]` of path `/name`, and wait for them."""
    queued = {name: threading.Event() for name in plan}

    def opening(name: str) -> Callable[[], None]:
        def run() -> None:
            openings.queue((f"/{name}", {"p": page}) for page in plan[name])
            queued[name].set()

        return run

    openings.start({name: opening(name) for name in plan}, workers=2)
    assert all(event.wait(5) for event in queued.values())


def _sent(server: Server, settle: float = 0.2) -> list[tuple[str, int]]:
    time.sleep(settle)  # what was sent ahead reaches the server
    with server.lock:
        return [(path, params["p"]) for path, params, _ in server.asked]


def test_the_look_ahead_bounds_the_answers_kept_and_is_given_back_as_they_are_taken():
    server = Server()
    openings = Openings(server.fetch, look_ahead=3)
    _queued_by(openings, {"a": [2, 3], "b": [2, 3, 4]})
    # Three answers at most kept unasked for, the earlier stream's first.
    assert sorted(_sent(server)) == [("/a", 2), ("/a", 3), ("/b", 2)]
    openings.settle("a")
    assert openings.get("/a", {"p": 2}) == {"data": ["/a", 2]}
    # One handed out: one more goes, the next in line.
    assert sorted(_sent(server)) == [("/a", 2), ("/a", 3), ("/b", 2), ("/b", 3)]
    assert openings.get("/a", {"p": 3}) == {"data": ["/a", 3]}
    assert sorted(_sent(server)) == [("/a", 2), ("/a", 3), ("/b", 2), ("/b", 3), ("/b", 4)]
    openings.settle("b")
    assert [openings.get("/b", {"p": p}) for p in (2, 3, 4)] == [
        {"data": ["/b", p]} for p in (2, 3, 4)
    ]
    assert all(ahead for _, _, ahead in server.asked)  # nothing asked twice
    assert len(server.asked) == 5
    openings.close()


def test_the_look_ahead_goes_to_streams_in_the_order_they_are_written():
    # "b" queues first, but "a" is written first: what "a" will queue is waited for.
    server, a_may_queue = Server(), threading.Event()

    def a() -> None:
        a_may_queue.wait(5)
        openings.queue(("/a", {"p": page}) for page in (2, 3))

    openings = Openings(server.fetch, look_ahead=2)
    openings.start({"a": a, "b": lambda: openings.queue([("/b", {"p": 2})])}, workers=2)
    assert _sent(server) == []
    a_may_queue.set()
    assert sorted(_sent(server)) == [("/a", 2), ("/a", 3)]
    openings.settle("a")
    openings.get("/a", {"p": 2})
    assert sorted(_sent(server)) == [("/a", 2), ("/a", 3), ("/b", 2)]
    openings.close()


def test_what_waits_for_the_look_ahead_is_dropped_at_its_streams_turn():
    server = Server()
    openings = Openings(server.fetch, look_ahead=1)
    _queued_by(openings, {"a": [2, 3], "b": [2]})
    assert _sent(server) == [("/a", 2)]
    openings.settle("a")  # /a p=3 never left: the stream asks for it itself, first in line
    assert openings.get("/a", {"p": 2}) == {"data": ["/a", 2]}
    assert sorted(_sent(server)) == [("/a", 2), ("/b", 2)]  # the unit went to the next stream
    assert openings.get("/a", {"p": 3}) == {"data": ["/a", 3]}
    assert server.asked[-1] == ("/a", {"p": 3}, False)
    openings.close()


def test_a_stream_whose_turn_has_come_sends_nothing_ahead():
    server = Server()
    openings = Openings(server.fetch, look_ahead=5)
    turn_came = threading.Event()

    def first() -> None:
        turn_came.wait(5)  # its answers still on their way when its turn comes
        openings.queue(("/first", {"p": page}) for page in (2, 3))

    openings.start(
        {"first": first, "second": lambda: openings.queue([("/second", {"p": 2})])}, workers=2
    )
    turn = threading.Thread(target=openings.settle, args=("first",))
    turn.start()
    time.sleep(0.1)
    turn_came.set()
    turn.join(5)
    openings.settle("second")
    assert _sent(server) == [("/second", 2)]
    openings.close()


def test_a_request_sent_ahead_that_never_left_is_asked_by_whoever_waits_for_it():
    server, release = Server(), threading.Event()
    openings = Openings(server.fetch)
    # Both of the openings' threads are busy: a request sent ahead now waits in line.
    openings.start({"s": release.wait, "t": release.wait}, workers=2)
    openings.send_ahead("/a", {"p": 2})
    answers: list[dict[str, Any]] = []
    waiter = threading.Thread(target=lambda: answers.append(openings.get("/a", {"p": 2})))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # waiting for the answer on its way, not asking again
    openings.close()  # the run ends before the request left: it never will
    waiter.join(5)
    release.set()
    assert answers == [{"data": ["/a", 2]}]
    assert [(path, ahead) for path, _, ahead in server.asked] == [("/a", False)]


def test_a_runs_look_ahead_is_five_thousand_logs_of_pages():
    # What the README promises may wait for its turn: 50 pages of 100 logs, 125 of 40.
    for page_size, pages in ((100, 50), (40, 125)):
        config = {"api_key": "x", "base_url": "http://127.0.0.1:9", "page_size": page_size}
        gateway = Gateway(Settings.from_config(config))
        try:
            assert gateway.openings._look_ahead == pages
        finally:
            gateway.close()
