"""A realistic New API account on loopback, for the demo and for trying the tap by hand.

    python -m simulator.account                    # http://127.0.0.1:8765, token sim-token, user 1
    python -m simulator.account --live-rate 0      # no traffic unless asked for (the demo)

It serves tests/simulator (dev tooling, never part of the installed tap) with New API's quirks
on: ids modulo 1024 (they collide), `other` as a JSON string, seconds on the wire, the
`New-Api-User` header required, gzip, identical logs in one second. The account has several
models and tokens, weeks of history with a daily rhythm, top-ups, refunds, errors, and steady
new traffic. Two dev-only control paths (no token needed, loopback only):

    GET /_sim/summary          logs held, by stream, and the newest created_at
    GET /_sim/traffic?add=N    store N new logs now (spread over the last seconds)
    GET /_sim/traffic?rate=R   set the steady traffic, in logs per minute
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from .data import generate_logs
from .server import SimConfig, Simulator, _json, _Response

STREAM_BY_TYPE = {2: "usage_logs", 1: "topup_logs", 6: "refund_logs", 5: "error_logs"}
#: mostly billed calls; errors and refunds as a busy account sees them; a top-up a day or so
TYPE_WEIGHTS = {2: 0.905, 5: 0.07, 6: 0.02, 1: 0.005}
DAY = 86_400


class DemoSimulator(Simulator):
    """The test simulator plus steady traffic and the /_sim/ control paths."""

    def __init__(self, logs: list[dict[str, Any]], config: SimConfig, rate: float) -> None:
        super().__init__(logs, config)
        self.rate = rate  # logs per minute
        self._traffic_seq = 0

    def add_traffic(self, n: int, spread: int = 5) -> list[dict[str, Any]]:
        """``n`` realistic logs over the last ``spread`` seconds (never before the newest)."""
        if n <= 0:
            return []
        with self._lock:
            held = self.logs()
            now = int(self.now())
            newest = held[-1]["created_at"] if held else now
            start = max(newest, now - spread)
            self._traffic_seq += 1
            user = held[-1] if held else {"user_id": 1, "username": "alice"}
            logs = generate_logs(
                n,
                start=start,
                end=max(start, now),
                seed=self.config.seed * 7_919 + self._traffic_seq,
                type_weights=TYPE_WEIGHTS,
                user_id=user["user_id"],
                username=user["username"],
            )
            return self.add_logs(logs)

    def summary(self) -> dict[str, Any]:
        held = self.logs()
        by_stream = Counter(STREAM_BY_TYPE.get(log["type"], "other") for log in held)
        return {
            "logs": len(held),
            "streams": {name: by_stream.get(name, 0) for name in STREAM_BY_TYPE.values()},
            "usage_quota": sum(log["quota"] for log in held if log["type"] == 2),
            "oldest": held[0]["created_at"] if held else None,
            "newest": held[-1]["created_at"] if held else None,
            "rate_per_minute": self.rate,
        }

    def _answer(self, path: str, params: dict[str, str], headers: Mapping[str, str]) -> _Response:
        if path == "/_sim/summary":
            return _json(200, self.summary())
        if path == "/_sim/traffic":
            added = self.add_traffic(int(params.get("add") or 0), int(params.get("spread") or 5))
            if params.get("rate"):
                self.rate = float(params["rate"])
            return _json(200, {"added": len(added), **self.summary()})
        return super()._answer(path, params, headers)


def build(
    *,
    days: float = 21,
    per_day: int = 800,
    seed: int = 7,
    rate: float = 20,
    now: int | None = None,
    **config: Any,
) -> DemoSimulator:
    """The demo account: ``days`` of history up to ``now`` (default: the current second)."""
    end = int(time.time()) if now is None else now
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
    logs = generate_logs(
        max(1, int(days * per_day)),
        start=end - int(days * DAY),
        end=end,
        seed=seed,
        type_weights=TYPE_WEIGHTS,
        user_id=options["user_id"] or 1,
    )
    return DemoSimulator(logs, SimConfig(**options), rate)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m simulator.account",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--days", type=float, default=21, help="days of history (21)")
    parser.add_argument("--per-day", type=int, default=800, help="logs per day (800)")
    parser.add_argument("--live-rate", type=float, default=20, help="new logs per minute (20)")
    parser.add_argument("--user-id", type=int, default=1, help="required New-Api-User (1)")
    parser.add_argument("--api-key", default="sim-token")
    parser.add_argument("--id-mode", choices=("db", "mod1024", "position", "zero"))
    parser.add_argument("--other-mode", choices=("string", "object"))
    parser.add_argument("--unit", choices=("s", "ms"))
    parser.add_argument("--admin", action="store_true", help="also answer /api/log/stat")
    parser.add_argument("--rate-limit", help="requests/seconds, e.g. 360/180 (New API's)")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of failed answers")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    overrides: dict[str, Any] = {
        "user_id": args.user_id or None,
        "api_key": args.api_key,
        "is_admin": args.admin,
        "fault_rate": args.fault_rate,
    }
    for name in ("id_mode", "other_mode", "unit"):
        if getattr(args, name):
            overrides[name] = getattr(args, name)
    if args.rate_limit:
        count, _, window = args.rate_limit.partition("/")
        overrides["rate_limit"] = (int(count), float(window or 60))
    sim = build(
        days=args.days, per_day=args.per_day, seed=args.seed, rate=args.live_rate, **overrides
    )

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with sim.serve(args.port) as base_url:
        # One JSON line first: scripts read the URL from it.
        print(json.dumps({"base_url": base_url, **sim.summary()}), flush=True)
        while not stop.is_set():
            if sim.rate > 0:
                if stop.wait(60 / sim.rate):
                    break
                sim.add_traffic(1, spread=0)
            else:
                stop.wait(0.2)


if __name__ == "__main__":
    main()
