"""A GET through the session's connection pool: what the server sees is what requests sent."""

from __future__ import annotations

import time

import pytest
import requests

import simulator.server
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
