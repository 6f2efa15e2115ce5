"""Openings: a stream's first requests sent ahead, each answer handed out once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tap_1688token.errors import GatewayError
from tap_1688token.openings import Openings


class Server:
    def __init__(self, failures: int = 0) -> None:
        self.asked: list[tuple[str, dict[str, Any], bool]] = []
        self.failures = failures
        self.lock = threading.Lock()

    def fetch(self, path: str, params: dict[str, Any], *, ahead: bool) -> dict[str, Any]:
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
