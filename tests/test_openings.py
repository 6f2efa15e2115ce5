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


def test_the_look_ahead_is_one_budget_for_the_whole_run():
    openings = Openings(Server().fetch, look_ahead=5)
    assert [openings.take(3), openings.take(3), openings.take(3)] == [3, 2, 0]


def test_a_stream_whose_turn_has_come_sends_nothing_ahead():
    openings = Openings(Server().fetch, look_ahead=5)
    granted: dict[str, int] = {}
    turn_came = threading.Event()

    def opening(name: str) -> Callable[[], None]:
        def run() -> None:
            if name == "first":
                turn_came.wait(5)  # its answers still on their way when its turn comes
            granted[name] = openings.take(3)

        return run

    openings.start({"first": opening("first"), "second": opening("second")}, workers=2)
    turn = threading.Thread(target=openings.settle, args=("first",))
    turn.start()
    time.sleep(0.1)
    turn_came.set()
    turn.join(5)
    openings.settle("second")
    assert granted == {"first": 0, "second": 3}


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
            assert gateway.openings.take(10_000) == pages
        finally:
            gateway.close()
