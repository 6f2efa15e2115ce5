"""The demo's New API account: realistic history, steady new traffic, dev control paths.

New API's quirks are on: ids modulo 1024 (they collide), `other` as a JSON string, seconds
on the wire, the `New-Api-User` header required, gzip, identical logs in one second. The
account has several models and tokens, weeks of history with a daily rhythm, top-ups,
refunds, errors, an admin's quota changes (type 3) and bonuses (type 4) now and then, and
steady new traffic. Two control paths (no token needed, loopback only):

    GET /_sim/summary          logs held, per type number, and the oldest/newest created_at
    GET /_sim/traffic?add=N    store N new logs now (spread over the last seconds)
    GET /_sim/traffic?rate=R   set the steady traffic, in logs per minute

The summary counts logs per `type` number, as the server stores them; which stream a type
goes to is the tap's business (tap_1688token/logtypes.py), not the gateway's.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from .data import TYPE_CONSUME, Log, generate_logs, site_logs
from .server import Response, SimConfig, Simulator, json_response

#: mostly billed calls; errors and refunds as a busy account sees them; a top-up a day or so;
#: now and then an admin changes the quota (manage, 3) or a bonus comes (system, 4)
ACCOUNT_TYPE_WEIGHTS: Mapping[int, float] = {
    2: 0.905,
    5: 0.07,
    6: 0.02,
    1: 0.005,
    3: 0.0006,
    4: 0.0004,
}
DAY = 86_400
#: the names of a site's users, in turn (a number follows once they run out)
SITE_NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")


class DemoSimulator(Simulator):
    """A :class:`Simulator` with steady traffic and the ``/_sim/`` control paths."""

    def __init__(
        self,
        logs: list[Log],
        config: SimConfig,
        rate: float,
        type_weights: Mapping[int, float] = ACCOUNT_TYPE_WEIGHTS,
        users: Sequence[tuple[int, str]] = (),
    ) -> None:
        super().__init__(logs, config)
        self.rate = rate  # logs per minute
        self.type_weights = type_weights
        #: a site's users (id, name): new traffic comes from all of them; empty: one account
        self.users = tuple(users)
        self.add_route("/_sim/summary", lambda _params: json_response(200, self.summary()))
        self.add_route("/_sim/traffic", self._traffic)

    def add_traffic(self, n: int, spread: int = 5) -> list[Log]:
        """``n`` realistic logs over the last ``spread`` seconds (never before the newest)."""
        if n <= 0:
            return []
        if len(self.users) > 1:
            with self._lock:
                newest = max((log["created_at"] for log in self.logs()), default=0)
                end = max(int(self.clock()), newest)
                self._live_seq += 1
                logs = site_logs(
                    n,
                    start=max(end - spread, newest),
                    end=end,
                    seed=self.config.seed * 1_000_003 + self._live_seq,
                    users=self.users,
                    type_weights=self.type_weights,
                    twin_fraction=0.02,
                )
                return self.add_logs(logs)
        # Duplicates as in the history: identical calls in one second are what log_key is for.
        return self.add_live_logs(
            n, spread=spread, type_weights=self.type_weights, duplicate_fraction=0.02
        )

    def summary(self) -> dict[str, Any]:
        """What the account holds; ``types`` maps each type number (as text, a JSON key) to
        its logs."""
        held = self.logs()
        per_type = Counter(log["type"] for log in held)
        return {
            "logs": len(held),
            "types": {str(number): per_type[number] for number in sorted(per_type)},
            "usage_quota": sum(log["quota"] for log in held if log["type"] == TYPE_CONSUME),
            "oldest": min(log["created_at"] for log in held) if held else None,
            "newest": max(log["created_at"] for log in held) if held else None,
            "rate_per_minute": self.rate,
        }

    def _traffic(self, params: dict[str, str]) -> Response:
        added = self.add_traffic(int(params.get("add") or 0), int(params.get("spread") or 5))
        if params.get("rate"):
            self.rate = float(params["rate"])
        return json_response(200, {"added": len(added), **self.summary()})


#: created_at of stray logs, in turn: unset, just before the epoch, a day before it, the
#: year 2100, and the last second JSON dates reach (9999-12-31T23:59:59Z)
STRAY_TIMES = (0, -1, -DAY, 4_102_444_800, 253_402_300_799)


def stray_logs(n: int, *, seed: int = 7, user_id: int = 1, username: str = "alice") -> list[Log]:
    """``n`` realistic logs with created_at outside any time window (:data:`STRAY_TIMES` in
    turn), for :meth:`Simulator.add_stray_logs`."""
    logs = generate_logs(
        n, start=0, end=0, seed=seed, user_id=user_id, username=username, duplicate_fraction=0
    )
    for i, log in enumerate(logs):
        log["created_at"] = STRAY_TIMES[i % len(STRAY_TIMES)]
    return logs


def build_account(
    *,
    days: float = 21,
    per_day: int = 800,
    logs: int | None = None,
    seed: int = 7,
    rate: float = 20,
    now: int | None = None,
    type_weights: Mapping[int, float] = ACCOUNT_TYPE_WEIGHTS,
    users: int = 1,
    **config: Any,
) -> DemoSimulator:
    """The demo account: ``days`` of history up to ``now`` (default: the server's clock, the
    current second plus any ``clock_offset``).

    ``logs`` (default ``days`` x ``per_day``) is how many; ``config`` overrides the account's
    :class:`SimConfig` fields. ``users`` above 1: a whole site of that many users (the first
    is the token's, an admin), its history and traffic everyone's (:func:`site_logs`).
    """
    options: dict[str, Any] = {
        "unit": "s",
        "id_mode": "mod1024",
        "other_mode": "string",
        "stat_shape": "object",
        "user_id": 1,
        "gzip": True,
        "seed": seed,
    }
    options.update(config)
    settings = SimConfig(**options)
    end = int(time.time() + settings.clock_offset) if now is None else now
    count = max(1, int(days * per_day)) if logs is None else logs
    start = end - int(days * DAY)
    if users > 1:
        first = settings.user_id or 1
        site = tuple(
            (first + i, SITE_NAMES[i % len(SITE_NAMES)] + ("" if i < len(SITE_NAMES) else str(i)))
            for i in range(users)
        )
        settings.is_admin = True
        history = site_logs(
            count, start=start, end=end, seed=seed, users=site, type_weights=type_weights
        )
        return DemoSimulator(history, settings, rate, type_weights, users=site)
    history = generate_logs(
        count,
        start=start,
        end=end,
        seed=seed,
        type_weights=type_weights,
        user_id=settings.user_id or 1,
    )
    return DemoSimulator(history, settings, rate, type_weights)
