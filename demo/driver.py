"""`make demo`: sync the bundled simulator (or your account) into DuckDB twice, then show it.

Run by demo/run.sh after the installs, with the tools' Python (.tools/venv). Without
TAP_1688TOKEN_API_KEY it starts `python -m simulator` on a free loopback port, runs
`meltano run tap-1688token target-duckdb`, adds new traffic, runs again, and prints the
warehouse next to what the simulator holds. With the key set it syncs the real account
(environment `prod`, warehouse output/1688token.duckdb, state kept between demos).

Every figure comes from the warehouse (rows, and what each run loaded: target-duckdb's
load-time column) or from Meltano's state (the bookmarks), never from log text: they are
what a user can check for themselves.
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from demo import report
from demo import warehouse as wh
from tap_1688token.logtypes import LOG_STREAMS, STREAM_BY_TYPE

ROOT = Path(__file__).resolve().parent.parent
MELTANO = ROOT / ".tools" / "venv" / "bin" / "meltano"
OUTPUT = ROOT / "output"
PIPELINE = ("tap-1688token", "target-duckdb")
#: run 2 goes on to build the dbt project (transform/) on what it loaded: marts and their tests
TRANSFORM = "dbt-duckdb:build"
#: the schema of the dbt project's marts (transform/models/marts; the queries below name it)
MARTS = wh.MARTS
NEW_TRAFFIC = 500
#: users of the simulated site (`make demo SCOPE=site`)
SITE_USERS = 6
_SHOWN = re.compile(r"Reading \w+_\w+ from|Loading \d+ rows|\[error|ERROR|Traceback|failed")
_TTY = sys.stdout.isatty()


def bold(text: str) -> str:
    return f"\033[1m{text}\033[0m" if _TTY else text


def step(text: str) -> None:
    print(f"\n{bold('==> ' + text)}", flush=True)


class DemoError(RuntimeError):
    pass


@contextmanager
def simulator(users: int = 1) -> Iterator[tuple[str, Any]]:
    """Start the standalone simulator (no steady traffic: the demo adds its own); `users`
    above 1: a whole site, the token an admin's."""
    argv = [sys.executable, "-m", "simulator", "--port", "0", "--live-rate", "0"]
    argv += ["--users", str(users)]
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


def state_id(env: Mapping[str, str]) -> str:
    """Meltano's id for the pipeline's state in the environment the demo runs."""
    return f"{env['MELTANO_ENVIRONMENT']}:{PIPELINE[0]}-to-{PIPELINE[1]}"


def state_bookmarks(env: dict[str, str]) -> dict[str, datetime]:
    """Each stream's bookmark in Meltano's state (`meltano state get`), as naive UTC."""
    done = subprocess.run(  # noqa: S603 - Meltano from .tools, fixed arguments
        [str(MELTANO), "state", "get", state_id(env)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise DemoError(f"meltano state get failed (status {done.returncode}):\n{done.stderr}")
    state = json.loads(done.stdout or "{}").get("singer_state") or {}
    return {
        stream: datetime.fromisoformat(entry["replication_key_value"])
        .astimezone(UTC)
        .replace(tzinfo=None)  # the warehouse holds created_at as naive UTC
        for stream, entry in (state.get("bookmarks") or {}).items()
        if entry.get("replication_key_value")
    }


@dataclass(frozen=True)
class AfterRun:
    """What the warehouse holds after one run."""

    took: float
    rows: dict[str, int]
    #: rows the run loaded or loaded again (a load time newer than the run before)
    loaded: dict[str, int]
    #: of those, log rows created before the bookmark the run began at: should be none
    older: dict[str, int]
    #: distinct log_key per log table
    keys: dict[str, int]
    #: the newest load time: the next run's rows are stamped later
    last_load: datetime | None


@dataclass(frozen=True)
class Bookmarks:
    """Where the next run begins (Meltano's state), and the rows it will read again."""

    at: dict[str, datetime]
    #: log rows in each bookmark's own second
    rows: dict[str, int]


def read_bookmarks(env: dict[str, str], duckdb_file: Path) -> Bookmarks:
    marks = state_bookmarks(env)
    with _closing(open_duckdb(duckdb_file)) as db:
        rows = wh.rows_at(db, {t: m for t, m in marks.items() if t in LOG_STREAMS})
    return Bookmarks(marks, rows)


def sync(
    run: int,
    env: dict[str, str],
    duckdb_file: Path,
    *,
    since: datetime | None = None,
    begins: Bookmarks | None = None,
    then: tuple[str, ...] = (),
) -> AfterRun:
    """Run the pipeline once (and `then`, e.g. the dbt build), then read what it left in the
    warehouse.

    ``since`` is the newest load time before the run; ``begins`` the bookmarks it begins at.
    """
    blocks = (*PIPELINE, *then)
    step(f"Run {run}: meltano --environment={env['MELTANO_ENVIRONMENT']} run {' '.join(blocks)}")
    started = time.monotonic()
    meltano("run", *blocks, env=env, log=OUTPUT / f"demo-run-{run}.log")
    took = time.monotonic() - started
    print(f"    done in {took:.1f} s (full log: output/demo-run-{run}.log)")
    older_than = {t: m for t, m in (begins.at if begins else {}).items() if t in LOG_STREAMS}
    with _closing(open_duckdb(duckdb_file)) as db:
        return AfterRun(
            took=took,
            rows=wh.table_counts(db),
            loaded=wh.loaded_since(db, since),
            older=wh.loaded_since(db, since, older_than),
            keys=wh.distinct_keys(db),
            last_load=wh.last_load(db),
        )


def open_duckdb(path: Path) -> wh.DuckDB:
    return wh.DuckDB(str(path))


def _dotenv_has_key() -> bool:
    """Meltano reads secrets from .env too: a key there means a real account."""
    dotenv = ROOT / ".env"
    if not dotenv.exists():
        return False
    pattern = re.compile(r"^\s*(export\s+)?TAP_1688TOKEN_API_KEY\s*=\s*['\"]?\S")
    return any(pattern.match(line) for line in dotenv.read_text().splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument(
        "--scope",
        choices=("self", "site"),
        default="self",
        help="site: a gateway of several users, read with an admin's token (scope: site)",
    )
    args = parser.parse_args(argv)
    OUTPUT.mkdir(exist_ok=True)
    real = bool(os.environ.get("TAP_1688TOKEN_API_KEY")) or _dotenv_has_key()
    env = {
        **os.environ,
        "MELTANO_ENVIRONMENT": "prod" if real else "dev",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        # target-duckdb stamps each row it loads or upserts: how the demo tells what a run did.
        "TARGET_DUCKDB_ADD_METADATA_COLUMNS": "true",
        "TAP_1688TOKEN_SCOPE": args.scope,
    }
    # As meltano.yml's environments set target-duckdb's filepath.
    duckdb_file = OUTPUT / ("1688token.duckdb" if real else "warehouse.duckdb")
    if real:
        step("TAP_1688TOKEN_API_KEY is set: syncing that account (meltano environment prod)")
        return show_real(env, duckdb_file)
    return show_simulated(env, duckdb_file, site=args.scope == "site")


def show_simulated(env: dict[str, str], duckdb_file: Path, *, site: bool) -> int:
    what = f"a New API site of {SITE_USERS} users" if site else "a New API account"
    step(f"Starting the API simulator (python -m simulator): {what} on loopback")
    with simulator(SITE_USERS if site else 1) as (base_url, info):
        days = (info["newest"] - info["oldest"]) / 86_400
        print(
            f"    {base_url}: {info['logs']:,} logs over {days:.0f} days, "
            f"{len(info['types'])} log types, ids modulo 1024, `other` as a JSON string"
        )
        if site:
            print("    scope: site — every user's logs from /api/log/, with an admin's token")
        # The simulator's own credentials, over any in the environment or .env.
        env.update(
            TAP_1688TOKEN_BASE_URL=base_url,
            TAP_1688TOKEN_API_KEY="sim-token",
            TAP_1688TOKEN_USER_ID="1",
        )
        # A fresh warehouse and no bookmark: this simulator's history is new.
        duckdb_file.unlink(missing_ok=True)
        meltano("state", "clear", "--force", state_id(env), env=env)

        after1 = sync(1, env, duckdb_file)
        marks = read_bookmarks(env, duckdb_file)

        step(f"New traffic: {NEW_TRAFFIC} calls reach the gateway")
        added = control(base_url, f"/_sim/traffic?add={NEW_TRAFFIC}&spread=5")
        before, after = per_stream(info), per_stream(added)
        print("    " + ", ".join(f"{s} +{after[s] - before[s]}" for s in before))

        after2 = sync(2, env, duckdb_file, since=after1.last_load, begins=marks, then=(TRANSFORM,))
        held = per_stream(control(base_url, "/_sim/summary"))

    ok = report_runs(after1, marks, after2, held)
    with _closing(open_duckdb(duckdb_file)) as db:
        ids = wh.distinct_ids(db)
        print(
            f"    usage_logs: {after2.rows.get('usage_logs', 0):,} rows with {ids:,} distinct "
            "server ids (New API sends id % 1024): log_key, not id, tells them apart."
        )
        ok &= report_usage(db)
        ok &= report_marts(db)
        if site:
            ok &= report_site(db)
    page = report.write_report(duckdb_file, OUTPUT / "report.html", schema=MARTS)
    print(f"\n{bold('Report:')} {page.relative_to(ROOT)} (open it in a browser; works offline)")
    where = duckdb_file.relative_to(ROOT)
    print(f"\nRun 1 took {after1.took:.1f} s, run 2 {after2.took:.1f} s. Warehouse: {where}")
    if not ok:
        print(bold("\nMISMATCH: see above."))
        return 1
    print(bold("\nEvery log is in the warehouse exactly once, and the daily totals agree."))
    return 0


def show_real(env: dict[str, str], duckdb_file: Path) -> int:
    after1 = sync(1, env, duckdb_file)
    marks = read_bookmarks(env, duckdb_file)
    after2 = sync(2, env, duckdb_file, since=after1.last_load, begins=marks, then=(TRANSFORM,))
    report_runs(after1, marks, after2, held=None)
    with _closing(open_duckdb(duckdb_file)) as db:
        ok = report_usage(db) & report_marts(db)
    page = report.write_report(duckdb_file, OUTPUT / "report.html", schema=MARTS)
    print(f"\n{bold('Report:')} {page.relative_to(ROOT)}")
    print(
        f"\nTimings: run 1 {after1.took:.1f} s, run 2 {after2.took:.1f} s. Warehouse: {duckdb_file}"
    )
    return 0 if ok else 1


@contextmanager
def _closing(db: wh.DuckDB) -> Iterator[wh.DuckDB]:
    try:
        yield db
    finally:
        db.close()


def report_runs(
    after1: AfterRun, marks: Bookmarks, after2: AfterRun, held: dict[str, int] | None
) -> bool:
    """Rows per table after each run, and what run 2 loaded: for the logs, only new rows and
    the second each bookmark re-reads, each log once (and all the simulator holds)."""
    step("Rows per table (the warehouse) and bookmarks (Meltano's state)")
    ok = True
    rows = []
    for table in (*LOG_STREAMS, wh.STATS_TABLE):
        is_log = table in LOG_STREAMS
        rows1, rows2 = after1.rows.get(table, 0), after2.rows.get(table, 0)
        loaded, new = after2.loaded.get(table, 0), rows2 - rows1
        reread = marks.rows.get(table, 0) if is_log else None
        row: list[Any] = [table, rows1, marks.at.get(table), reread, loaded, new, rows2]
        if is_log:
            # Run 2 re-reads the second of its bookmark (same log_key: upserted), nothing older.
            fine = loaded == new + (reread or 0) and not after2.older.get(table, 0)
            fine &= after2.keys.get(table, 0) == rows2
            if held is not None:
                row.append(held[table])
                fine &= held[table] == rows2
            row.append("yes" if fine else "NO")
            ok &= fine
        else:
            row += [None] * (2 if held is not None else 1)
        rows.append(row)
    headers = ["table", "rows after run 1", "bookmark 1 (UTC)", "in its second"]
    headers += ["loaded by run 2", "new rows", "rows after run 2"]
    if held is not None:
        headers.append("simulator holds")
    headers.append("exact")
    print(wh.format_table(headers, rows))
    older = sum(after2.older.values())
    print(
        f"    loaded by run 2: rows whose {wh.LOADED_AT} is newer than run 1's last load, i.e."
        "\n    the new rows and the logs of each bookmark's own second, which a run reads again"
        "\n    (same log_key, so the target upserts them). Rows older than a bookmark loaded"
        f" again: {older:,}."
        "\n    daily_stats: run 2 reads the bookmark's day again (its totals grow until the day is"
        " over)."
    )
    total_wh = sum(after2.rows.get(t, 0) for t in LOG_STREAMS)
    keys = sum(after2.keys.get(t, 0) for t in LOG_STREAMS)
    line = f"    logs in the warehouse: {total_wh:,} ({keys:,} distinct log_key)"
    if held is not None:
        total_sim = sum(held.values())
        verdict = "match" if total_wh == keys == total_sim else "DIFFER"
        line += f"; logs the simulator holds: {total_sim:,} -> {verdict}"
    print(line)
    return ok


def report_usage(db: wh.DuckDB) -> bool:
    """Cost per day and model, and the reconciliation, as the dbt marts answer them."""
    usage = wh.usage_daily(db)
    models = sorted({model for _, model, *_ in usage})
    currency = next((row[7] for row in usage if row[7]), "?")
    step(f"Usage cost per day and model, {currency} ({MARTS}.mart_usage_daily)")
    by_day: dict[str, dict[str, float]] = {}
    for day, model, *_, cost, _currency in usage:
        by_day.setdefault(day, {})[model] = float(cost or 0)
    rows = [
        [day, *(cells.get(m) for m in models), round(sum(cells.values()), 2)]
        for day, cells in sorted(by_day.items())
    ]
    totals = [sum(float(r[i + 1] or 0) for r in rows) for i in range(len(models) + 1)]
    rows.append(["total", *(round(t, 2) for t in totals)])
    print(wh.format_table(["day", *(m or "(none)" for m in models), "all"], rows))

    step("Usage per model, whole period")
    per_model: dict[str, list[float]] = {}
    for _day, model, calls, prompt, completion, quota, cost, _currency in usage:
        acc = per_model.setdefault(model, [0, 0, 0, 0, 0.0])
        for i, value in enumerate((calls, prompt or 0, completion or 0, quota or 0, cost or 0)):
            acc[i] += float(value)
    print(
        wh.format_table(
            ["model", "calls", "prompt tokens", "completion tokens", "quota", currency],
            [
                [m or "(none)", *(int(v) for v in acc[:4]), round(float(acc[4]), 2)]
                for m, acc in sorted(per_model.items())
            ],
        )
    )

    step(f"Reconciliation: daily_stats vs summed usage_logs ({MARTS}.mart_reconciliation_daily)")
    recon = wh.reconciliation(db)
    if not recon:
        print("    daily_stats is missing from the warehouse: nothing to reconcile against")
        return False
    headers = ["day", "zone", "gateway quota", "usage_logs quota", "difference", "calls"]
    headers += ["models differing", "closed"]
    print(wh.format_table(headers, recon))
    bad = [row for row in recon if row[7] and (row[4] != 0 or row[6] != 0)]
    print(f"    days: {len(recon)}; closed days with a difference: {len(bad)}")
    return not bad


def report_marts(db: wh.DuckDB) -> bool:
    """What the dbt build answers (transform/): the billing check and errors per day."""
    step(f"dbt marts ({MARTS}): each usage log's charge recomputed with New API's formula")
    billing = db.rows(
        "SELECT day, checked, ok, mismatches, unchecked FROM analytics.mart_billing_check_daily "
        "ORDER BY day"
    )
    print(wh.format_table(["day", "checked", "ok", "mismatches", "unchecked"], billing))
    reasons = db.rows(
        "SELECT status, coalesce(reason, ''), count(*) FROM analytics.mart_billing_check "
        "GROUP BY 1, 2 ORDER BY 3 DESC"
    )
    print(wh.format_table(["status", "reason", "logs"], reasons))
    step(f"dbt marts ({MARTS}): failed calls per day and model")
    errors = db.rows(
        "SELECT model_name, sum(errors), count(DISTINCT day) FROM analytics.mart_errors_daily "
        "GROUP BY 1 ORDER BY 2 DESC"
    )
    print(wh.format_table(["model", "errors", "days"], errors))
    mismatches = sum(int(row[3]) for row in billing)
    print(f"    billing mismatches: {mismatches}")
    return bool(billing) and mismatches == 0


def report_site(db: wh.DuckDB) -> bool:
    """Per user and per channel: the gateway's own counters beside the summed usage logs."""
    step("Users: the gateway's counters (users) vs their usage_logs")
    users = wh.users_vs_logs(db)
    print(
        wh.format_table(
            ["user", "name", "balance", "used_quota", "logs' quota", "requests", "logs", "equal"],
            [[*row, "yes" if row[3] == row[4] and row[5] == row[6] else "NO"] for row in users],
        )
    )
    step("Channels: quota relayed (channels) vs their usage_logs; upstream balance, USD")
    channels = wh.channels_vs_logs(db)
    print(
        wh.format_table(
            ["channel", "name", "used_quota", "logs' quota", "balance", "equal"],
            [[*row, "yes" if row[2] == row[3] else "NO"] for row in channels],
        )
    )
    bad = [r for r in users if r[3] != r[4] or r[5] != r[6]] + [r for r in channels if r[2] != r[3]]
    print(f"    users: {len(users)}, channels: {len(channels)}; differing: {len(bad)}")
    return bool(users) and bool(channels) and not bad


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
