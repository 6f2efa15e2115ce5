"""One GET to the gateway: requests' connection pool, proxy and TLS, without its per-request
layers.

`Session.get` prepares and merges settings, runs hooks, cookie jars and a `Response` for
every request: about half a millisecond of the interpreter per page (benchmarked: 694
pages at c=8, 0.93-1.08 CPU s through `Session.get`, 0.60-0.66 through the pool), while
eight request threads share that interpreter with the thread building records. Every
request of a run goes to base_url's origin (a redirect elsewhere is refused), so the
session's adapter resolves the pool once (proxy, CA bundle, client certificate, as
`HTTPAdapter.send` would), and each GET is then urllib3's alone, its URL prepared by
requests as before.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import requests
import requests.adapters
import urllib3
from requests.models import REDIRECT_STATI
from urllib3.connectionpool import HTTPConnectionPool

#: a body is read this many bytes at most per read, so the deadline is checked often
_CHUNK = 1 << 16
#: what an answer's file reads from its socket at once: a page of logs (about 60 KB) and its
#: headers in one read. http.client's 8 KB took a second read for the body, and with it a
#: second wait for the interpreter held by the thread writing records (strace, 254 requests:
#: 474 -> 263 recvfrom, 983 -> 772 poll). 60,000 logs at 30 ms, interleaved pairs: faster in
#: 8 of 10 and 4 of 8, medians 3.94 -> 3.90 and 4.05 -> 4.09 s: within this machine's noise.
_READ_BUFFER = 1 << 17


class TimedOut(Exception):
    """The request's deadline passed while its body was read."""


@dataclass(frozen=True)
class Answer:
    """A whole answer: its status, headers (case-insensitive), body and the URL asked."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    @property
    def is_redirect(self) -> bool:
        return self.status in REDIRECT_STATI and "location" in self.headers


class _WholeReads:
    """A socket as an answer sees it: its file reads up to `_READ_BUFFER` bytes at once."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def makefile(self, mode: str, *_args: Any, **_kwargs: Any) -> IO[bytes]:
        return self._sock.makefile(mode, _READ_BUFFER)  # type: ignore[no-any-return]


class _WholeReadResponse(http.client.HTTPResponse):
    """http.client's answer, reading its socket `_READ_BUFFER` bytes at a time."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        # http.client asks its socket for nothing but the file it reads the answer from.
        super().__init__(_WholeReads(sock), *args, **kwargs)  # type: ignore[arg-type]


@functools.cache
def _whole_reads(connection: type) -> type:
    # A subclass of whatever connection the pool makes (plain, TLS, through a SOCKS proxy):
    # only the answer class changes.
    return type(
        f"WholeReads{connection.__name__}", (connection,), {"response_class": _WholeReadResponse}
    )


class PoolAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, which also hands out the connection pool `send` would use, and
    the URL it would ask it for (the path, or the whole URL through an HTTP proxy)."""

    def pool_for(
        self, request: requests.PreparedRequest, session: requests.Session
    ) -> HTTPConnectionPool:
        verify, cert = session.verify, session.cert
        pool = self.get_connection_with_tls_context(request, verify, session.proxies, cert)
        self.cert_verify(pool, request.url, verify, cert)  # type: ignore[no-untyped-call]
        if not isinstance(pool, HTTPConnectionPool):
            msg = f"no HTTP connection pool for {request.url}"
            raise TypeError(msg)
        pool.ConnectionCls = _whole_reads(pool.ConnectionCls)
        return pool

    def url_for(self, request: requests.PreparedRequest, session: requests.Session) -> str:
        return self.request_url(request, session.proxies)


class Transport:
    """GETs on one session, all to one origin, through the pool of its adapter."""

    def __init__(self, session: requests.Session, origin: str) -> None:
        adapter = session.get_adapter(origin)
        if not isinstance(adapter, PoolAdapter):
            msg = f"{origin}: the session's adapter is not a PoolAdapter"
            raise TypeError(msg)
        self._session = session
        self._adapter = adapter
        self._origin = origin
        #: every request's headers: the session's, set before it is made
        self._headers = {
            name: value.decode("latin-1") if isinstance(value, bytes) else value
            for name, value in session.headers.items()
        }
        #: the origin's pool, and whether it is asked for whole URLs (an HTTP proxy's):
        #: resolved at the first GET, where a bad CA bundle fails as a request does
        self._route: tuple[HTTPConnectionPool, bool] | None = None
        self._lock = threading.Lock()

    def _resolved(self) -> tuple[HTTPConnectionPool, bool]:
        route = self._route
        if route is None:
            with self._lock:
                if self._route is None:
                    origin = self._prepared(self._origin)
                    pool = self._adapter.pool_for(origin, self._session)
                    # Proxies are chosen by host, and every request goes to the origin's.
                    whole = self._adapter.url_for(origin, self._session) != origin.path_url
                    self._route = (pool, whole)
                route = self._route
        return route

    @staticmethod
    def _prepared(url: str, params: Mapping[str, Any] | None = None) -> requests.PreparedRequest:
        # The URL exactly as requests builds it (its quoting, IDNA, the parameters' encoding).
        prepared = requests.PreparedRequest()
        prepared.prepare_url(url, params)
        return prepared

    def get(
        self, url: str, params: Mapping[str, Any] | None, timeout: float, deadline: float
    ) -> Answer:
        """GET `url` (on the origin), following nothing; the whole body within `deadline`
        (time.monotonic), else `TimedOut`."""
        prepared = self._prepared(url, params)
        pool, whole = self._resolved()
        response = pool.urlopen(
            "GET",
            self._adapter.url_for(prepared, self._session) if whole else prepared.path_url,
            headers=self._headers,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
            retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
        body = read_body(response, deadline)
        return Answer(response.status, response.headers, body, prepared.url or url)


def read_body(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    """The whole body, or `TimedOut` once `deadline` (time.monotonic) passes.

    A timeout bounds each read, so a server trickling its body would hold a request for
    ever; read a piece at a time, each read given only the time left.
    """
    chunks: list[bytes] = []
    sock = getattr(getattr(response, "connection", None), "sock", None)
    usual = sock.gettimeout() if sock is not None else None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimedOut
            if sock is not None:
                sock.settimeout(left)
            try:
                chunk = response.read1(_CHUNK, decode_content=True)
            except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
                raise TimedOut from None
            if not chunk:
                break
            chunks.append(chunk)
    except BaseException:
        # Half read: the connection is closed, then given back (the pool opens a new one).
        response.close()
        response.release_conn()
        raise
    finally:
        if sock is not None:
            # The connection goes back to the pool: with its own timeout, not what was left.
            with contextlib.suppress(OSError):
                sock.settimeout(usual)
    response.release_conn()
    return b"".join(chunks)
