"""Serve a simulated New API account: ``python -m simulator --port 8765 --logs 20000``."""

from __future__ import annotations

import argparse
import signal
import threading
import time

from .data import generate_logs
from .server import FAULT_KINDS, SimConfig, Simulator


def _per_minute(text: str) -> float:
    """'30', '30/min' or '2/s' as logs per minute."""
    number, _, unit = text.partition("/")
    scale = {"": 1, "m": 1, "min": 1, "s": 60, "sec": 60, "h": 1 / 60}[unit.strip().lower()]
    return float(number) * scale


def _rate_limit(text: str) -> tuple[int, float]:
    """'360/180' as (360 requests, 180 seconds)."""
    count, _, window = text.partition("/")
    return int(count), float(window or 60)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--logs", type=int, default=20_000, help="number of historical logs")
    parser.add_argument("--days", type=float, default=30, help="history length before now")
    parser.add_argument("--unit", choices=("s", "ms"), default="s")
    parser.add_argument("--id-mode", choices=("db", "mod1024", "position", "zero"), default="db")
    parser.add_argument("--other-mode", choices=("string", "object"), default="string")
    parser.add_argument("--stat-shape", choices=("object", "list", "items"), default="object")
    parser.add_argument("--total-cap", type=int, default=None)
    parser.add_argument("--admin", action="store_true", help="allow /api/log/stat")
    parser.add_argument("--live-rate", type=_per_minute, default=0, help="new logs, e.g. 30/min")
    parser.add_argument("--user-id", type=int, default=None, help="require New-Api-User: N")
    parser.add_argument("--api-key", default="sim-token")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--rate-limit", type=_rate_limit, default=None, help="e.g. 360/180")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--faults", default=",".join(FAULT_KINDS), help="comma-separated kinds")
    parser.add_argument("--gzip", action="store_true", help="gzip JSON when accepted")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    faults = tuple(kind for kind in args.faults.split(",") if kind)
    unknown = set(faults) - set(FAULT_KINDS)
    if unknown:
        parser.error(f"unknown fault kinds: {sorted(unknown)}")
    config = SimConfig(
        unit=args.unit,
        id_mode=args.id_mode,
        other_mode=args.other_mode,
        stat_shape=args.stat_shape,
        total_cap=args.total_cap,
        is_admin=args.admin,
        api_key=args.api_key,
        user_id=args.user_id,
        rate_limit=args.rate_limit,
        fault_rate=args.fault_rate,
        faults=faults,
        latency=args.latency,
        gzip=args.gzip,
        seed=args.seed,
    )
    end = int(time.time())
    logs = generate_logs(
        args.logs,
        start=end - int(args.days * 86_400),
        end=end,
        seed=args.seed,
        user_id=args.user_id or 1,
    )
    sim = Simulator(logs, config)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    interval = 60 / args.live_rate if args.live_rate > 0 else None
    with sim.serve(args.port) as base_url:
        print(base_url, flush=True)
        while not stop.wait(interval):
            sim.add_live_logs(1)


if __name__ == "__main__":
    main()
