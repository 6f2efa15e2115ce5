"""Two time shards on two limiters against one process on one: what sharding a backfill buys.

    uv run python -m benchmarks.shards [--logs 6000] [--days 30] [--rate-limit 60/10]

New API limits each client IP on its own (middleware/rate-limit.go). Two simulators holding
the same logs, each with its own limiter, stand for one gateway seen from two source IPs
(loopback gives every client the same address). Measured, side by side, from one run:

  one        the tap for the whole history against the first
  two shards start_date..mid against the first and mid..end_date against the second, at
             the same time, each its own process and state, as an orchestrator runs them

Each row checks that the log records delivered (their log_key) are the simulator's logs,
once, and prints the wall time beside the limiter floor (data pages x window / budget, for
the requests that one limiter must let through).
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shards", description=__doc__)
    parser.add_argument("--logs", type=int, default=6000)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--rate-limit", default="60/10", help="N/SECONDS per source IP")
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
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        urls = [stack.enter_context(sim.serve()) for sim in sims]
        bounds = {"start_date": rfc3339(start), "end_date": rfc3339(end)}
        one, one_keys = run([{**only_logs, **bounds, "base_url": urls[0]}], Path(tmp))
        for sim in sims:
            sim.reset_limiter()
        halves = [
            {**only_logs, "base_url": url, "start_date": rfc3339(lo), "end_date": rfc3339(hi)}
            for url, (lo, hi) in zip(urls, ((start, mid), (mid + 1, end)), strict=True)
        ]
        two, two_keys = run(halves, Path(tmp))
    floor = pages * window / budget
    print(f"{expected} logs over {args.days:g} days, {pages} data pages; limiter {args.rate_limit}")
    print(f"{'':12} {'wall s':>8} {'floor s':>8} {'logs':>7} {'distinct':>8}")
    for label, wall, keys, row_floor in (
        ("one", one, one_keys, floor),
        ("two shards", two, two_keys, floor / 2),
    ):
        print(f"{label:12} {wall:8.1f} {row_floor:8.1f} {len(keys):7} {len(set(keys)):8}")
    exact = len(one_keys) == len(set(one_keys)) == expected and set(one_keys) == set(two_keys)
    exact &= len(two_keys) == expected
    print(f"speed-up {one / two:.2f}x; both exact: {'yes' if exact else 'NO'}")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
