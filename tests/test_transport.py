"""A GET through the session's connection pool: what the server sees is what requests sent."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest
import requests

import simulator.server
import tap_1688token.transport
from tap_1688token.api import ApiClient
from tap_1688token.settings import Settings
from tap_1688token.transport import Transport
from tests.conftest import assert_exact, run_tap, tap_config


def _client(url: str, **settings: object) -> ApiClient:
    return ApiClient(Settings.from_config(tap_config(url, user_id=7, **settings)))


def test_the_server_sees_what_session_get_sent(make_sim):
    sim, url = make_sim(50, days=1, user_id=7)
    client = _client(url)
    # Text a query must escape: a space, a slash, an ampersand, non-ASCII, a plus.
    params = {"p": 1, "page_size": 10, "type": 2, "model_name": "gpt 4o/中文&x+y"}
    answer = client._transport.get(f"{url}/api/log/self", params, 5, time.monotonic() + 5)
    by_requests = client.session.get(f"{url}/api/log/self", params=params, timeout=5)
    through_pool, through_session = sim.requests
    assert through_pool.params == through_session.params == {k: str(v) for k, v in params.items()}
    assert through_pool.headers == through_session.headers
    assert through_pool.headers["Authorization"] == "Bearer sim-token"
    assert through_pool.headers["New-Api-User"] == "7"
    assert answer.status == by_requests.status_code == 200
    assert answer.body == by_requests.content
    assert answer.url == by_requests.url
    client.close()


def test_a_gzipped_gateway_is_read_exactly(make_sim):
    # New API gzips /api answers for a client that accepts it (gin's gzip middleware).
    sim, url = make_sim(3000, days=10, gzip=True)
    result = run_tap(tap_config(url))
    assert_exact(sim, result)
    assert all("gzip" in r.headers["Accept-Encoding"] for r in sim.requests)


def test_connections_are_kept_between_requests(make_sim, monkeypatch):
    opened = []
    setup = simulator.server._Handler.setup

    def counted(handler: simulator.server._Handler) -> None:
        opened.append(handler.client_address)
        setup(handler)

    monkeypatch.setattr(simulator.server._Handler, "setup", counted)
    sim, url = make_sim(6000, days=20)
    result = run_tap(tap_config(url, max_concurrency=4))
    assert_exact(sim, result)
    assert len(sim.requests) > 60
    # One connection per request in flight at most: a body read to its end gives its
    # connection back to the pool.
    assert len(opened) <= 4


def test_a_transport_needs_the_pool_adapter():
    with pytest.raises(TypeError, match="not a PoolAdapter"):
        Transport(requests.Session(), "http://127.0.0.1:9")


def _one_write_server(body: bytes) -> str:
    """A keep-alive HTTP server on loopback answering each GET with one write: status line,
    headers and `body` together, as a gateway's buffered answer arrives."""
    listener = socket.create_server(("127.0.0.1", 0))
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )

    def serve() -> None:
        while True:  # one connection after another, until the test's process ends
            connection, _ = listener.accept()
            with connection:
                asked = b""
                while chunk := connection.recv(65536):
                    asked += chunk
                    while b"\r\n\r\n" in asked:
                        _, asked = asked.split(b"\r\n\r\n", 1)
                        connection.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_page_and_its_headers_come_in_one_read(monkeypatch):
    # Each read from the socket is a wait for the interpreter when a request thread wakes;
    # with http.client's 8 KB file every page of logs (~60 KB) took two.
    reads: list[int | None] = []
    readinto = socket.SocketIO.readinto

    def counted(self: socket.SocketIO, buffer: Any) -> int | None:
        got = readinto(self, buffer)
        reads.append(got)
        return got

    monkeypatch.setattr(socket.SocketIO, "readinto", counted)
    # ~24 KB, more than 8 KB as every page of logs is (~60 KB)
    page = json.dumps({"success": True, "message": "", "data": {"items": ["x" * 600] * 40}})
    url = _one_write_server(page.encode())
    client = _client(url)

    def reads_of(gets: int) -> int:
        reads.clear()
        for _ in range(gets):
            answer = client._transport.get(f"{url}/api/log/self", {"p": 1}, 5, time.monotonic() + 5)
            assert answer.body == page.encode()
        return len(reads)

    assert reads_of(5) <= 6  # one each (a write split on its way may cost one more)
    monkeypatch.setattr(tap_1688token.transport, "_READ_BUFFER", 8192)
    client.close()
    client = _client(url)  # a new connection, its answers read 8 KB at a time
    assert reads_of(5) >= 10  # the first 8 KB, then the rest
    client.close()
