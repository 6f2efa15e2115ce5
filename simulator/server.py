"""A local HTTP simulator of New API's log endpoints (stdlib only, loopback only).

Read from the gateways' sources: QuantumNous/new-api controller/log.go (GetUserLogs,
GetLogsSelfStat), model/log.go (GetUserLogs, SumUsedQuota, formatUserLogs, the log types),
common/page_info.go (GetPageQuery) and middleware/auth.go; songquanpeng/one-api
controller/log.go and model/log.go (GetUserLogs, GetLogsSelfStat, SumUsedQuota),
common/config/config.go (ItemsPerPage), middleware/auth.go and router/api.go, for
``SimConfig(family="oneapi")``. The site's other endpoints (:data:`ENDPOINTS`):
router/api-router.go, controller/user.go (GetSelf, GetAllUsers), controller/token.go (GetAllTokens),
controller/misc.go (GetStatus), controller/pricing.go, controller/usedata.go,
controller/log.go (GetAllLogs) and controller/channel.go (GetAllChannels); their data comes
from simulator/site.py. ``/api/channel/update_balance`` is deliberately absent (NoRoute).
"""

# ruff: noqa: RUF001 - strings quote New API's Chinese text verbatim

from __future__ import annotations

import gzip
import itertools
import json
import random
import re
import socket
import threading
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.utils import formatdate
from heapq import merge
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

from . import site
from .data import FIELDS, TYPE_CONSUME, Log, blank_log, complete_log, generate_logs

_T = TypeVar("_T")

FAULT_KINDS = (
    "429",
    "429_retry_after",
    "502_html",
    "503_html",
    "success_false",
    "truncated",
    "drop",
)
#: what ``glitch_rate`` picks from: a page answered as a success that holds nothing
GLITCH_KINDS = ("empty_items", "null_data")

# Messages of New API's classic middleware/auth.go (authHelper).
MSG_NO_TOKEN = "无权进行此操作，未登录且未提供 access token"
MSG_BAD_TOKEN = "无权进行此操作，access token 无效"
MSG_NO_USER = "无权进行此操作，未提供 New-Api-User"
MSG_BAD_USER = "无权进行此操作，New-Api-User 格式错误"
MSG_USER_MISMATCH = "无权进行此操作，New-Api-User 与登录用户不匹配"
#: the key of the index of every log
_EVERYTHING: tuple[int, None, None, None] = (0, None, None, None)
MSG_NOT_ADMIN = "无权进行此操作，权限不足"
MSG_DB_BUSY = "数据库繁忙"

_HTML = (
    "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n"
    "<center><h1>{0}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_STATUS_TEXT = {
    302: "302 Found",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
}
_GO_INT = re.compile(r"[+-]?\d+")
#: seconds between the pieces of a trickled body (at 20 bytes a second and more)
TRICKLE_TICK = 0.05
#: one-api's ``config.ItemsPerPage`` (common/config/config.go): its every log page's size
ONEAPI_ITEMS_PER_PAGE = 10
#: every GET path the simulated gateway serves, and who may ask (QuantumNous/new-api
#: router/api-router.go): ``"public"``: anyone; ``"optional"``: anyone, a token only picks
#: the user (middleware.TryUserAuth); ``"user"``: the access token (and ``New-Api-User``
#: when ``SimConfig.user_id`` is set: middleware.UserAuth); ``"admin"``: that, and refused
#: with :data:`MSG_NOT_ADMIN` unless ``SimConfig.is_admin`` (middleware.AdminAuth)
ENDPOINTS: dict[str, Literal["public", "optional", "user", "admin"]] = {
    "/api/log/self": "user",
    "/api/log/self/stat": "user",
    "/api/log/stat": "admin",
    "/api/user/self": "user",
    "/api/token/": "user",
    "/api/status": "public",
    "/api/pricing": "optional",
    "/api/data/self": "user",
    "/api/data/": "admin",
    "/api/log/": "admin",
    "/api/user/": "admin",
    "/api/channel/": "admin",
}
#: what one-api's router/api.go does not have
ONEAPI_ABSENT = frozenset({"/api/pricing", "/api/data/", "/api/data/self"})
MSG_START = "start_timestamp 格式错误"
MSG_END = "end_timestamp 格式错误"


@dataclass
class SimConfig:
    """How the simulated gateway behaves; may be mutated while serving.

    Every default is New API's classic behaviour, as the simulator has always served it. The
    fields from ``family`` on imitate other gateways and the ways real deployments misbehave:

    ``family``: the gateway imitated. ``"newapi"``: QuantumNous/new-api, controller/log.go
    GetUserLogs with common/page_info.go GetPageQuery: ``p`` from 1 (below 1 read as 1),
    ``page_size``, ``data`` a page object ``{page, page_size, total, items}``. ``"oneapi"``:
    songquanpeng/one-api, controller/log.go GetUserLogs over model/log.go GetUserLogs: ``p``
    counts from 0 (below 0 read as 0), every page holds ``config.ItemsPerPage`` logs
    (common/config/config.go; :data:`ONEAPI_ITEMS_PER_PAGE`, 10) whatever ``page_size`` asks,
    ``data`` is a bare JSON array (no ``total``, no page envelope), and every item's ``id`` is
    0: the query's ``.Omit("id")`` leaves the struct's Id unset while its JSON tag has no
    ``omitempty``, so the key is there, 0 (``id_mode`` does not apply; ``"id"`` in
    ``omit_fields`` drops the key, in either family). The items keep the user view's other
    fields. Its ``/api/log/self/stat`` (GetLogsSelfStat over model.SumUsedQuota: type 2
    only, whatever ``type`` says) answers ``{"quota": n}``, no rpm/tpm (when ``stat_shape`` is
    ``"object"``); so does ``/api/log/stat`` (GetLogsStat). Its access-token check
    (middleware/auth.go authHelper) has New API's messages but no ``New-Api-User`` header, so
    ``user_id`` is not checked. The envelope ``{success, message, data}``, the time, model and
    token filters and the NoRoute answer are New API's.

    ``type_filter``: False imitates a fork that ignores ``type`` on ``/api/log/self``: every
    page holds every type, as ``type=0`` does (both model/log.go GetUserLogs: 0, no filter).

    ``glitch_rate``, ``glitches``: with that probability (a seeded RNG of its own, as
    ``fault_rate``'s) an ``/api/log/self`` answer that would have succeeded is HTTP 200,
    ``success: true``, but empty: ``"empty_items"`` keeps the page object with ``total``
    still telling the truth and ``items: []`` (one-api: ``data: []``); ``"null_data"`` answers
    ``"data": null``. Each request rolls the dice afresh, so asking again is answered
    correctly unless the dice say otherwise. Unknown kinds answer normally.

    ``clock_offset``: seconds the server's clock is ahead of real time (negative: behind). The
    server's clock (:meth:`Simulator.clock`) stamps every answer's ``Date`` header and every log
    stored "now" (``add_logs`` without ``created_at``, ``add_live_logs``, the demo account's
    history and traffic); the stat endpoint's last-60-seconds window and the rate limiter read
    it too. Go's net/http writes ``Date`` from the host's ``time.Now()``, as New API's
    ``common.GetTimestamp()`` does every ``created_at``: a skewed host shows in both.

    ``trickle_bytes_per_second``: the body of every answer under ``/api`` (errors included) is
    sent in pieces at about that rate, after headers sent at once with a correct
    ``Content-Length``: pieces of ``int(rate * TRICKLE_TICK)`` bytes (at least 1) every
    ``piece / rate`` seconds, that is at least every :data:`TRICKLE_TICK` (0.05 s) from 20
    bytes a second up, a byte every ``1 / rate`` seconds below. A client's per-read timeout
    longer than that never fires, however long the whole body takes. None: one write.

    ``redirects``: request path -> ``Location``. A GET of that path is answered ``302 Found``
    (nginx's HTML page as the body) before anything else the gateway does (latency, faults,
    the limiter, the token), as a proxy in front of it would. A same-origin ``Location`` (a
    path, starting with one ``/``) gets the request's query string appended (after ``&`` if
    it has a query of its own), so ``{"/log/self": "/api/log/self"}`` moves every page; that
    target is served normally (it may itself be redirected: loops are the caller's to avoid).
    An absolute URL (another origin, or another scheme) is sent as it is, without the
    request's query: what a client carries over to another origin is the client's business.
    Redirected requests are recorded in ``requests`` with status 302, like any other.

    ``latency``: seconds from a request's arrival to its answer leaving, as a round trip to
    a gateway elsewhere: the request is served (the limiter, faults, the page read) halfway
    through, and the simulator's own work is part of the wait, not added to it (on the
    client's cores it would make every answer late by more than the client's doing).

    Logs outside any time window are not a setting: see :meth:`Simulator.add_stray_logs`.

    The site's other endpoints (simulator/site.py derives their data from the logs; see
    :data:`ENDPOINTS` for who may ask): ``missing_endpoints``: paths (as :data:`ENDPOINTS`
    spells them, e.g. ``"/api/data/self"``) this deployment does not have: each is answered
    as any unknown path is, with New API's NoRoute 404 (controller.RelayNotFound), before the
    token is looked at. one-api (``family="oneapi"``) never has ``/api/pricing`` nor
    ``/api/data/...``. ``data_export``: New API's DataExportEnabled (common/constants.go,
    on by default): off, nothing reaches the quota_data table (model/log.go RecordConsumeLog
    calls LogQuotaData only when it is on), so ``/api/data/self`` and ``/api/data/`` answer
    success with ``data: []``; ``/api/status`` says ``enable_data_export: false``.
    ``token_keys``: ``"full"``: ``/api/token/`` lists every key in full, as New API did
    before controller/token.go masked them; ``"masked"``: as buildMaskedTokenResponse does
    now (model/token.go MaskTokenKey: ``abcd**********wxyz``).
    """

    unit: Literal["s", "ms"] = "s"
    id_mode: Literal["db", "mod1024", "position", "zero"] = "db"
    other_mode: Literal["string", "object"] = "string"
    omit_fields: frozenset[str] | set[str] = frozenset()
    page_size_cap: int = 100
    total_cap: int | None = None
    stat_shape: Literal["object", "list", "items"] = "object"
    is_admin: bool = False
    api_key: str = "sim-token"
    user_id: int | None = None
    rate_limit: tuple[int, float] | None = None
    fault_rate: float = 0.0
    faults: tuple[str, ...] = FAULT_KINDS
    outage: bool = False
    latency: float = 0.0
    seed: int = 0
    gzip: bool = False  # New API gzips /api responses when the client accepts it
    family: Literal["newapi", "oneapi"] = "newapi"
    type_filter: bool = True
    glitch_rate: float = 0.0
    glitches: tuple[str, ...] = GLITCH_KINDS
    clock_offset: float = 0.0
    trickle_bytes_per_second: float | None = None
    redirects: dict[str, str] = field(default_factory=dict)
    missing_endpoints: frozenset[str] | set[str] = frozenset()
    data_export: bool = True
    token_keys: Literal["full", "masked"] = "full"


class _Headers(Protocol):
    """A request's headers as the answers read them: http.server's, looked up ignoring case."""

    def get(self, name: str, /) -> str | None: ...


@dataclass
class RequestRecord:
    """One request as received; ``status`` is 0 while in flight and for dropped ones.

    ``at`` is when it arrived in real time (``time.time()``), the observer's clock, not the
    server's (:meth:`Simulator.clock`). ``answered_in`` is the seconds from its arrival (its
    headers read) to its answer's last byte written; None while in flight and for one hung up
    on. Beyond ``latency`` it is the simulator's own lateness: its threads' work and their turns
    at one interpreter, on the cores the client under test uses.
    """

    path: str
    params: dict[str, str]
    status: int
    headers: dict[str, str]
    at: float = 0.0
    answered_in: float | None = None


@dataclass
class Response:
    """One answer to send. ``action`` is how faults misbehave: cut the body, or hang up."""

    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    action: Literal["send", "truncate", "drop"] = "send"


#: a handler of an added route: the query parameters (first value of each) to an answer
Route = Callable[[dict[str, str]], Response]


@dataclass
class _Index:
    """Logs of one (type, model, token) key in id order; ``ts`` mirrors created_at.

    ``logs`` are in time order too (created_at never decreases with id), so a time range is
    a slice; ``strays`` (id order) are the logs stored outside that order.
    """

    ts: list[int] = field(default_factory=list)
    logs: list[Log] = field(default_factory=list)
    strays: list[Log] = field(default_factory=list)

    def add(self, log: Log) -> None:
        self.ts.append(log["created_at"])
        self.logs.append(log)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def user_view(log: Log, config: SimConfig | None = None) -> dict[str, Any]:
    """A log as GET /api/log/self serializes it, without ``id``."""
    config = config or SimConfig()
    item = {f: log[f] for f in FIELDS[1:] if f not in config.omit_fields}
    if "other" in item:
        other = log["other"]
        if isinstance(other, dict) and "admin_info" in other:
            # formatUserLogs drops admin_info from a user's view.
            other = {k: v for k, v in other.items() if k != "admin_info"}
        if config.other_mode == "string":
            # common.MapToJsonStr: Go's json.Marshal sorts keys; a nil map gives "null".
            other = json.dumps(other, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        item["other"] = other
    return item


def admin_view(log: Log, config: SimConfig | None = None) -> dict[str, Any]:
    """A log as GET /api/log/ (an admin's view) serializes it: the whole model.Log, ``id``
    and ``other.admin_info`` kept; ``other_mode`` and ``omit_fields`` apply."""
    config = config or SimConfig()
    item = {f: log[f] for f in FIELDS if f not in config.omit_fields}
    if "other" in item and config.other_mode == "string":
        item["other"] = json.dumps(
            log["other"], ensure_ascii=False, separators=(",", ":"), sort_keys=True
        )
    return item


def _sorted(value: Any) -> Any:
    """A Go map (gin.H, map[string]interface{}) as encoding/json writes it: keys sorted."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    return value


def _go_int(text: str | None) -> int:
    """strconv.Atoi/ParseInt as New API uses them: anything unparsable is 0."""
    return int(text) if text and _GO_INT.fullmatch(text) else 0


class Simulator:
    """An in-memory New API (or one-api) site serving its log, stat and account endpoints.

    It may hold many users' logs: ``/api/log/self``, ``/api/log/self/stat``, ``/api/data/self``
    and ``/api/token/`` serve the token's own user's (:meth:`self_id`), an admin's
    ``/api/log/``, ``/api/log/stat``, ``/api/data/`` and ``/api/user/`` everyone's.
    """

    def __init__(self, logs: Iterable[Log] = (), config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.before_request: Callable[[Simulator, str, dict[str, str]], None] | None = None
        #: real time as the simulator sees it (tests replace it); the server reads :meth:`clock`
        self.now: Callable[[], float] = time.time
        self._lock = threading.RLock()
        #: by (type, model_name, token_name, user_id); 0 and None: any
        self._indexes: dict[tuple[int, str | None, str | None, int | None], _Index] = {
            _EVERYTHING: _Index()
        }
        self._next_id = 1
        self._requests: list[RequestRecord] = []
        self._window: deque[float] = deque()
        self._fault_rng = random.Random(self.config.seed)
        self._glitch_rng = random.Random(f"glitch {self.config.seed}")
        self._live_seq = 0
        self._routes: dict[str, Route] = {}
        self._started = int(self.clock())
        #: what is derived from every stored log, by name: (the id next stored, value)
        self._derived_cache: dict[str, tuple[int, Any]] = {}
        self.add_logs(logs)

    def add_route(self, path: str, handler: Route) -> None:
        """Answer GET ``path`` with ``handler(query parameters)``, e.g. a dev control path.

        Added routes are the simulator's own, not the gateway's: they answer before anything
        that imitates New API (latency, faults, outage, the limiter, the token) and are
        recorded in ``requests`` like any other request. Build answers with
        :func:`json_response` or :class:`Response`.
        """
        with self._lock:
            self._routes[path] = handler

    def clock(self) -> float:
        """The server's clock: :attr:`now` plus ``config.clock_offset`` seconds.

        The one notion of the server's time: the ``Date`` header, ``created_at`` of logs stored
        now, the stat endpoint's rpm/tpm window and the rate limiter all read it.
        """
        return self.now() + self.config.clock_offset

    # ---- storage -------------------------------------------------------------------------

    def add_logs(self, logs: Iterable[Log]) -> list[Log]:
        """Store copies of ``logs`` (missing fields get zero values) with fresh ids.

        created_at must never decrease (New API inserts with created_at = now).
        """
        with self._lock:
            everything = self._indexes[_EVERYTHING]
            newest = everything.ts[-1] if everything.ts else 0
            added = [complete_log(raw, max(int(self.clock()), newest)) for raw in logs]
            for log in added:
                if log["created_at"] < newest:
                    raise ValueError(
                        f"created_at {log['created_at']} is older than a stored log "
                        f"({newest}); logs must be added in time order"
                    )
                newest = log["created_at"]
            for log in added:
                self._store(log, stray=False)
        return added

    def add_stray_logs(self, logs: Iterable[Log]) -> list[Log]:
        """Store copies of ``logs`` with fresh ids whatever their created_at (default 0).

        Logs outside any time window: created_at 0, negative, far in the future, or older
        than logs stored before them (a row written with a broken clock, or backfilled). They
        take no part in :meth:`add_logs`' time order, and the endpoints filter them as New
        API's SQL does (``created_at >= start`` only when start_timestamp is not 0,
        ``created_at <= end`` only when end_timestamp is not 0): every request without time
        bounds sees them (pages newest id first, like the rest) and counts them in ``total``
        and the stat sums; a bounded range holds only those its bounds admit, so ``0`` and
        negative stamps never fall inside one that starts after them, nor far-future ones
        inside one that ends before them.
        """
        with self._lock:
            added = [complete_log(raw, 0) for raw in logs]
            for log in added:
                self._store(log, stray=True)
        return added

    def _store(self, log: Log, *, stray: bool) -> None:
        """Give ``log`` the next id and add it to every index of its key (lock held)."""
        log["id"] = self._next_id
        self._next_id += 1
        kind, model, token = log["type"], log["model_name"], log["token_name"]
        for key in itertools.product(
            {0, kind}, {None, model}, {None, token}, {None, log["user_id"]}
        ):
            index = self._indexes.get(key)
            if index is None and key[1:] == (None, None, None):
                index = self._indexes[key] = _Index()
            if index is None:
                continue
            if stray:
                index.strays.append(log)
            else:
                index.add(log)

    def add_live_logs(
        self, n: int, created_at: int | None = None, *, spread: int = 0, **generate: Any
    ) -> list[Log]:
        """Add ``n`` realistic logs at ``created_at`` (default: the server's clock, never before
        the newest).

        With ``spread``, over the ``spread`` seconds up to it instead (still never before the
        newest). ``generate`` goes to :func:`generate_logs` (e.g. ``type_weights``).
        """
        with self._lock:
            newest = self._indexes[_EVERYTHING].logs[-1:] or [blank_log(username="alice")]
            floor = newest[0]["created_at"]
            end = max(int(self.clock() if created_at is None else created_at), floor)
            start = max(end - max(spread, 0), floor)
            self._live_seq += 1
            generate.setdefault("user_id", newest[0]["user_id"])
            generate.setdefault("username", newest[0]["username"])
            generate.setdefault("duplicate_fraction", 0)
            seed = self.config.seed * 1_000_003 + self._live_seq
            return self.add_logs(generate_logs(n, start=start, end=end, seed=seed, **generate))

    def logs(self, type: int | None = None) -> list[Log]:
        """All stored logs, strays too (optionally of one type), in id order."""
        with self._lock:
            index = self._indexes.get((type or 0, None, None, None))
            if index is None:
                return []
            return _by_id(index.logs, index.strays) if index.strays else list(index.logs)

    def _index(self, kind: int, model: str | None, token: str | None, user: int | None) -> _Index:
        """The index for a key, built on first use from its type's index (lock held)."""
        key = (kind, model, token, user)
        index = self._indexes.get(key)
        if index is None:
            index = _Index()
            source = self._indexes.get((kind, None, None, None), _Index())

            def matches(log: Log) -> bool:
                return (
                    model in (None, log["model_name"])
                    and token in (None, log["token_name"])
                    and user in (None, log["user_id"])
                )

            for log in source.logs:
                if matches(log):
                    index.add(log)
            index.strays = [log for log in source.strays if matches(log)]
            self._indexes[key] = index
        return index

    def _range(
        self, params: dict[str, str], kind: int, user: int | None = None
    ) -> tuple[list[Log], int, int]:
        """(logs, lo, hi): ``logs[lo:hi]``, in id order, match the filters and the time range
        (and are ``user``'s, unless None).

        Without strays in range that is a slice of the index itself; with some, a new list.
        """
        start, end = _go_int(params.get("start_timestamp")), _go_int(params.get("end_timestamp"))
        if self.config.unit == "ms":  # created_at*1000 >= start, created_at*1000 <= end
            start_s, end_s = -(-start // 1000), end // 1000
        else:
            start_s, end_s = start, end
        with self._lock:
            index = self._filtered(kind, params, user)
            lo = bisect_left(index.ts, start_s) if start else 0  # 0 means unbounded
            hi = max(lo, bisect_right(index.ts, end_s) if end else len(index.ts))
            strays = [
                log
                for log in index.strays
                if (not start or log["created_at"] >= start_s)
                and (not end or log["created_at"] <= end_s)
            ]
            if not strays:
                return index.logs, lo, hi
            merged = _by_id(index.logs[lo:hi], strays)
            return merged, 0, len(merged)

    def _filtered(self, kind: int, params: dict[str, str], user: int | None) -> _Index:
        model, token = params.get("model_name") or None, params.get("token_name") or None
        return self._index(kind, model, token, user)

    # ---- requests ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def reset_limiter(self) -> None:
        with self._lock:
            self._window.clear()

    def _record(self, path: str, params: dict[str, str], headers: dict[str, str]) -> RequestRecord:
        record = RequestRecord(path, params, 0, headers, time.time())
        with self._lock:
            self._requests.append(record)
        return record

    def _answer(
        self, path: str, params: dict[str, str], headers: _Headers, query: str = ""
    ) -> Response:
        route = self._routes.get(path)
        if route is not None:
            return route(params)
        config = self.config
        location = config.redirects.get(path)
        if location is not None:
            if query and location.startswith("/") and not location.startswith("//"):
                location += ("&" if "?" in location else "?") + query
            response = _html(302)
            response.headers["Location"] = location
            return response
        if config.latency <= 0:
            return self._serve(path, params, headers, query)
        # A round trip: the request reaches the gateway halfway through it (where the
        # limiter counts it and the page is read), and the answer leaves `latency` after
        # the request came, the gateway's work included, as a gateway's CPU on another
        # machine would. Working after the whole wait made every answer later by this
        # process's CPU and its threads' turns at the interpreter, on the client's cores.
        ready = time.monotonic() + config.latency
        time.sleep(config.latency / 2)
        response = self._serve(path, params, headers, query)
        time.sleep(max(0.0, ready - time.monotonic()))
        return response

    def _serve(self, path: str, params: dict[str, str], headers: _Headers, query: str) -> Response:
        config = self.config
        if self.before_request is not None:
            self.before_request(self, path, params)
        if config.outage:
            return _html(503)
        fault = self._pick_fault()
        if fault in ("429", "429_retry_after"):
            retry = {"Retry-After": "1"} if fault == "429_retry_after" else {}
            return Response(429, content_type="", headers=retry)
        if fault in ("502_html", "503_html"):
            return _html(int(fault[:3]))
        if fault == "success_false":
            return json_response(200, {"message": MSG_DB_BUSY, "success": False})
        if fault == "drop":
            return Response(0, action="drop")
        if path.startswith("/api/") and not self._allow():
            return Response(429, content_type="")  # New API: c.Status(429), no body, no header
        response = self._route(path, params, headers, query)
        if config.gzip and response.body and "gzip" in (headers.get("Accept-Encoding") or ""):
            response.body = gzip.compress(response.body)
            response.headers["Content-Encoding"] = "gzip"
        if fault == "truncated":
            response.action = "truncate"
        return response

    def _pick_fault(self) -> str | None:
        config = self.config
        if config.fault_rate <= 0 or not config.faults:
            return None
        with self._lock:
            if self._fault_rng.random() >= config.fault_rate:
                return None
            return self._fault_rng.choice(config.faults)

    def _pick_glitch(self) -> str | None:
        config = self.config
        if config.glitch_rate <= 0 or not config.glitches:
            return None
        with self._lock:
            if self._glitch_rng.random() >= config.glitch_rate:
                return None
            return self._glitch_rng.choice(config.glitches)

    def _allow(self) -> bool:
        """New API's in-memory limiter: a queue of the allowed requests' times."""
        limit = self.config.rate_limit
        if not limit:
            return True
        count, window = limit
        with self._lock:
            now = self.clock()
            if len(self._window) < count:
                self._window.append(now)
                return True
            while len(self._window) > count:  # the limit was lowered meanwhile
                self._window.popleft()
            if now - self._window[0] >= window:
                self._window.popleft()
                self._window.append(now)
                return True
            return False

    def _route(
        self, path: str, params: dict[str, str], headers: _Headers, query: str = ""
    ) -> Response:
        access = ENDPOINTS.get(path) if self._has(path) else None
        if access is None:
            if ENDPOINTS.get(path + "/") and self._has(path + "/"):
                # gin's RedirectTrailingSlash: GET /api/token moves to /api/token/.
                location = path + "/" + ("?" + query if query else "")
                body = f'<a href="{location}">Moved Permanently</a>.\n\n'.encode()
                response = Response(301, body, content_type="text/html; charset=utf-8")
                response.headers["Location"] = location
                return response
            # New API's NoRoute answer for /api and /v1 paths (controller.RelayNotFound).
            message = f"Invalid URL (GET {path})"
            error = {"message": message, "type": "invalid_request_error", "param": "", "code": ""}
            return json_response(404, {"error": error})
        if access in ("user", "admin"):
            denied = self._auth(headers, access == "admin")
            if denied is not None:
                return denied
        if path == "/api/log/self":
            data = self._page(params)
            glitch = self._pick_glitch()
            if glitch == "null_data":
                data = None
            elif glitch == "empty_items":
                data = [] if isinstance(data, list) else {**data, "items": []}
            return json_response(200, {"data": data, "message": "", "success": True})
        if path in ("/api/log/self/stat", "/api/log/stat"):
            data = self._stat(params, admin=path == "/api/log/stat")
            return json_response(200, {"data": data, "message": "", "success": True})
        if path == "/api/pricing":
            return json_response(200, _sorted(site.pricing(self._derived("models", self._models))))
        if path in ("/api/data/self", "/api/data/"):
            return self._quota_data(params, admin=path == "/api/data/")
        handler = {
            "/api/user/self": self._user_self,
            "/api/token/": self._tokens,
            "/api/status": lambda _params: self._status(headers),
            "/api/log/": self._all_logs,
            "/api/user/": self._users,
            "/api/channel/": self._channels,
        }[path]
        return json_response(200, {"data": handler(params), "message": "", "success": True})

    def _has(self, path: str) -> bool:
        """Whether this deployment serves ``path`` (see ``SimConfig.missing_endpoints``)."""
        config = self.config
        if path in config.missing_endpoints:
            return False
        return not (config.family == "oneapi" and path in ONEAPI_ABSENT)

    def _auth(self, headers: _Headers, admin: bool) -> Response | None:
        """middleware/auth.go authHelper, for an access-token request."""
        config = self.config
        token = headers.get("Authorization") or ""
        if not token:
            return json_response(401, {"message": MSG_NO_TOKEN, "success": False})
        if token.replace("Bearer ", "", 1) != config.api_key:
            return json_response(200, {"message": MSG_BAD_TOKEN, "success": False})
        if config.user_id is not None and config.family == "newapi":
            raw = headers.get("New-Api-User") or ""
            if not raw:
                return json_response(401, {"message": MSG_NO_USER, "success": False})
            if not _GO_INT.fullmatch(raw):
                return json_response(401, {"message": MSG_BAD_USER, "success": False})
            if int(raw) != config.user_id:
                return json_response(401, {"message": MSG_USER_MISMATCH, "success": False})
        if admin and not config.is_admin:
            return json_response(200, {"message": MSG_NOT_ADMIN, "success": False})
        return None

    # ---- endpoints -----------------------------------------------------------------------

    def _page(self, params: dict[str, str]) -> Any:
        """GET /api/log/self: New API's common.GetPageQuery + model.GetUserLogs, or one-api's
        controller.GetUserLogs (a bare list; see :class:`SimConfig` ``family``)."""
        config = self.config
        oneapi = config.family == "oneapi"
        if oneapi:  # p, _ := strconv.Atoi(c.Query("p")); if p < 0 { p = 0 }
            page, size = max(_go_int(params.get("p")), 0), ONEAPI_ITEMS_PER_PAGE
            offset = page * size
        else:
            page, size = self._page_query(params)
            offset = (page - 1) * size
        kind = _go_int(params.get("type")) if config.type_filter else 0
        logs, lo, hi = self._range(params, kind, self.self_id())  # GetUserLogs: user_id = ?
        stop = hi - offset
        chunk = logs[max(lo, stop - size) : stop][::-1] if stop > lo else []
        items = []
        for i, log in enumerate(chunk):
            item = user_view(log, config)
            if "id" not in config.omit_fields:
                ident = 0
                if not oneapi:
                    ident = {
                        "db": log["id"],
                        "mod1024": log["id"] % 1024,
                        "position": offset + i + 1,
                        "zero": 0,
                    }[config.id_mode]
                item = {"id": ident, **item}
            items.append(item)
        if oneapi:
            return items
        total = hi - lo
        if config.total_cap is not None:
            total = min(total, config.total_cap)
        return {"page": page, "page_size": size, "total": total, "items": items}

    def _stat(self, params: dict[str, str], *, admin: bool) -> Any:
        """GET /api/log/self/stat (the user's logs) and /api/log/stat (the site's, with
        /api/log/'s ``username``, ``channel`` and ``group`` filters too): model.SumUsedQuota
        (type 2 only)."""
        user = None if admin else self.self_id()
        logs, lo, hi = self._range(params, TYPE_CONSUME, user)
        picked = logs[lo:hi]
        if admin:
            picked = _site_filtered(picked, params)
        shape = self.config.stat_shape
        if shape == "object" and self.config.family == "oneapi":
            return {"quota": sum(log["quota"] for log in picked)}
        if shape == "object":
            # rpm/tpm ignore the time range: the last 60 s before now, same other filters.
            since = int(self.clock()) - 60
            with self._lock:
                index = self._filtered(TYPE_CONSUME, params, user)
                recent = index.logs[bisect_left(index.ts, since) :]
                recent += [log for log in index.strays if log["created_at"] >= since]
            if admin:
                recent = _site_filtered(recent, params)
            return {
                "quota": sum(log["quota"] for log in picked),
                "rpm": len(recent),
                "tpm": sum(log["prompt_tokens"] + log["completion_tokens"] for log in recent),
            }
        rows: dict[tuple[int, str], dict[str, Any]] = {}  # by (UTC day number, model)
        for log in picked:
            row = rows.get((log["created_at"] // 86_400, log["model_name"]))
            if row is None:
                day = time.strftime("%Y-%m-%d", time.gmtime(log["created_at"]))
                row = rows[(log["created_at"] // 86_400, log["model_name"])] = {
                    "date": day,
                    "model_name": log["model_name"],
                    "quota": 0,
                    "count": 0,
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                }
            row["quota"] += log["quota"]
            row["count"] += 1
            row["prompt_tokens"] += log["prompt_tokens"]
            row["completion_tokens"] += log["completion_tokens"]
        listed = [rows[key] for key in sorted(rows)]
        return listed if shape == "list" else {"items": listed}

    # ---- the site's other endpoints (simulator/site.py) -----------------------------------

    def _page_query(self, params: dict[str, str]) -> tuple[int, int]:
        """New API's common/page_info.go GetPageQuery: (page from 1, page size)."""
        page = max(_go_int(params.get("p")), 1)
        size = 0
        for name in ("page_size", "ps", "size"):  # GetPageQuery's aliases
            size = _go_int(params.get(name))
            if size:
                break
        if size <= 0:
            size = 10
        return page, min(size, self.config.page_size_cap)

    def _paged(self, items: list[Any], params: dict[str, str]) -> Any:
        """``items`` (already in the gateway's order) paged as New API's PageInfo
        ``{page, page_size, total, items}``, or as one-api pages: a bare list, ``p`` from 0,
        :data:`ONEAPI_ITEMS_PER_PAGE` a page."""
        if self.config.family == "oneapi":
            start = max(_go_int(params.get("p")), 0) * ONEAPI_ITEMS_PER_PAGE
            return items[start : start + ONEAPI_ITEMS_PER_PAGE]
        page, size = self._page_query(params)
        chunk = items[(page - 1) * size : page * size]
        return {"page": page, "page_size": size, "total": len(items), "items": chunk}

    def self_id(self) -> int:
        """The id of the user the access token belongs to: ``config.user_id``, else 1."""
        return self.config.user_id or 1

    def _derived(self, name: str, compute: Callable[[], _T]) -> _T:
        """``compute()``, a pass over every stored log, made again only once logs were added.

        A gateway answers these (accounts, tokens, hourly rows, prices) from its database
        in milliseconds; a pass over 60,000 logs per request took this process's CPU, and
        its interpreter, from the answers of every other request in flight.
        """
        with self._lock:
            generation = self._next_id
            cached = self._derived_cache.get(name)
        if cached is not None and cached[0] == generation:
            return cast("_T", cached[1])
        value = compute()
        with self._lock:
            self._derived_cache[name] = (generation, value)
        return value

    def _accounts(self) -> dict[int, site.Account]:
        def every_account() -> dict[int, site.Account]:
            with self._lock:
                everything = self._indexes[_EVERYTHING]
                held, strays = self.logs(), list(everything.strays)
            return site.accounts(held, strays)

        found = dict(self._derived("accounts", every_account))
        me = self.self_id()
        if me not in found:
            found[me] = site.Account(me, "alice" if me == 1 else f"user{me}")
        return found

    def _role(self, user_id: int) -> int:
        admin = self.config.is_admin and user_id == self.self_id()
        return site.ROLE_ADMIN if admin else site.ROLE_COMMON

    def _user_self(self, _params: dict[str, str]) -> Any:
        """GET /api/user/self: :func:`site.user_record` (a map: keys sorted, as Go writes)."""
        me = self.self_id()
        role = self._role(me)
        user = self._derived(
            f"user_record {me} {role}",
            lambda: site.user_record(self._accounts()[me], role=role, self_id=me),
        )
        return _sorted(user)

    def _tokens(self, params: dict[str, str]) -> Any:
        """GET /api/token/ (controller/token.go GetAllTokens): the self user's tokens."""
        me, masked = self.self_id(), self.config.token_keys == "masked"
        found = self._derived(
            f"tokens {me} {masked}", lambda: site.tokens(self._accounts()[me], masked=masked)
        )
        return self._paged(found, params)

    def _status(self, headers: _Headers) -> Any:
        host = headers.get("Host") or "127.0.0.1"
        data = site.status(
            data_export=self.config.data_export,
            start_time=self._started,
            server_address=f"http://{host}",
        )
        return _sorted(data)

    def _models(self) -> list[str]:
        return [log["model_name"] for log in self.logs() if log["model_name"]]

    def _quota_data(self, params: dict[str, str], *, admin: bool) -> Response:
        """GET /api/data/self and /api/data/ (controller/usedata.go, model/usedata.go)."""
        raw_start, raw_end = params.get("start_timestamp") or "", params.get("end_timestamp") or ""
        if not _GO_INT.fullmatch(raw_start):  # strconv.ParseInt: "" and junk are errors
            return json_response(400, {"message": MSG_START, "success": False})
        if not _GO_INT.fullmatch(raw_end):
            return json_response(400, {"message": MSG_END, "success": False})
        start, end = int(raw_start), int(raw_end)
        if not admin and end - start > site.MAX_DATA_SPAN:
            return json_response(200, {"message": site.MSG_SPAN, "success": False})
        rows = (
            self._derived("quota_data", lambda: site.quota_data(self.logs()))
            if self.config.data_export
            else []
        )
        rows = [row for row in rows if start <= row["created_at"] <= end]
        username = params.get("username") or ""
        if not admin:
            rows = [row for row in rows if row["user_id"] == self.self_id()]
        elif username:
            rows = [row for row in rows if row["username"] == username]
        else:
            rows = site.quota_data_by_model(rows)
        return json_response(200, {"data": rows, "message": "", "success": True})

    def _all_logs(self, params: dict[str, str]) -> Any:
        """GET /api/log/ (controller/log.go GetAllLogs): every user's logs, newest first,
        with /api/log/self's filters plus ``username``, ``channel``, ``group`` and
        ``request_id`` (exact matches; 0 or empty: no filter); whole model.Log rows."""
        kind = _go_int(params.get("type")) if self.config.type_filter else 0
        logs, lo, hi = self._range(params, kind)
        request_id = params.get("request_id") or ""
        picked = [
            log
            for log in _site_filtered(logs[lo:hi], params)
            if not request_id or log["request_id"] == request_id
        ]
        items = [admin_view(log, self.config) for log in reversed(picked)]
        return self._paged(items, params)

    def _users(self, params: dict[str, str]) -> Any:
        """GET /api/user/ (controller/user.go GetAllUsers): every user, newest id first."""
        found, me = self._accounts(), self.self_id()
        users = [
            site.user_record(found[uid], role=self._role(uid), self_id=me, full=True)
            for uid in sorted(found, reverse=True)
        ]
        return self._paged(users, params)

    def _channels(self, params: dict[str, str]) -> Any:
        """GET /api/channel/ (controller/channel.go GetAllChannels): ``data`` a map
        ``{items, page, page_size, total, type_counts}``; one-api: a bare list."""
        found = self._derived("channels", lambda: site.channels(self.logs()))
        data = self._paged(found, params)
        if isinstance(data, dict):
            counts: dict[str, int] = {}
            for channel in found:
                counts[str(channel["type"])] = counts.get(str(channel["type"]), 0) + 1
            data = _sorted({**data, "type_counts": counts})  # a gin.H; items keep their order
        return data

    def secret_values(self) -> frozenset[str]:
        """Every secret this simulator can serve now: :data:`site.SECRET_VALUES` and every
        user's password and access token, every token's key (each contains
        :data:`site.SECRET_MARKER`)."""
        found, me = self._accounts(), self.self_id()
        values = set(site.SECRET_VALUES)
        for uid, account in found.items():
            values.add(site.access_token(uid, me))
            values.add(site.password_hash(uid, me))
            values.update(site.token_key(token["id"]) for token in site.tokens(account))
        values.update(channel["key"] for channel in site.channels(self.logs()))
        return frozenset(values)

    # ---- serving -------------------------------------------------------------------------

    @contextmanager
    def serve(self, port: int = 0) -> Iterator[str]:
        """Serve on 127.0.0.1 (a free port by default); yields the base URL."""
        server = _Server(("127.0.0.1", port), _Handler)
        server.sim = self
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            if thread.is_alive():  # at interpreter exit a daemon thread may be gone
                server.shutdown()
            server.close_connections()
            server.server_close()
            thread.join()


def json_response(status: int, payload: Any) -> Response:
    """``payload`` as New API writes JSON: compact, UTF-8, non-ASCII as is."""
    return Response(status, _dumps(payload).encode())


def _html(status: int) -> Response:
    body = _HTML.format(_STATUS_TEXT[status]).encode()
    return Response(status, body, content_type="text/html")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sim: Simulator

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, connection: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(connection)

    def close_connections(self) -> None:
        """End idle keep-alive connections so a stopped simulator answers nothing."""
        with self._connections_lock:
            for connection in self._connections:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-answer are expected here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        with suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Every answer's ``Date`` header (send_response always sends one): the server's clock."""
        if timestamp is None:
            timestamp = self.server.sim.clock()
        return formatdate(timestamp, usegmt=True)

    def do_GET(self) -> None:
        arrived = time.monotonic()
        sim = self.server.sim
        url = urlsplit(self.path)
        # Go's c.Query returns the first value of a repeated parameter.
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        record = sim._record(url.path, params, dict(self.headers.items()))
        # self.headers: case-insensitive lookups; the raw query goes on with a redirect.
        response = sim._answer(url.path, params, self.headers, url.query)
        record.status = response.status
        if response.action == "drop":
            self.close_connection = True
            return
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        body = response.body
        if response.action == "truncate":
            body = body[: len(body) // 2]
            self.close_connection = True
        rate = sim.config.trickle_bytes_per_second
        if rate is not None and rate > 0 and _is_api(url.path):
            self._trickle(body, rate)
        else:
            self.wfile.write(body)
        record.answered_in = time.monotonic() - arrived

    def _trickle(self, body: bytes, rate: float) -> None:
        """Write ``body`` in pieces at ``rate`` bytes a second (headers are already out)."""
        piece = max(1, int(rate * TRICKLE_TICK))
        for start in range(0, len(body), piece):
            if start:
                time.sleep(piece / rate)
            self.wfile.write(body[start : start + piece])


def _site_filtered(logs: list[Log], params: dict[str, str]) -> list[Log]:
    """``logs`` that match /api/log/'s ``username``, ``channel`` and ``group`` (exact
    matches; 0 or empty: no filter)."""
    username, group = params.get("username") or "", params.get("group") or ""
    channel = _go_int(params.get("channel"))
    if not (username or group or channel):
        return logs
    return [
        log
        for log in logs
        if (not username or log["username"] == username)
        and (not channel or log["channel"] == channel)
        and (not group or log["group"] == group)
    ]


def _by_id(*runs: list[Log]) -> list[Log]:
    """Runs of logs each in id order, merged into one."""
    return list(merge(*runs, key=lambda log: int(log["id"])))


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")
