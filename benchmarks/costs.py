"""Where the tap's CPU goes: a record's and a request's, alone and in a run.

    uv run python -m benchmarks.costs [--logs 20000] [--repeat 7]

Serves `--logs` usage logs from the simulator in this process, with no latency, and prints:

  per record   `to_records` on the pages as served, window by window as the tap reads
               them, and three of its steps: the key's digest, parsing `other`, the
               charge's inputs (best of --repeat, CPU of this thread)
  per GET      one page fetched again and again (mean CPU of this thread): through the
               tap's client (`ApiClient.get_envelope`: the HTTP and the decoding), through
               its transport alone (`Transport.get`: requests' URL, urllib3, http.client),
               the decoding alone, and the same GET written to a socket and read by hand
               (no library: what the HTTP costs at the least)
  in a run     the tap syncing `usage_logs` in a process of its own, as a user runs it:
               its main thread's CPU, `to_records`' part of it, and every other thread's
               CPU (the requests) per request the simulator answered

Figures from one process on a shared machine move with the machine's speed: compare
figures printed by one run, not across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from benchmarks.run import API_KEY, PAGE_SIZE, count_lines, log_catalog, spawn
from simulator import SimConfig, Simulator, generate_logs
from tap_1688token import jsontext
from tap_1688token.api import ApiClient
from tap_1688token.gateway import parse_log_page
from tap_1688token.records import charge_inputs, identity_digest, parse_other, to_records
from tap_1688token.settings import Settings
from tap_1688token.transport import Transport
from tap_1688token.windows import WINDOW_THRESHOLD

USAGE = 2
#: GETs timed in each loop (after a few unmeasured ones)
GETS = 300

# The tap's own command, with `to_records` timed where the streams call it. Its figures
# go to stderr as the last line, as JSON.
_RUN = """
import json, resource, sys, time
from tap_1688token import client
from tap_1688token.tap import Tap1688Token

spent = {"to_records": 0.0, "records": 0}
build = client.to_records

def timed(*args, **kwargs):
    start = time.thread_time()
    records = build(*args, **kwargs)
    spent["to_records"] += time.thread_time() - start
    spent["records"] += len(records)
    return records

client.to_records = timed
started = time.thread_time()  # the imports: the tap's start-up, before the CLI
try:
    Tap1688Token.cli(sys.argv[1:])
except SystemExit as done:
    if done.code not in (0, None):
        raise
usage = resource.getrusage(resource.RUSAGE_SELF)
ended = time.thread_time()
spent |= {"imports": started, "main": ended - started, "threads": 0.0}
spent["threads"] = usage.ru_utime + usage.ru_stime - ended  # every other thread's CPU
print(json.dumps(spent), file=sys.stderr)
"""


def _row(name: str, figure: str) -> None:
    print(f"  {name:<52} {figure}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.costs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--logs", type=int, default=20_000, help="usage logs served")
    parser.add_argument("--days", type=float, default=30, help="over this many days")
    parser.add_argument("--repeat", type=int, default=7, help="passes over the records")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def best_per_item(work: Callable[[], object], items: int, repeat: int) -> float:
    """The fewest CPU seconds `work` took in `repeat` tries, per item."""
    best = math.inf
    for _ in range(repeat):
        start = time.thread_time()
        work()
        best = min(best, time.thread_time() - start)
    return best / max(items, 1)


def mean_cpu(call: Callable[[], object]) -> float:
    """Mean CPU seconds of this thread per `call`, over GETS calls after a few unmeasured."""
    for _ in range(10):
        call()
    start = time.thread_time()
    for _ in range(GETS):
        call()
    return (time.thread_time() - start) / GETS


def served_pages(client: ApiClient) -> list[list[dict[str, Any]]]:
    """Every page of usage logs, newest first, as the tap's client reads them."""
    pages = []
    params: dict[str, Any] = {"page_size": PAGE_SIZE, "type": USAGE, "start_timestamp": 1}
    params["end_timestamp"] = int(time.time())
    for page in range(1, 1_000_000):
        items = parse_log_page(client.get_data("/api/log/self", params | {"p": page})).items
        pages.append(items)
        if len(items) < PAGE_SIZE:
            return pages
    raise SystemExit("the simulator never served a last page")


@contextlib.contextmanager
def by_hand(url: str, headers: Iterable[tuple[str, str]]) -> Iterator[Callable[[], bytes]]:
    """A GET of `url` over one kept-alive socket, written and read without a library
    (the simulator answers with Content-Length)."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    buffer = bytearray(1 << 17)

    def get() -> bytes:
        sock.sendall(request)
        data, need = b"", -1
        while need < 0 or len(data) < need:
            got = sock.recv_into(buffer)
            if not got:
                raise SystemExit("the simulator closed the connection")
            data += buffer[:got]
            head, found, _ = data.partition(b"\r\n\r\n")
            if need < 0 and found:
                fields = dict(
                    line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line
                )
                length = {k.strip().lower(): v for k, v in fields.items()}[b"content-length"]
                need = len(head) + 4 + int(length)
        return data

    with socket.create_connection((parts.hostname, parts.port or 80)) as sock:
        yield get


def run_of_the_tap(config: dict[str, Any], sim: Simulator, workdir: Path) -> dict[str, Any]:
    """The tap syncing `usage_logs` in a process of its own: its figures (see `_RUN`)."""
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    catalog = log_catalog(config_path, workdir, ["usage_logs"])
    argv = [sys.executable, "-c", _RUN, "--config", str(config_path), "--catalog", str(catalog)]
    sim.reset_requests()
    counts, child = spawn(argv, count_lines([b'{"type":"RECORD"']), 600)
    if child.code != 0:
        raise SystemExit(f"the tap failed: {child.last}")
    figures: dict[str, Any] = json.loads(child.last)
    figures["written"] = sum(counts.values())
    figures["requests"] = len(sim.requests)
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    end = int(time.time()) // 86_400 * 86_400
    logs = generate_logs(
        args.logs, start=end - int(args.days * 86_400), end=end, seed=args.seed,
        type_weights={USAGE: 1.0},
    )  # fmt: skip
    sim = Simulator(logs, SimConfig(seed=args.seed))
    with sim.serve() as base_url, tempfile.TemporaryDirectory() as workdir:
        config = {"api_key": API_KEY, "base_url": base_url, "min_age_seconds": 0}
        client = ApiClient(Settings.from_config(config))
        pages = served_pages(client)
        items = [item for page in pages for item in page]
        per_window = WINDOW_THRESHOLD // PAGE_SIZE
        windows = [
            [item for page in pages[i : i + per_window] for item in page]
            for i in range(0, len(pages), per_window)
        ]
        records = [record for window in windows for record in to_records(window, charge=True)]
        others = [record["other"] for record in records if record["other"]]
        n, repeat = len(items), args.repeat
        step = {
            "to_records": best_per_item(
                lambda: [to_records(window, charge=True) for window in windows], n, repeat
            ),
            "the key's digest": best_per_item(
                lambda: [identity_digest(record) for record in records], n, repeat
            ),
            "parsing `other`": best_per_item(
                lambda: [parse_other(item.get("other")) for item in items], n, repeat
            ),
            "the charge's inputs": best_per_item(
                lambda: [charge_inputs(other) for other in others], n, repeat
            ),
        }

        path, params = "/api/log/self", {"p": 2, "page_size": PAGE_SIZE, "type": USAGE}
        url = client.base_url + path
        transport = Transport(client.session, client.base_url)
        body = transport.get(url, params, 60, time.monotonic() + 60).body
        prepared = requests.Request("GET", url, params=params).prepare()
        get = {
            "the tap's client (HTTP and decoding)": mean_cpu(
                lambda: client.get_envelope(path, params)
            ),
            "its transport (requests' URL, urllib3, http.client)": mean_cpu(
                lambda: transport.get(url, params, 60, time.monotonic() + 60)
            ),
            "decoding the page": mean_cpu(lambda: jsontext.loads(body)),
        }
        with by_hand(prepared.url or url, client.session.headers.items()) as raw:
            get["by hand over a socket"] = mean_cpu(raw)
        client.close()
        run = run_of_the_tap(config, sim, Path(workdir))

    print(f"{n} usage logs in {len(pages)} pages of {PAGE_SIZE}")
    print(f"per record, isolated (best of {repeat}, CPU):")
    for name, seconds in step.items():
        _row(name, f"{seconds * 1e6:7.2f} us")
    print(f"per GET of one page, alone (mean of {GETS}, CPU of the calling thread):")
    for name, seconds in get.items():
        _row(name, f"{seconds * 1e3:7.3f} ms")
    built, rest, threads = run["to_records"], run["main"] - run["to_records"], run["threads"]
    count, asked = max(run["records"], 1), max(run["requests"], 1)
    print(f"in a run of usage_logs ({run['written']} records, {run['requests']} requests), CPU:")
    _row("imports (start-up)", f"{run['imports']:7.2f} s")
    _row("main thread after them", f"{run['main']:7.2f} s")
    _row("  to_records", f"{built:7.2f} s = {built / count * 1e6:5.1f} us a record")
    _row("  the rest (the SDK loop, writing, planning)", f"{rest / count * 1e6:7.1f} us a record")
    _row("every other thread (the requests)", f"{threads / asked * 1e3:7.2f} ms a request")
    if run["written"] != n:
        print(f"FAILED: the run wrote {run['written']} records of {n}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
