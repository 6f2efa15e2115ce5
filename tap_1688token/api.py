"""HTTP access to a New-API-style gateway: auth headers, the JSON envelope, retries.

Every request of every stream goes through `ApiClient.get_data`, so the retry policy
lives here and nowhere else. Messages raised from here are one line, safe to show a
user, and never contain the token (it only ever travels in a header).
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from tap_1688token import __version__, jsontext
from tap_1688token.errors import AuthError, EndpointMissing, GatewayError, PermissionRefused
from tap_1688token.settings import Settings
from tap_1688token.stopping import Stop
from tap_1688token.throttle import Throttle
from tap_1688token.transport import Answer, PoolAdapter, TimedOut, Transport

LOGGER = logging.getLogger("tap-1688token")

#: same-origin moves followed per request (a trailing slash, a path moved)
_MAX_REDIRECTS = 5

# New API answers auth problems as HTTP 200 `success: false` with these phrases
# (middleware/auth.go); one-api and forks use English ones.
_AUTH_PHRASES = ("无权进行此操作", "access token", "new-api-user", "unauthorized", "未登录", "封禁")
_PERMISSION_PHRASES = ("权限不足", "permission", "privilege", "not allowed")


class RunOver(Exception):
    """A request of a run that has ended: dropped, not sent."""


class TransientError(Exception):
    """A failed attempt worth retrying (never leaves this module's retry loop)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying, by kind of failure."""

    #: retries after a 5xx, timeout, dropped connection or unreadable body
    max_retries: int
    #: seconds a run may spend waiting out 429s on one request before it fails
    max_rate_limit_wait_seconds: float
    #: tries for a 200 `success: false` that is not an auth failure
    refused_attempts: int = 3
    #: a bare 429's first wait, and the longest wait of any kind (the throttle's too)
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    #: a failed request's first wait, and how much longer each next one is: most failures
    #: (a 502, a dropped connection, a truncated body) pass at once, and the request waiting
    #: holds up its stream; five retries still wait out some 20-40 s of outage in all
    retry_first: float = 0.1
    retry_growth: float = 4.0

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    def backoff(self, attempt: int) -> float:
        """Exponential back-off with jitter: attempt 1 waits ~0.1 s, then 0.4, 1.6, 6.4,
        25.6 s (half to all of it), capped."""
        ceiling = min(self.backoff_cap, self.retry_first * self.retry_growth ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not crypto


def pause(seconds: float) -> None:
    """Every wait of the retry policy goes through here (tests shorten it)."""
    time.sleep(seconds)


def _retry_after(response: Answer) -> float | None:
    """`Retry-After` in seconds: either form of RFC 9110 (delta-seconds or HTTP-date)."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _server_message(body: Any) -> str:
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or ""
        if isinstance(message, dict):
            message = message.get("message", "")
        return " ".join(str(message).split())[:300]
    return ""


def _snippet(content: bytes) -> str:
    text = content[:200].decode("utf-8", "replace")
    return " ".join(text.split())


class Slots:
    """Requests in flight at once, whichever thread sends them, granted in order.

    The stream being written goes first. A request sent ahead of its stream's turn takes a
    slot only while none of that stream's waits, unless it is a search's step (a sum whose
    answer decides the next one): steps may hold a quarter of the slots regardless, and go
    before other requests sent ahead. A search is a chain of round trips; left to wait for
    the stream being written, its rounds would all come after it, with few requests each
    and most slots idle, at the end of the run.

    Within each of the three, first asked, first sent: a window's last page does not wait
    behind the next window's, so a run that fails midway has checkpointed what it could.
    """

    def __init__(self, count: int) -> None:
        self._free = count
        self._steps_held = 0
        self._steps_cap = max(1, count // 4)
        #: waiting, in order: the stream being written's, search steps, others sent ahead
        self._now: deque[threading.Condition] = deque()
        self._steps: deque[threading.Condition] = deque()
        self._ahead: deque[threading.Condition] = deque()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def held(self, *, ahead: bool, step: bool = False) -> Iterator[None]:
        step = ahead and step  # the stream being written goes first whatever it asks
        line = self._steps if step else self._ahead if ahead else self._now
        # Each waiter waits on its own condition: only the first of each line can go, so a
        # freed slot wakes at most three threads, not every one waiting (a dozen or more,
        # each taking the interpreter from the thread building records to find it must wait).
        ticket = threading.Condition(self._lock)
        with self._lock:
            line.append(ticket)
            try:
                while line[0] is not ticket or not self._may_go(ahead=ahead, step=step):
                    ticket.wait()
            except BaseException:
                line.remove(ticket)
                self._wake()  # whoever was behind it is now first
                raise
            line.popleft()
            self._free -= 1
            self._steps_held += step
            if self._free:
                self._wake()  # a slot is left: the next in line may take it
        try:
            yield
        finally:
            with self._lock:
                self._free += 1
                self._steps_held -= step
                self._wake()

    def _wake(self) -> None:
        for line in (self._now, self._steps, self._ahead):
            if line:
                line[0].notify()

    def _may_go(self, *, ahead: bool, step: bool) -> bool:
        if not self._free:
            return False
        steps_may_go = self._steps_held < self._steps_cap
        if not ahead:
            # A thread of the stream being written asks again the moment its request is
            # over, before any thread woken by the slot it freed: a step waiting within its
            # share goes first, or it would wait for as long as the stream does.
            return not (self._steps and steps_may_go)
        if step:
            return steps_may_go or not self._now
        return not self._now and not self._steps


class ApiClient:
    """A requests session bound to one gateway account."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] | None = None,
        stop: Stop | None = None,
    ) -> None:
        self.base_url = settings.base_url
        self.stop = stop or Stop()
        #: the server's clock minus ours (seconds), from the last answer's `Date`
        self._clock_offset: float | None = None
        self.request_timeout_seconds = settings.request_timeout_seconds
        self.policy = RetryPolicy(settings.max_retries, settings.max_rate_limit_wait_seconds)
        self.throttle = Throttle(
            settings.max_requests_per_minute,
            backoff_base=self.policy.backoff_base,
            backoff_cap=self.policy.backoff_cap,
        )
        self._sleep = sleep
        self._closed = threading.Event()
        # Requests in flight, whichever thread sends them (a stream's pages, the openings):
        # max_concurrency is the run's, not each pool's.
        self._slots = Slots(settings.max_concurrency)
        self.session = requests.Session()
        adapter = PoolAdapter(pool_maxsize=max(settings.max_concurrency, 10))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {
                "Authorization": f"Bearer {settings.api_key}",
                "Accept": "application/json",
                "User-Agent": f"tap-1688token/{__version__}",
            }
        )
        if settings.user_id is not None:
            self.session.headers["New-Api-User"] = str(settings.user_id)
        # requests looks up proxy variables, CA bundle variables and ~/.netrc again on
        # every request: a fifth of its CPU per page. Every request goes to one host, so
        # look them up once. (A ~/.netrc entry for the host would have replaced the
        # Bearer header with Basic auth.)
        found = self.session.merge_environment_settings(self.base_url, {}, None, None, None)
        self.session.proxies.update(found["proxies"])
        self.session.verify = found["verify"]
        self.session.cert = found["cert"]
        self.session.trust_env = False
        self._transport = Transport(self.session, self.base_url)

    def sleep(self, seconds: float) -> None:
        self.stop.check()
        (self._sleep or pause)(seconds)
        self.stop.check()
        self._check_open()

    def _check_open(self) -> None:
        if self._closed.is_set():
            msg = "the run is over"
            raise RunOver(msg)

    def close(self) -> None:
        # A request still on its way on another thread (sent ahead, retrying) stops at its
        # next try instead of asking a server the run is done with.
        self._closed.set()
        self.session.close()

    def server_time(self) -> int | None:
        """Now by the server's clock (its `Date` header, whole seconds), once it answered."""
        offset = self._clock_offset
        return None if offset is None else int(time.time() + offset)

    def _note_clock(self, response: Answer) -> None:
        try:
            sent = email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp()
        except (KeyError, TypeError, ValueError):
            return
        # `Date` drops the fraction of its second: the offset errs early, never late.
        self._clock_offset = sent - time.time()

    def get_data(self, path: str, params: Mapping[str, Any]) -> Any:
        """GET `path` and return the envelope's `data`, retrying as the policy allows."""
        return self.get_envelope(path, params)["data"]

    def get_envelope(
        self, path: str, params: Mapping[str, Any], *, ahead: bool = False, step: bool = False
    ) -> dict[str, Any]:
        """GET `path` and return the whole envelope (`data` and its siblings); `ahead`: for
        a stream whose turn has not come, so the one being written goes first; `step`: a
        search's step, which goes before other requests sent ahead (see `Slots`)."""
        url = self.base_url + path
        failures = refusals = 0
        limited_for = 0.0
        while True:
            try:
                envelope: dict[str, Any] = self._attempt(url, params, ahead=ahead, step=step)
                return envelope
            except _RateLimited as limited:
                # Every thread waits this out (the throttle blocks them all), then the
                # throttle paces requests at the rate the limiter turned out to allow.
                wait = limited.wait
                if limited_for + wait > self.policy.max_rate_limit_wait_seconds:
                    msg = (
                        f"{url}: still rate limited (HTTP 429) after waiting "
                        f"{limited_for:.0f} s; raise max_rate_limit_wait_seconds or set "
                        "max_requests_per_minute below the server's limit"
                    )
                    raise GatewayError(msg) from None
                limited_for += wait
                LOGGER.warning("%s: rate limited (HTTP 429), waiting %.1f s", url, wait)
            except _Refused as refused:
                refusals += 1
                problem = f'the server said "{refused}"'
                self._retry_or_fail(url, problem, refusals, self.policy.refused_attempts)
            except TransientError as problem:
                failures += 1
                self._retry_or_fail(url, str(problem), failures, self.policy.max_attempts)

    def _retry_or_fail(self, url: str, problem: str, tries: int, limit: int) -> None:
        if tries >= limit:
            msg = f"{url}: {problem} (gave up after {tries} tries)"
            raise GatewayError(msg) from None
        self._check_open()
        wait = self.policy.backoff(tries)
        LOGGER.warning(
            "%s: %s (try %d of %d), retrying in %.1f s", url, problem, tries, limit, wait
        )
        self.sleep(wait)

    def _book(self) -> None:
        """Wait for this request's start, booking again if a 429 came meanwhile."""
        while True:
            # The blocks seen as the start is booked, not before: booking may wait out a
            # block (while another thread probes) that says nothing against this start.
            booking = self.throttle.book()
            if booking.wait > 0:
                self.sleep(booking.wait)
            if self.throttle.blocks_seen == booking.blocks:
                return
            # Booked at a pace the limiter just refused: wait out the block with the rest.
            # (The start stays booked in the model: one window a little slower.)
            self.throttle.release()

    def _attempt(self, url: str, params: Mapping[str, Any], *, ahead: bool, step: bool) -> Any:
        with self._slots.held(ahead=ahead, step=step):
            self.stop.check()  # no new request once the run is told to stop
            self._check_open()
            self._book()
            try:
                started = time.monotonic()
                response = self._fetch(url, params, started)
                self._note_clock(response)
                if response.status == 429:
                    # Counted before `release` lets a waiting thread probe again.
                    raise _RateLimited(self.throttle.limited(_retry_after(response), started))
                self.throttle.succeeded(started)
            finally:
                self.throttle.release()
        return self._interpret(response)

    def _fetch(self, url: str, params: Mapping[str, Any] | None, started: float) -> Answer:
        """The answer and its whole body, within one deadline, following same-origin moves."""
        timeout = self.request_timeout_seconds
        deadline = started + timeout
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                response = self._transport.get(url, params, timeout, deadline)
            except TimedOut:
                msg = f"timed out after {timeout:g} s (request_timeout_seconds)"
                raise TransientError(msg) from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                # The exception text can be long and nested; its class says enough.
                msg = f"connection failed ({type(exc).__name__})"
                raise TransientError(msg) from None
            if not response.is_redirect:
                return response
            url, params = self._redirect_target(response, params)
        msg = f"more than {_MAX_REDIRECTS} redirects from {self.base_url}"
        raise GatewayError(msg)

    def _redirect_target(
        self, response: Answer, params: Mapping[str, Any] | None
    ) -> tuple[str, Mapping[str, Any] | None]:
        """Where a redirect leads, if it stays on base_url's origin (the token goes along)."""
        target = urljoin(response.url, response.headers["Location"])
        if _origin(target) != _origin(self.base_url):
            where = target.split("?", 1)[0]
            msg = (
                f"base_url {self.base_url} redirects to another origin, {where}; the token "
                "is not sent there: if that is the same gateway, set base_url to it"
            )
            raise GatewayError(msg)
        # A move that keeps the query keeps the parameters; one that drops it gets them again.
        return target, (None if urlsplit(target).query else params)

    def _interpret(self, response: Answer) -> Any:
        status, content = response.status, response.body
        body = _decode(content)
        message = _server_message(body)

        if status in (401, 403):
            if any(phrase in message.lower() for phrase in _PERMISSION_PHRASES):
                raise PermissionRefused(message)
            raise _auth_error(message or f"HTTP {status}", status)
        if status >= 500:
            msg = f"HTTP {status} from the server: {message or _snippet(content)!r}"
            raise TransientError(msg)
        if status == 404:
            msg = (
                f"HTTP 404 for {urlsplit(response.url).path}: is base_url a New-API-style gateway?"
            )
            raise EndpointMissing(msg)
        if status >= 400:
            msg = f"HTTP {status} from the server: {message or _snippet(content)!r}"
            raise GatewayError(msg)
        if not isinstance(body, dict):
            msg = f"unreadable response body (HTTP {status}): {_snippet(content)!r}"
            raise TransientError(msg)
        if body.get("success") is False:
            lowered = message.lower()
            if any(phrase in lowered for phrase in _PERMISSION_PHRASES):
                raise PermissionRefused(message)
            if any(phrase in lowered for phrase in _AUTH_PHRASES):
                raise _auth_error(message, status)
            raise _Refused(message or "success: false without a message")
        if "data" not in body:
            msg = f"response without `data` (HTTP {status}): {_snippet(content)!r}"
            raise TransientError(msg)
        return body


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, f"{parts.hostname}:{parts.port or default}"


def _decode(content: bytes) -> Any:
    """JSON body or None."""
    if not content:
        return None
    try:
        return jsontext.loads(content)
    except ValueError:
        return None


def _auth_error(message: str, status: int) -> AuthError:
    setting = "user_id" if "new-api-user" in message.lower() else "api_key"
    hint = (
        "set user_id to the numeric id of the token's user"
        if setting == "user_id"
        else "check api_key (on New API: the system access token, plus user_id)"
    )
    return AuthError(f'authentication failed (HTTP {status}): "{message}"; {hint}')


class _RateLimited(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__("rate limited")
        self.wait = wait


class _Refused(Exception):
    """HTTP 200 with `success: false` that is not about credentials."""
