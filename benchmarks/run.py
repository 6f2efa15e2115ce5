"""Benchmark the tap against a plain page-by-page client, on the local simulator.

    uv run python -m benchmarks.run [--logs 60000] [--days 30] [--latency 0.03]
        [--rate-limit 60/10] [--only a,b,c] [--repeat 3] [--concurrency-default 4]
        [--tap-config-json '{"page_size": 100}'] [--streams usage|logs|all]
        [--fault-rate 0.08] [--markdown] [--against REV[,REV ...]]

One run serves a simulated gateway on 127.0.0.1 holding `--logs` logs over `--days` days,
answering each request after `--latency` seconds, optionally behind New API's limiter
(`--rate-limit N/SECONDS`), and runs these clients against it, one child process each:

  a  baseline     benchmarks/baseline.py: one requests.Session, page after page per
                  log type (2, 1, 6, 5; 2 alone with --streams usage), sleeps 1 s on a
                  429, JSON lines to stdout
  b  tap c=1      tap-1688token with max_concurrency=1
  c  tap default  tap-1688token with its default settings; its concurrency is taken from
                  --tap-config-json, else --concurrency-default, else the default the tap
                  declares (`--about`), else 1 (labels the row and sets its latency floor)
  d  tap re-run   (c) again, with the state a run of (c) ended with (that run, made once
                  before anything is timed, is not a row): a scheduled run that finds
                  nothing new. It re-sends the logs of each log stream's last second (its
                  bookmark is inclusive), and those are the records it must count; its
                  latency floor is the requests it made x latency / concurrency + start-up

Both taps get api_key, base_url, min_age_seconds=0 and the --tap-config-json settings, and a
catalog (from --discover) selecting the log streams (`--streams`: usage_logs alone, on a
simulator holding usage logs only; or every stream). Every child's stdout goes
through a pipe where its records are counted (the tap's RECORD lines per log stream, the
baseline's lines); a count other than the simulator's, or a non-zero exit, marks the row
FAILED (and the exit status 1). Rows report wall seconds, records/s, requests as the
simulator saw them (200 / 429 / other), CPU seconds (user+sys) and peak RSS of the child
(os.wait4 in benchmarks/launch.py, which says why), speed-up in wall time and CPU ratio
against (a), and the floors:

  lat floor   latency x data pages / concurrency, where data pages = sum over log types
              of ceil(count / 100); with --streams all (the taps), latency x the requests
              the run made / concurrency + the tap's start-up CPU (`--about`)
  lim floor   when a client making only the data pages, N per sliding W seconds, gets its
              last answer: floor((pages - 1) / N) x W + latency (only with --rate-limit)
  wall/floor  wall seconds over the larger of the two
  req floor   data pages + the fewest windows the tap's split rule allows (sum over log
              types of ceil(count / its window threshold)) + 1 request for the time unit;
              printed above the table, to set against the tap's 200s; below the table,
              each tap row's requests by endpoint (and log type)
  CPU floor   CPU to json.loads every page body (fetched once, without latency) and
              json.dumps a Singer RECORD message per item to /dev/null, in this process;
              "x CPU floor" is a child's CPU per record over it (start-up included)

Children run with a private bytecode cache, compiled before anything is timed (see
`warm_bytecode_cache`). The simulator runs in this process: "sim CPU" is this process's
CPU during a row (server threads and stdout counting). When it nears the wall time, the
server is the bottleneck. "sim ms" is the simulator's mean time from a request's arrival to
its answer written: the floors count --latency for it, and what it takes beyond is the
stand-in's own lateness (its threads building pages in one interpreter, on the cores the
clients use), which no client can win back.
With --repeat N every row is the median of N runs (clients interleaved a, b, c, a, ...).

With --against REV, (c) is also run as the tap of git revision REV (a worktree of it in a
temporary folder, first on the child's PYTHONPATH; started through the entry point REV's
pyproject.toml declares), row "c @REV", interleaved with this checkout's (c) against the same
simulator and the same logs: the A/B of a change. The machine's speed drifts within minutes, so
rows run apart do not compare; pairs run in turn do. Below the table, each such row is set
against (c): the medians, and in how many pairs of the N each was faster.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import IO, TypeVar

import requests

from benchmarks.baseline import LOG_TYPES as BASELINE_TYPES
from simulator import DEFAULT_TYPE_WEIGHTS, SimConfig, Simulator, generate_logs
from tap_1688token.logtypes import STREAM_BY_TYPE
from tap_1688token.windows import WINDOW_THRESHOLD

ROOT = Path(__file__).resolve().parent.parent
TAP = Path(sys.prefix) / "bin" / "tap-1688token"
LAUNCH = Path(__file__).with_name("launch.py")
API_KEY = "sim-token"
PAGE_SIZE = 100
T = TypeVar("T")


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    concurrency: int
    argv: list[str]
    #: records expected, by the start of the stdout lines that count as them
    expected: dict[bytes, int]
    #: environment variables set for the child (a revision's PYTHONPATH)
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    wall: float
    cpu: float
    rss_mb: float
    records: int
    ok: int
    limited: int
    other: int
    sim_cpu: float
    #: the simulator's mean time from a request's arrival to its answer written, in ms
    sim_ms: float = math.nan
    error: str = ""
    #: requests answered, by endpoint ("/api/log/self type=2"), most first
    endpoints: tuple[tuple[str, int], ...] = ()


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Child:
    """A finished child process, as benchmarks/launch.py measured it."""

    code: int
    wall: float
    cpu: float
    rss_mb: float
    #: its last line on stderr
    last: str


def spawn(
    argv: Sequence[str],
    consume: Callable[[IO[bytes]], T],
    timeout: float,
    env: dict[str, str] | None = None,
) -> tuple[T, Child]:
    """Run `argv` through the launcher (for a clean peak RSS) and `consume` its stdout;
    `env`: variables set for it beside this process's."""
    with tempfile.TemporaryDirectory() as tmp:
        report, errors = Path(tmp) / "report.json", Path(tmp) / "stderr"
        command = [sys.executable, "-S", str(LAUNCH), str(report), str(timeout), *argv]
        environ = os.environ | env if env else None
        with errors.open("wb") as err:
            proc = subprocess.Popen(  # noqa: S603
                command, stdout=subprocess.PIPE, stderr=err, cwd=ROOT, env=environ
            )
            assert proc.stdout is not None
            with proc.stdout:
                consumed = consume(proc.stdout)
            proc.wait()
        lines = errors.read_text("utf-8", "replace").strip().splitlines()
        last = lines[-1] if lines else ""
        if proc.returncode != 0 or not report.exists():
            return consumed, Child(proc.returncode or 1, math.nan, math.nan, math.nan, last)
        return consumed, Child(**json.loads(report.read_text()), last=last)


def count_lines(prefixes: Sequence[bytes]) -> Callable[[IO[bytes]], dict[bytes, int]]:
    """A consumer counting the lines that start with each prefix, a megabyte at a time."""
    markers = [b"\n" + prefix for prefix in prefixes]
    keep = max(map(len, markers)) - 1

    def consume(stream: IO[bytes]) -> dict[bytes, int]:
        counts, tail = dict.fromkeys(prefixes, 0), b"\n"
        while chunk := stream.read1(1 << 20):  # type: ignore[attr-defined]
            data = tail + chunk
            for prefix, marker in zip(prefixes, markers, strict=True):
                # a marker ending in the kept tail was counted with the previous chunk
                counts[prefix] += data.count(marker) - tail.count(marker)
            tail = data[-keep:]
        return counts

    return consume


def measure(variant: Variant, sim: Simulator, timeout: float) -> Result:
    sim.reset_requests()
    sim.reset_limiter()
    before = _cpu_self()
    counts, child = spawn(variant.argv, count_lines(list(variant.expected)), timeout, variant.env)
    sim_cpu = _cpu_self() - before
    statuses = Counter(request.status for request in sim.requests)
    endpoints = Counter(
        request.path + (f" type={request.params['type']}" if "type" in request.params else "")
        for request in sim.requests
    )
    answered = [r.answered_in for r in sim.requests if r.answered_in is not None]
    records = sum(counts.values())
    wrong = [
        f"{counts[prefix]} for {n} {prefix.decode()[-12:]}"
        for prefix, n in variant.expected.items()
        if counts[prefix] != n
    ]
    error = ""
    if child.code != 0 and child.wall >= timeout:
        error = f"killed after {timeout:g} s (--timeout)"
    elif child.code != 0:
        error = f"exit {child.code}: {child.last.rsplit(' | ', 1)[-1][:300]}"
    elif wrong:
        error = "records: " + ", ".join(wrong)
    return Result(
        wall=child.wall,
        cpu=child.cpu,
        rss_mb=child.rss_mb,
        records=records,
        ok=statuses[200],
        limited=statuses[429],
        other=sum(statuses.values()) - statuses[200] - statuses[429],
        sim_cpu=sim_cpu,
        sim_ms=statistics.fmean(answered) * 1000 if answered else math.nan,
        error=error,
        endpoints=tuple(endpoints.most_common()),
    )


def median(results: list[Result]) -> Result:
    numbers = {
        f.name: statistics.median(getattr(r, f.name) for r in results)
        for f in fields(Result)
        if f.name not in ("error", "endpoints")
    }
    errors = dict.fromkeys(r.error for r in results if r.error)
    return replace(results[0], **numbers, error="; ".join(errors))


def cpu_floor(sim: Simulator, base_url: str) -> float:
    """CPU seconds per record to json-decode every page and write a RECORD line per item."""
    saved = sim.config.latency, sim.config.rate_limit
    sim.config.latency, sim.config.rate_limit = 0.0, None
    bodies: list[tuple[str, bytes]] = []
    try:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {API_KEY}"
            end = int(time.time())
            for log_type, stream in STREAM_BY_TYPE.items():
                for page in range(1, 1_000_000):
                    params = {"p": page, "page_size": PAGE_SIZE, "type": log_type}
                    params |= {"start_timestamp": 1, "end_timestamp": end}
                    response = session.get(f"{base_url}/api/log/self", params=params, timeout=60)
                    response.raise_for_status()
                    bodies.append((stream, response.content))
                    if len(response.json()["data"]["items"]) < PAGE_SIZE:
                        break
    finally:
        sim.config.latency, sim.config.rate_limit = saved
        sim.reset_requests()
        sim.reset_limiter()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    best, records = math.inf, 0
    with open(os.devnull, "w") as sink:
        for _ in range(3):
            start, records = time.process_time(), 0
            for stream, body in bodies:
                for item in json.loads(body)["data"]["items"]:
                    message = {"type": "RECORD", "stream": stream, "record": item}
                    message["time_extracted"] = stamp
                    sink.write(json.dumps(message) + "\n")
                    records += 1
            best = min(best, time.process_time() - start)
    return best / max(records, 1)


def warm_bytecode_cache(cache: Path) -> None:
    """Give the children a private, compiled bytecode cache (PYTHONPYCACHEPREFIX).

    An installed tap runs from compiled bytecode. Where PYTHONDONTWRITEBYTECODE is set,
    every child would compile singer_sdk and the rest from source, about 0.4 s of CPU.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    _compile(sysconfig.get_path("purelib"), str(ROOT / "tap_1688token"), str(LAUNCH.parent))
    for argv in (
        [str(TAP), "--about"],  # and the standard library modules they import
        [sys.executable, "-m", "benchmarks.baseline", "--help"],
    ):
        _, child = spawn(argv, lambda s: s.read(), 300)
        if child.code != 0:
            raise SystemExit(f"{' '.join(argv[:4])} failed: {child.last}")


def _compile(*folders: str) -> None:
    """Compile the Python files in `folders` into the children's bytecode cache."""
    argv = [sys.executable, "-m", "compileall", "-q", "-j", "0", *folders]
    _, child = spawn(argv, lambda s: s.read(), 300)
    if child.code != 0:
        raise SystemExit(f"compiling {', '.join(folders)} failed: {child.last}")


def tap_about() -> tuple[int | None, float, float]:
    """The tap's declared default max_concurrency, and the CPU s and RSS MB of `--about`."""
    out, child = spawn([str(TAP), "--about", "--format=json"], lambda s: s.read(), 120)
    if child.code != 0:
        raise SystemExit(f"tap-1688token --about failed: {child.last}")
    setting = json.loads(out)["settings"]["properties"].get("max_concurrency") or {}
    default = setting.get("default")
    return (int(default) if isinstance(default, int) else None), child.cpu, child.rss_mb


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    """`git -C <this checkout> ARGS`, its output captured; a failure of git's is returned."""
    return subprocess.run(["git", "-C", str(ROOT), *args], check=False, capture_output=True)  # noqa: S603, S607


def tap_revision() -> str:
    """The commit the tap was measured at, and whether tap_1688token/ had local changes."""
    try:
        head, dirty = (
            _git("rev-parse", "--short", "HEAD").stdout.decode().strip(),
            _git("status", "--porcelain", "tap_1688token").stdout.decode().strip(),
        )
    except OSError:
        return "unknown"
    return (head or "unknown") + (" + uncommitted changes" if dirty else "")


def _rate_limit(text: str) -> tuple[int, float]:
    count, _, window = text.partition("/")
    return int(count), float(window or 60)


def _keys(text: str) -> list[str]:
    keys = [key.strip() for key in text.split(",") if key.strip()]
    if not keys or set(keys) - {"a", "b", "c", "d"}:
        raise argparse.ArgumentTypeError("a comma-separated subset of a,b,c,d")
    return keys


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--logs", type=int, default=60_000, help="logs the simulator holds")
    parser.add_argument("--days", type=float, default=30, help="history they span")
    parser.add_argument("--latency", type=float, default=0.03, help="seconds per request")
    parser.add_argument("--rate-limit", type=_rate_limit, help="N/SECONDS, e.g. 60/10")
    parser.add_argument(
        "--concurrency-default", type=int, help="the concurrency (c) runs with, for its label"
    )
    parser.add_argument(
        "--only", type=_keys, default=["a", "b", "c"], help="e.g. a,c; d (the re-run) on request"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per client; median shown")
    parser.add_argument(
        "--tap-config-json", type=json.loads, default={}, help="extra settings for (b) and (c)"
    )
    parser.add_argument("--timeout", type=float, default=600, help="kill a child after this")
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of requests the simulator fails (429 with and without Retry-After: 1, "
        "502, success:false, a truncated body, a dropped connection), e.g. 0.08",
    )
    parser.add_argument(
        "--against",
        type=_revisions,
        default=[],
        help="git revisions whose tap runs as (c) too, interleaved with this checkout's: "
        "e.g. HEAD~1 (comma-separated for several)",
    )
    parser.add_argument(
        "--streams",
        choices=("usage", "logs", "all"),
        default="logs",
        help="what the taps select: usage_logs alone (the simulator then holds usage logs "
        "only, and the baseline reads type 2 only), the log streams, or every stream (the "
        "whole run a user waits for; its latency floor is then the requests the run made)",
    )
    args = parser.parse_args(argv)
    if args.against and "c" not in args.only:
        parser.error("--against compares with (c): add c to --only")
    return args


def log_catalog(
    config_path: Path, workdir: Path, streams: Sequence[str], *, every: bool = False
) -> Path:
    """The tap's catalog with only `streams` selected (others would add requests), or
    with `every` stream."""
    out, child = spawn(
        [str(TAP), "--config", str(config_path), "--discover"], lambda s: s.read(), 120
    )
    if child.code != 0:
        raise SystemExit(f"tap-1688token --discover failed: {child.last}")
    catalog = json.loads(out)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = every or stream["tap_stream_id"] in streams
    path = workdir / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def final_state(stream: IO[bytes]) -> bytes:
    """The last STATE line a tap wrote (its stdout, read to the end); b"" if none."""
    last = b""
    for line in stream:
        if line.startswith(b'{"type":"STATE"'):
            last = line
    return last


def resent(sim: Simulator, log_type: int) -> int:
    """Logs of a type in its last second: a re-run sends them again (bookmarks are inclusive)."""
    seconds = [log["created_at"] for log in sim.logs(log_type)]
    return seconds.count(max(seconds)) if seconds else 0


def variants(
    args: argparse.Namespace,
    base_url: str,
    workdir: Path,
    counts: dict[int, int],
    declared: int | None,
    *,
    sim: Simulator,
) -> list[Variant]:
    config = {"api_key": API_KEY, "base_url": base_url, "min_age_seconds": 0}
    config |= args.tap_config_json
    concurrency = args.tap_config_json.get("max_concurrency")
    if concurrency is None:
        concurrency = args.concurrency_default or declared or 1
    records = {
        f'{{"type":"RECORD","stream":"{STREAM_BY_TYPE[t]}"'.encode(): n for t, n in counts.items()
    }
    paths = {key: workdir / f"config-{key}.json" for key in "bc"}
    paths["b"].write_text(json.dumps(config | {"max_concurrency": 1}))
    paths["c"].write_text(json.dumps(config))
    streams = [STREAM_BY_TYPE[log_type] for log_type in counts]
    catalog = str(log_catalog(paths["c"], workdir, streams, every=args.streams == "all"))

    def tap(key: str) -> list[str]:
        return [str(TAP), "--config", str(paths[key]), "--catalog", catalog]

    baseline = [sys.executable, "-m", "benchmarks.baseline", base_url, API_KEY]
    baseline += ["--types", ",".join(str(t) for t in counts if t in BASELINE_TYPES)]
    every = {
        "a": Variant("a", "a baseline", 1, baseline, {b"{": sum(counts.values())}),
        "b": Variant("b", "b tap c=1", 1, tap("b"), records),
        "c": Variant("c", "c tap default", int(concurrency), tap("c"), records),
    }
    if "d" in args.only:
        line, child = spawn(tap("c"), final_state, args.timeout)
        if child.code != 0 or not line:
            raise SystemExit(f"the run the re-run follows failed: {child.last}")
        state = workdir / "state.json"
        state.write_text(json.dumps(json.loads(line)["value"]))
        again = {prefix: resent(sim, t) for prefix, t in zip(records, counts, strict=True)}
        argv = [*tap("c"), "--state", str(state)]
        every["d"] = Variant("d", "d tap re-run", int(concurrency), argv, again)
    return [every[key] for key in args.only]


def _num(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _revisions(text: str) -> list[str]:
    return [rev.strip() for rev in text.split(",") if rev.strip()]


@contextlib.contextmanager
def worktrees(revisions: Sequence[str], workdir: Path) -> Iterator[dict[str, Path]]:
    """A detached worktree of each revision (by its short hash), removed afterwards."""
    made: dict[str, Path] = {}

    def must(*args: str) -> str:
        done = _git(*args)
        if done.returncode != 0:
            error = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SystemExit(f"--against: git {' '.join(args)}: {error[-1] if error else ''}")
        return done.stdout.decode().strip()

    try:
        for revision in revisions:
            short = must("rev-parse", "--short", f"{revision}^{{commit}}")
            if short not in made:
                path = workdir / f"rev-{short}"
                must("worktree", "add", "--detach", "--quiet", str(path), short)
                made[short] = path
        yield made
    finally:
        for path in made.values():
            # Not `must`: a removal that fails must not hide why the run stopped.
            _git("worktree", "remove", "--force", str(path))


def entry_point(root: Path) -> list[str]:
    """The command a checkout at `root` installs as tap-1688token, run from its sources
    (with its folder on PYTHONPATH; -P: not the working directory, this checkout, first)."""
    scripts = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts["tap-1688token"].partition(":")
    code = f"import sys; from {module} import {function}; sys.exit({function}())"
    return [sys.executable, "-P", "-c", code]


def _check_sources(variant: Variant, root: Path) -> None:
    """Stop unless `variant`'s child imports the tap from `root`."""
    python, *_ = variant.argv
    code = "import tap_1688token; print(tap_1688token.__file__)"
    out, child = spawn([python, "-P", "-c", code], lambda s: s.read(), 60, variant.env)
    found = Path(out.decode().strip())
    if child.code != 0 or not found.is_relative_to(root):
        raise SystemExit(f"{variant.label}: the tap comes from {found}, not {root}")


def from_sources(variant: Variant, root: Path, **changes: str) -> Variant:
    """`variant` run from the sources of the checkout at `root`: its folder first on the
    path, through its entry point (and checked to import the tap from there)."""
    started = replace(
        variant,
        argv=entry_point(root) + variant.argv[1:],
        env={"PYTHONPATH": str(root)},
        **changes,  # type: ignore[arg-type]
    )
    _check_sources(started, root)
    return started


def compared(tap_default: Variant, trees: dict[str, Path]) -> list[Variant]:
    """(c), and (c) as the tap of each revision, all started alike. The installed command
    imports this checkout through the editable install's finder, which costs ~0.07 CPU s a
    run more than a folder on PYTHONPATH (the same commit against itself, 6 pairs: 0.75 vs
    0.66 s): started differently, (c) lost every A/B by that much."""
    return [from_sources(tap_default, ROOT)] + [
        from_sources(tap_default, path, key=f"c@{short}", label=f"c @{short}")
        for short, path in trees.items()
    ]


def pairs(runs: dict[str, list[Result]], key: str) -> str:
    """(c) against the row `key`, run for run: medians, and which was faster how often."""
    ours, theirs = runs["c"], runs[key]
    turns = list(zip(ours, theirs, strict=True))
    faster = sum(mine.wall < other.wall for mine, other in turns)
    each = ", ".join(f"{mine.wall:.2f}/{other.wall:.2f}" for mine, other in turns)
    middle, theirs_middle = median(ours), median(theirs)
    return (
        f"c against {key.replace('c@', 'c @')}: wall {middle.wall:.2f} vs "
        f"{theirs_middle.wall:.2f} s (medians), CPU {middle.cpu:.2f} vs {theirs_middle.cpu:.2f} s; "
        f"this checkout faster in {faster} of {len(turns)} pairs (wall s, in run order: {each})"
    )


def table(
    args: argparse.Namespace,
    rows: list[tuple[Variant, Result]],
    pages: int,
    per_record_floor: float,
    startup: float,
) -> list[list[str]]:
    head = [
        "client", "conc", "wall s", "rec/s", "req 200/429/other", "CPU s", "RSS MB",
        "speed-up", "CPU x", "lat floor s", "lim floor s", "wall/floor", "CPU us/rec",
        "x CPU floor", "sim CPU s", "sim ms", "status",
    ]  # fmt: skip
    base = next((result for variant, result in rows if variant.key == "a"), None)
    limiter = 0.0
    if args.rate_limit:
        # A sliding window of N starts per W seconds lets the k-th request (from 0) go
        # at floor(k / N) x W at the earliest; the last data page then takes its latency.
        budget, window = args.rate_limit
        limiter = (pages - 1) // budget * window + args.latency
    out = [head]
    for variant, r in rows:
        latency = args.latency * pages / variant.concurrency
        if (args.streams == "all" and variant.key != "a") or variant.key == "d":
            # Every stream's requests (snapshots, sums, hourly) beside the data pages, and
            # the start-up before the first of them.
            latency = args.latency * (r.ok + r.other) / variant.concurrency + startup
        floor = max(latency, limiter if variant.key != "d" else 0.0)
        # A re-run's few records say nothing of the cost of one.
        per_record = r.cpu / r.records if r.records and variant.key != "d" else math.nan
        out.append(
            [
                variant.label,
                str(variant.concurrency),
                _num(r.wall, 2),
                _num(r.records / r.wall, 0),
                f"{r.ok:.0f}/{r.limited:.0f}/{r.other:.0f}",
                _num(r.cpu, 2),
                _num(r.rss_mb),
                f"{base.wall / r.wall:.2f}x" if base else "-",
                f"{r.cpu / base.cpu:.2f}" if base else "-",
                _num(latency, 2),
                _num(limiter, 2) if args.rate_limit else "-",
                f"{r.wall / floor:.2f}" if floor else "-",
                "-" if math.isnan(per_record) else _num(per_record * 1e6),
                "-" if math.isnan(per_record) else f"{per_record / per_record_floor:.1f}",
                _num(r.sim_cpu, 2),
                "-" if math.isnan(r.sim_ms) else _num(r.sim_ms),
                "FAILED" if r.error else "ok",
            ]
        )
    return out


def plain(cells: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = []
    for row in cells:
        parts = [c.ljust(w) if i in (0, len(row) - 1) else c.rjust(w) for i, (c, w) in
                 enumerate(zip(row, widths, strict=True))]  # fmt: skip
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def markdown(cells: list[list[str]]) -> str:
    align = [":--" if i in (0, len(cells[0]) - 1) else "--:" for i in range(len(cells[0]))]
    rows = [cells[0], align, *cells[1:]]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not TAP.exists():
        raise SystemExit(f"{TAP} is missing: run `uv sync` first")
    end = int(time.time()) // 86_400 * 86_400  # midnight UTC: the same logs all day
    weights = {2: 1.0} if args.streams == "usage" else DEFAULT_TYPE_WEIGHTS
    logs = generate_logs(
        args.logs,
        start=end - int(args.days * 86_400),
        end=end,
        seed=args.seed,
        type_weights=weights,
    )
    sim = Simulator(
        logs,
        SimConfig(
            latency=args.latency,
            rate_limit=args.rate_limit,
            fault_rate=args.fault_rate,
            seed=args.seed,
        ),
    )
    types = [2] if args.streams == "usage" else list(STREAM_BY_TYPE)
    counts = {log_type: len(sim.logs(log_type)) for log_type in types}
    pages = sum(math.ceil(count / PAGE_SIZE) for count in counts.values())
    windows = sum(math.ceil(count / WINDOW_THRESHOLD) for count in counts.values())
    with sim.serve() as base_url, tempfile.TemporaryDirectory() as workdir:
        warm_bytecode_cache(Path(workdir) / "pycache")
        declared, startup_cpu, startup_rss = tap_about()
        sim.config.fault_rate = 0.0  # the floor's pages are read once, without faults
        per_record_floor = cpu_floor(sim, base_url)
        sim.config.fault_rate = args.fault_rate
        chosen = variants(args, base_url, Path(workdir), counts, declared, sim=sim)
        with worktrees(args.against, Path(workdir)) as trees:
            for path in trees.values():
                _compile(str(path / "tap_1688token"))
            tap_default = next((v for v in chosen if v.key == "c"), None)
            if trees and tap_default is not None:
                chosen.remove(tap_default)
                chosen += compared(tap_default, trees)
            runs: dict[str, list[Result]] = {variant.key: [] for variant in chosen}
            for i in range(args.repeat):
                for variant in chosen:
                    print(f"run {i + 1}/{args.repeat}: {variant.label} ...", file=sys.stderr)
                    runs[variant.key].append(measure(variant, sim, args.timeout))
    rows = [(variant, median(runs[variant.key])) for variant in chosen]

    names = ", ".join(f"{STREAM_BY_TYPE[t].split('_')[0]} {n}" for t, n in counts.items())
    limit = f"{args.rate_limit[0]}/{args.rate_limit[1]:g} s" if args.rate_limit else "none"
    header = [
        f"machine: {os.cpu_count()} CPUs, {platform.platform()}, "
        f"{platform.python_implementation()} {platform.python_version()}",
        f"settings: {args.logs} logs over {args.days:g} days ({names}) = {pages} data pages; "
        f"latency {args.latency:g} s; rate limit {limit}; faults {args.fault_rate:g} "
        f"(each 429 with Retry-After asks for a 1 s wait); repeat {args.repeat} (median); "
        f"tap extras {json.dumps(args.tap_config_json)}",
        f"request floor {pages + windows + 1} = {pages} data pages + {windows} windows of at "
        f"most {WINDOW_THRESHOLD} logs + 1 time unit probe",
        f"CPU floor {per_record_floor * 1e6:.1f} us/record (json.loads + json.dumps RECORD); "
        f"tap start-up (--about) {startup_cpu:.2f} s CPU, {startup_rss:.0f} MB; "
        f"tap {tap_revision()}, declares max_concurrency default {declared}",
    ]
    cells = table(args, rows, pages, per_record_floor, startup_cpu)
    failures = [f"FAILED {v.label}: {r.error}" for v, r in rows if r.error]
    print("\n".join(header) + "\n\n" + plain(cells))
    for variant, result in rows:
        if variant.key != "a":
            spread = ", ".join(f"{endpoint} {n}" for endpoint, n in result.endpoints)
            print(f"{variant.label} requests (first run), by endpoint: {spread}")
    for variant in chosen:
        if variant.key.startswith("c@"):
            print(pairs(runs, variant.key))
    if failures:
        print("\n".join(failures))
    if args.markdown:
        print("\n" + "\n".join(f"{line}  " for line in header) + "\n\n" + markdown(cells))
        if failures:
            print("\n" + "  \n".join(failures))
    return 1 if any(result.error for _, result in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
