"""Serve a simulated New API account on loopback until SIGINT or SIGTERM.

    python -m simulator                         # http://127.0.0.1:8765, token sim-token, user 1
    python -m simulator --port 0 --live-rate 0  # a free port; no traffic unless asked (the demo)
    python -m simulator --logs 20000 --days 30 --id-mode db --user-id 0 --no-gzip
    python -m simulator --family oneapi --clock-offset -300 --trickle 2000 --stray-logs 5
    python -m simulator --glitch-rate 0.1 --redirect /log/self=/api/log/self

The first line on stdout is one JSON object, `base_url` and what GET /_sim/summary answers:
scripts read the URL from it. The account (simulator/account.py) has New API's quirks on;
every option below changes one of them (simulator/server.py's SimConfig says how, and from
which gateway source). Control paths, no token needed:

    GET /_sim/summary          logs held, per type number, and the oldest/newest created_at
    GET /_sim/traffic?add=N    store N new logs now (spread over the last seconds)
    GET /_sim/traffic?rate=R   set the steady traffic, in logs per minute
"""

from __future__ import annotations

import argparse
import json
import signal
import threading

from .account import DemoSimulator, build_account, stray_logs
from .server import FAULT_KINDS, GLITCH_KINDS


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The usage examples as written, and every option's default."""


def _per_minute(text: str) -> float:
    """'30', '30/min' or '2/s' as logs per minute."""
    number, _, unit = text.partition("/")
    scale = {"": 1, "m": 1, "min": 1, "s": 60, "sec": 60, "h": 1 / 60}[unit.strip().lower()]
    return float(number) * scale


def _rate_limit(text: str) -> tuple[int, float]:
    """'360/180' as (360 requests, 180 seconds)."""
    count, _, window = text.partition("/")
    return int(count), float(window or 60)


def _redirect(text: str) -> tuple[str, str]:
    """'/log/self=/api/log/self' as (path, Location)."""
    path, sep, location = text.partition("=")
    if not sep or not path.startswith("/") or not location:
        raise argparse.ArgumentTypeError(f"expected PATH=LOCATION, PATH starting with /: {text!r}")
    return path, location


def _kinds(text: str) -> tuple[str, ...]:
    return tuple(kind for kind in text.split(",") if kind)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description=__doc__, formatter_class=_Help
    )
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--days", type=float, default=21, help="history length before now")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--per-day", type=int, default=800, help="historical logs per day")
    size.add_argument("--logs", type=int, default=None, help="historical logs in all, instead")
    parser.add_argument(
        "--live-rate", type=_per_minute, default=20.0, help="new logs per minute, e.g. 30 or 2/s"
    )
    parser.add_argument(
        "--user-id", type=int, default=1, help="required New-Api-User; 0: none required"
    )
    parser.add_argument("--api-key", default="sim-token", help="the access token it accepts")
    parser.add_argument("--unit", choices=("s", "ms"), default="s", help="timestamps on the wire")
    parser.add_argument(
        "--id-mode",
        choices=("db", "mod1024", "position", "zero"),
        default="mod1024",
        help="the `id` logs carry (New API's user endpoint: mod1024)",
    )
    parser.add_argument(
        "--other-mode", choices=("string", "object"), default="string", help="how `other` is sent"
    )
    parser.add_argument(
        "--stat-shape",
        choices=("object", "list", "items"),
        default="object",
        help="the stat endpoints' answer (New API: object)",
    )
    parser.add_argument("--total-cap", type=int, default=None, help="largest `total` answered")
    parser.add_argument("--admin", action="store_true", help="also answer /api/log/stat")
    parser.add_argument(
        "--users",
        type=int,
        default=1,
        help="above 1: a site of that many users, the token an admin's (for scope: site)",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument(
        "--rate-limit", type=_rate_limit, default=None, help="requests/seconds, e.g. 360/180"
    )
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of failed answers")
    parser.add_argument(
        "--faults", default=",".join(FAULT_KINDS), help="the kinds --fault-rate picks from"
    )
    parser.add_argument(
        "--gzip",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="gzip JSON when the client accepts it",
    )
    parser.add_argument("--seed", type=int, default=7, help="the same seed, the same history")
    parser.add_argument(
        "--family",
        choices=("newapi", "oneapi"),
        default="newapi",
        help="the gateway imitated; oneapi: p from 0, 10 logs a page, `data` a bare list, id 0",
    )
    parser.add_argument(
        "--type-filter",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="honour `type` on /api/log/self (--no-type-filter: every page holds every type)",
    )
    parser.add_argument(
        "--glitch-rate",
        type=float,
        default=0.0,
        help="share of /api/log/self pages answered as a success with nothing in them",
    )
    parser.add_argument(
        "--glitches", default=",".join(GLITCH_KINDS), help="the kinds --glitch-rate picks from"
    )
    parser.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        help="seconds the server's clock is ahead (negative: behind): Date, new logs' created_at",
    )
    parser.add_argument(
        "--trickle",
        type=float,
        default=None,
        metavar="BYTES_PER_SECOND",
        help="send every /api body in small pieces at this rate, headers at once",
    )
    parser.add_argument(
        "--redirect",
        type=_redirect,
        action="append",
        default=[],
        metavar="PATH=LOCATION",
        help="answer PATH with 302 to LOCATION (a same-origin path keeps the query); repeatable",
    )
    parser.add_argument(
        "--stray-logs",
        type=int,
        default=0,
        metavar="N",
        help="also hold N logs outside any time window (created_at 0, negative, far future)",
    )
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line's options (exits with a usage error on a wrong one)."""
    parser = _parser()
    args = parser.parse_args(argv)
    for option, known in (("faults", FAULT_KINDS), ("glitches", GLITCH_KINDS)):
        kinds = _kinds(getattr(args, option))
        unknown = set(kinds) - set(known)
        if unknown:
            parser.error(f"unknown {option[:-1]} kinds: {sorted(unknown)}")
        setattr(args, option, kinds)
    return args


def build(args: argparse.Namespace) -> DemoSimulator:
    """The account :func:`parse`'s options ask for."""
    sim = build_account(
        days=args.days,
        per_day=args.per_day,
        logs=args.logs,
        seed=args.seed,
        rate=args.live_rate,
        unit=args.unit,
        id_mode=args.id_mode,
        other_mode=args.other_mode,
        stat_shape=args.stat_shape,
        total_cap=args.total_cap,
        is_admin=args.admin,
        api_key=args.api_key,
        user_id=args.user_id or None,
        rate_limit=args.rate_limit,
        fault_rate=args.fault_rate,
        faults=args.faults,
        latency=args.latency,
        gzip=args.gzip,
        family=args.family,
        type_filter=args.type_filter,
        glitch_rate=args.glitch_rate,
        glitches=args.glitches,
        clock_offset=args.clock_offset,
        trickle_bytes_per_second=args.trickle,
        redirects=dict(args.redirect),
        users=max(args.users, 1),
    )
    if args.stray_logs > 0:
        sim.add_stray_logs(stray_logs(args.stray_logs, seed=args.seed, user_id=args.user_id or 1))
    return sim


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    sim = build(args)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with sim.serve(args.port) as base_url:
        print(json.dumps({"base_url": base_url, **sim.summary()}), flush=True)
        while not stop.is_set():
            if sim.rate <= 0:  # /_sim/traffic?rate= may start it
                stop.wait(0.2)
            elif not stop.wait(60 / sim.rate):
                sim.add_traffic(1, spread=0)


if __name__ == "__main__":
    main()
