"""Two time shards on two limiters against one process on one: what sharding a backfill buys.

    uv run python -m benchmarks.shards [--logs 6000] [--days 30] [--rate-limit 60/10]

New API limits each client IP on its own (middleware/rate-limit.go). Two simulators holding
the same logs, each with its own limiter, stand for one gateway seen from two source IPs
(loopback gives every client the same address). Measured, side by side, from one run:

  one        the tap for the whole history against the first
  two shards start_date..mid against the first and mid..end_date against the second, at
             the same time, each its own process and state, as an orchestrator runs them

Each row checks that the log records delivered (their log_key) are the simulator's logs,
once, and prints the wall time beside the requests each limiter let through (every stream's:
snapshots, sums and hourly usage besides the data pages) and the floor they set (the busiest
limiter's requests x window / budget).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from simulator import SimConfig, Simulator, generate_logs
from tap_1688token.logtypes import STREAM_BY_TYPE
from tap_1688token.records import rfc3339

ROOT = Path(__file__).resolve().parent.parent
TAP = Path(sys.prefix) / "bin" / "tap-1688token"


def run(configs: Sequence[dict[str, object]], workdir: Path) -> tuple[float, list[str]]:
    """Run one tap process per config at once; their wall time and every log_key sent."""
    procs = []
    started = time.perf_counter()
    for i, config in enumerate(configs):
        path = workdir / f"config-{i}.json"
        path.write_text(json.dumps(config))
        procs.append(
            subprocess.Popen(  # noqa: S603 - the tap of this checkout
                [str(TAP), "--config", str(path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
            )
        )
    keys: list[str] = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"a tap process failed with status {proc.returncode}")
        for line in out.splitlines():
            message = json.loads(line)
            if message["type"] == "RECORD" and message["stream"] in STREAM_BY_TYPE.values():
                keys.append(message["record"]["log_key"])
    return time.perf_counter() - started, keys


def _answered(sim: Simulator) -> int:
    """Requests the simulator's limiter let through."""
    return sum(1 for request in sim.requests if request.status != 429)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shards", description=__doc__)
    parser.add_argument("--logs", type=int, default=6000)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--rate-limit", default="60/10", help="N/SECONDS per source IP")
    parser.add_argument(
        "--tap-config-json", type=json.loads, default={}, help="extra settings for every tap"
    )
    args = parser.parse_args(argv)
    budget, window = (float(part) for part in args.rate_limit.split("/"))
    end = int(time.time()) // 86_400 * 86_400
    start = end - int(args.days * 86_400)
    logs = generate_logs(args.logs, start=start, end=end, seed=1)
    limit = (int(budget), window)
    sims = [Simulator(logs, SimConfig(rate_limit=limit)) for _ in range(2)]
    expected = len(sims[0].logs())
    pages = sum(math.ceil(len(sims[0].logs(t)) / 100) for t in STREAM_BY_TYPE)
    mid = (start + end) // 2
    only_logs = {"verify": "off", "min_age_seconds": 0, "api_key": "sim-token"}
    only_logs |= args.tap_config_json
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        urls = [stack.enter_context(sim.serve()) for sim in sims]
        bounds = {"start_date": rfc3339(start), "end_date": rfc3339(end)}
        one, one_keys = run([{**only_logs, **bounds, "base_url": urls[0]}], Path(tmp))
        one_asked = [_answered(sims[0])]
        for sim in sims:
            sim.reset_limiter()
            sim.reset_requests()
        halves = [
            {**only_logs, "base_url": url, "start_date": rfc3339(lo), "end_date": rfc3339(hi)}
            for url, (lo, hi) in zip(urls, ((start, mid), (mid + 1, end)), strict=True)
        ]
        two, two_keys = run(halves, Path(tmp))
        two_asked = [_answered(sim) for sim in sims]
    print(
        f"{expected} logs over {args.days:g} days, {pages} data pages; limiter "
        f"{args.rate_limit}; tap extras {json.dumps(args.tap_config_json)}"
    )
    print(f"{'':12} {'wall s':>8} {'requests':>12} {'floor s':>8} {'logs':>7} {'distinct':>8}")
    for label, wall, keys, asked in (
        ("one", one, one_keys, one_asked),
        ("two shards", two, two_keys, two_asked),
    ):
        # What the busiest limiter had to let through, at its pace.
        floor = max(asked) * window / budget
        shown = "+".join(str(n) for n in asked)
        print(f"{label:12} {wall:8.1f} {shown:>12} {floor:8.1f} {len(keys):7} {len(set(keys)):8}")
    exact = len(one_keys) == len(set(one_keys)) == expected and set(one_keys) == set(two_keys)
    exact &= len(two_keys) == expected
    print(f"speed-up {one / two:.2f}x; both exact: {'yes' if exact else 'NO'}")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
