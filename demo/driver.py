"""`make demo`: sync the bundled simulator (or your account) into DuckDB twice, then show it.

Run by demo/run.sh after the installs, with the tools' Python (.tools/venv). Without
TAP_1688TOKEN_API_KEY it starts `python -m simulator` on a free loopback port, runs
`meltano run tap-1688token target-duckdb`, adds new traffic, runs again, and prints the
warehouse next to what the simulator holds. With the key set it syncs the real account
(environment `prod`, warehouse output/1688token.duckdb, state kept between demos).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from demo import warehouse as wh
from tap_1688token.logtypes import LOG_STREAMS, STREAM_BY_TYPE

ROOT = Path(__file__).resolve().parent.parent
MELTANO = ROOT / ".tools" / "venv" / "bin" / "meltano"
OUTPUT = ROOT / "output"
PIPELINE = ("tap-1688token", "target-duckdb")
NEW_TRAFFIC = 500
_METRIC = re.compile(r'METRIC: (\{.*"metric":\s*"record_count".*\})')
_SHOWN = re.compile(r"Reading \w+_\w+ from|Loading \d+ rows|\[error|ERROR|Traceback|failed")
_TTY = sys.stdout.isatty()


def bold(text: str) -> str:
    return f"\033[1m{text}\033[0m" if _TTY else text


def step(text: str) -> None:
    print(f"\n{bold('==> ' + text)}", flush=True)


class DemoError(RuntimeError):
    pass


@contextmanager
def simulator() -> Iterator[tuple[str, Any]]:
    """Start the standalone simulator (no steady traffic: the demo adds its own)."""
    argv = [sys.executable, "-m", "simulator", "--port", "0", "--live-rate", "0"]
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        argv, cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first:
            raise DemoError(f"the simulator exited with status {proc.wait()}")
        info = json.loads(first)
        yield info["base_url"], info
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def per_stream(summary: Mapping[str, Any]) -> dict[str, int]:
    """The simulator's logs per type number, as the streams the tap exports them to."""
    per_type = summary["types"]
    return {stream: per_type.get(str(number), 0) for number, stream in STREAM_BY_TYPE.items()}


def control(base_url: str, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base_url}{path}", timeout=30) as answer:  # noqa: S310 - loopback
        return json.loads(answer.read())


def meltano(*args: str, env: dict[str, str], log: Path | None = None) -> list[str]:
    """Run Meltano; show the interesting lines as they come; return all of them."""
    lines: list[str] = []
    with subprocess.Popen(  # noqa: S603 - Meltano from .tools, fixed arguments
        [str(MELTANO), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if log is None:
                continue
            if _SHOWN.search(line) or os.environ.get("DEMO_VERBOSE"):
                print("    " + _short(line), flush=True)
    if log is not None:
        log.write_text("".join(lines))
    if proc.returncode:
        tail = "".join(lines[-25:])
        raise DemoError(f"meltano {' '.join(args)} failed (status {proc.returncode}):\n{tail}")
    return lines


def _short(line: str) -> str:
    """A Meltano log line without its timestamp and padding."""
    line = line.rstrip()
    line = re.sub(r"^\S+Z \[(\w+)\s*\] ", lambda m: "" if m[1] == "info" else f"[{m[1]}] ", line)
    return re.sub(r"\s{2,}", " ", line)[:160]


def records_sent(lines: list[str]) -> dict[str, int]:
    """record_count metrics the tap logged, per stream."""
    sent: dict[str, int] = {}
    for line in lines:
        match = _METRIC.search(line)
        if match:
            metric = json.loads(match[1])
            stream = metric["tags"]["stream"]
            sent[stream] = sent.get(stream, 0) + int(metric["value"])
    return sent


def sync(run: int, env: dict[str, str], duckdb_file: Path) -> tuple[dict[str, int], float]:
    env_name = env["MELTANO_ENVIRONMENT"]
    step(f"Run {run}: meltano --environment={env_name} run {' '.join(PIPELINE)}")
    started = time.monotonic()
    lines = meltano("run", *PIPELINE, env=env, log=OUTPUT / f"demo-run-{run}.log")
    took = time.monotonic() - started
    print(f"    done in {took:.1f} s (full log: output/demo-run-{run}.log)")
    return records_sent(lines), took


def open_duckdb(path: Path) -> wh.DuckDB:
    return wh.DuckDB(str(path))


def _dotenv_has_key() -> bool:
    """Meltano reads secrets from .env too: a key there means a real account."""
    dotenv = ROOT / ".env"
    if not dotenv.exists():
        return False
    pattern = re.compile(r"^\s*(export\s+)?TAP_1688TOKEN_API_KEY\s*=\s*['\"]?\S")
    return any(pattern.match(line) for line in dotenv.read_text().splitlines())


def main() -> int:
    OUTPUT.mkdir(exist_ok=True)
    real = bool(os.environ.get("TAP_1688TOKEN_API_KEY")) or _dotenv_has_key()
    env = {
        **os.environ,
        "MELTANO_ENVIRONMENT": "prod" if real else "dev",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    # As meltano.yml's environments set target-duckdb's filepath.
    duckdb_file = OUTPUT / ("1688token.duckdb" if real else "warehouse.duckdb")
    if real:
        step("TAP_1688TOKEN_API_KEY is set: syncing that account (meltano environment prod)")
        return show_real(env, duckdb_file)
    return show_simulated(env, duckdb_file)


def show_simulated(env: dict[str, str], duckdb_file: Path) -> int:
    step("Starting the API simulator (python -m simulator): a New API account on loopback")
    with simulator() as (base_url, info):
        days = (info["newest"] - info["oldest"]) / 86_400
        print(
            f"    {base_url}: {info['logs']:,} logs over {days:.0f} days, "
            f"{len(info['types'])} log types, ids modulo 1024, `other` as a JSON string"
        )
        # The simulator's own credentials, over any in the environment or .env.
        env.update(
            TAP_1688TOKEN_BASE_URL=base_url,
            TAP_1688TOKEN_API_KEY="sim-token",
            TAP_1688TOKEN_USER_ID="1",
        )
        # A fresh warehouse and no bookmark: this simulator's history is new.
        duckdb_file.unlink(missing_ok=True)
        state_id = f"{env['MELTANO_ENVIRONMENT']}:{PIPELINE[0]}-to-{PIPELINE[1]}"
        meltano("state", "clear", "--force", state_id, env=env)

        sent1, took1 = sync(1, env, duckdb_file)
        with _closing(open_duckdb(duckdb_file)) as db:
            after1 = wh.table_counts(db)
            boundary = wh.last_second_counts(db)

        step(f"New traffic: {NEW_TRAFFIC} calls reach the gateway")
        added = control(base_url, f"/_sim/traffic?add={NEW_TRAFFIC}&spread=5")
        before, after = per_stream(info), per_stream(added)
        print("    " + ", ".join(f"{s} +{after[s] - before[s]}" for s in before))

        sent2, took2 = sync(2, env, duckdb_file)
        held = control(base_url, "/_sim/summary")

    with _closing(open_duckdb(duckdb_file)) as db:
        after2 = wh.table_counts(db)
        ids = wh.distinct_ids(db)
        ok = report_runs(
            after1=after1,
            after2=after2,
            sent1=sent1,
            sent2=sent2,
            boundary=boundary,
            held=per_stream(held),
        )
        print(
            f"    usage_logs: {after2.get('usage_logs', 0):,} rows with {ids:,} distinct server "
            "ids (New API sends id % 1024): log_key, not id, tells them apart."
        )
        ok &= report_usage(db)
    where = duckdb_file.relative_to(ROOT)
    print(f"\nRun 1 took {took1:.1f} s, run 2 {took2:.1f} s. Warehouse: {where}")
    if not ok:
        print(bold("\nMISMATCH: see above."))
        return 1
    print(bold("\nEvery log is in the warehouse exactly once, and the daily totals agree."))
    return 0


def show_real(env: dict[str, str], duckdb_file: Path) -> int:
    sent1, took1 = sync(1, env, duckdb_file)
    with _closing(open_duckdb(duckdb_file)) as db:
        after1 = wh.table_counts(db)
        boundary = wh.last_second_counts(db)
    sent2, took2 = sync(2, env, duckdb_file)
    with _closing(open_duckdb(duckdb_file)) as db:
        after2 = wh.table_counts(db)
        report_runs(
            after1=after1,
            after2=after2,
            sent1=sent1,
            sent2=sent2,
            boundary=boundary,
            held=None,
        )
        ok = report_usage(db)
    print(f"\nTimings: run 1 {took1:.1f} s, run 2 {took2:.1f} s. Warehouse: {duckdb_file}")
    return 0 if ok else 1


@contextmanager
def _closing(db: wh.DuckDB) -> Iterator[wh.DuckDB]:
    try:
        yield db
    finally:
        db.close()


def report_runs(
    *,
    after1: dict[str, int],
    after2: dict[str, int],
    sent1: dict[str, int],
    sent2: dict[str, int],
    boundary: dict[str, int],
    held: dict[str, int] | None,
) -> bool:
    """Rows per table after each run; for the logs, run 2 must have sent only new rows."""
    step("Rows per table")
    ok = True
    rows = []
    for table in (*LOG_STREAMS, wh.STATS_TABLE):
        new = after2.get(table, 0) - after1.get(table, 0)
        row: list[Any] = [table, after1.get(table, 0), sent1.get(table, 0)]
        row += [sent2.get(table, 0), new, after2.get(table, 0)]
        if table in LOG_STREAMS:
            # Run 2 re-reads the second of its bookmark (same log_key: upserted), nothing older.
            reread = boundary.get(table, 0)
            fine = sent2.get(table, 0) == new + reread
            if held is not None:
                row.append(held[table])
                fine &= held[table] == after2.get(table, 0)
            row.append("yes" if fine else "NO")
            ok &= fine
        else:
            row += [None] * (2 if held is not None else 1)
        rows.append(row)
    headers = ["table", "rows after run 1", "sent 1", "sent 2", "new rows", "rows after run 2"]
    if held is not None:
        headers.append("simulator holds")
    headers.append("exact")
    print(wh.format_table(headers, rows))
    print(
        "    sent 2 = new rows + the logs of each bookmark's own second, which a run reads "
        "again\n    (same log_key, so the target upserts them); nothing older is read again."
        "\n    daily_stats: run 2 reads today again (its totals grow until the day is over) "
        "and updates its row."
    )
    if held is not None:
        total_wh = sum(after2.get(t, 0) for t in LOG_STREAMS)
        total_sim = sum(held.values())
        verdict = "match" if total_wh == total_sim else "DIFFER"
        print(
            f"    logs in the warehouse: {total_wh:,}; logs the simulator holds: {total_sim:,}"
            f" -> {verdict}"
        )
    return ok


def report_usage(db: wh.DuckDB) -> bool:
    zone = wh.stats_zone(db)
    usage = wh.usage_by_day_and_model(db, zone)
    models = sorted({model for _, model, *_ in usage})
    step(f"Usage cost per day and model, USD (quota / {wh.QUOTA_PER_USD:,}; days in {zone})")
    by_day: dict[str, dict[str, float]] = {}
    for day, model, _calls, _p, _c, _quota, usd in usage:
        by_day.setdefault(day, {})[model] = float(usd)
    rows = [
        [day, *(cells.get(m) for m in models), round(sum(cells.values()), 2)]
        for day, cells in sorted(by_day.items())
    ]
    totals = [sum(float(r[i + 1] or 0) for r in rows) for i in range(len(models) + 1)]
    rows.append(["total", *(round(t, 2) for t in totals)])
    print(wh.format_table(["day", *(m or "(none)" for m in models), "all"], rows))

    step("Usage per model, whole period")
    per_model: dict[str, list[float]] = {}
    for _day, model, calls, prompt, completion, quota, usd in usage:
        acc = per_model.setdefault(model, [0, 0, 0, 0, 0.0])
        for i, value in enumerate((calls, prompt or 0, completion or 0, quota or 0, usd)):
            acc[i] += value
    print(
        wh.format_table(
            ["model", "calls", "prompt tokens", "completion tokens", "quota", "USD"],
            [
                [m or "(none)", *(int(v) for v in acc[:4]), round(float(acc[4]), 2)]
                for m, acc in sorted(per_model.items())
            ],
        )
    )

    step("Reconciliation: daily_stats (the gateway's own totals) vs summed usage_logs")
    if wh.STATS_TABLE not in db.tables():
        print("    daily_stats is missing from the warehouse: nothing to reconcile against")
        return False
    recon = wh.reconcile(db)
    print(
        wh.format_table(
            [
                "day",
                "zone",
                "gateway quota",
                "usage_logs quota",
                "difference",
                "calls",
                "models differing",
            ],
            recon,
        )
    )
    bad = [row for row in recon if row[4] != 0 or row[6] != 0]
    print(f"    days: {len(recon)}; days with a difference: {len(bad)}")
    return not bad


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
