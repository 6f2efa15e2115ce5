"""Helpers for the end-to-end tests: Meltano from .tools/, the demo simulator, warehouses.

Meltano and the loaders live outside the tap's venv (demo/install.sh puts them in .tools/ and
.meltano/); warehouses are read with .tools' Python (`python -m demo.query --json`), which has
the DuckDB and psycopg the loaders use. Each test gets its own Meltano system database (so its
own state), output folder and, for PostgreSQL, its own database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from simulator import DemoSimulator, build_account
from tap_1688token.logtypes import STREAM_BY_TYPE

ROOT = Path(__file__).resolve().parent.parent
TOOLS_PYTHON = ROOT / ".tools" / "venv" / "bin" / "python"
MELTANO = ROOT / ".tools" / "venv" / "bin" / "meltano"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_METRIC = re.compile(r'METRIC: (\{.*"metric":\s*"record_count".*\})')


def unavailable(reason: str) -> None:
    """A tool the tests need is missing: a failure in CI, a skip on a developer's machine."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the end-to-end tests must run)")
    pytest.skip(reason)


def ensure_meltano() -> None:
    """Install Meltano and the plugins unless they are current (seconds when they are)."""
    done = subprocess.run(
        ["bash", str(ROOT / "demo" / "install.sh")],
        cwd=ROOT,
        env={**_clean_env(), "QUIET": "1"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0 or not MELTANO.exists():
        unavailable(f"demo/install.sh failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def _clean_env() -> dict[str, str]:
    """This process's environment without what would redirect Meltano, the tap or dbt."""
    drop = ("TAP_1688TOKEN_", "TARGET_", "MELTANO_", "DBT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.pop("VIRTUAL_ENV", None)  # `uv run` sets it; the plugins have their own
    return env


def chromium() -> str:
    """Debian's chromium, for the report's charts (`make test` installs it when root)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        unavailable(
            "chromium is not installed: run `make test` as root (it installs Debian's chromium), "
            "or: sudo apt-get install chromium"
        )
    return str(found)


def postgres_port() -> int:
    port = os.environ.get("TAP_E2E_POSTGRES_PORT")
    if not port:
        unavailable(
            "TAP_E2E_POSTGRES_PORT is not set: run `bash .ci/with-postgres make test` "
            "(it starts a throwaway PostgreSQL on 127.0.0.1)"
        )
    return int(str(port))


@dataclass
class RunResult:
    stdout: str
    lines: list[str]  # stdout and stderr
    sent: dict[str, int]  # records the tap wrote, per stream (its record_count metrics)
    returncode: int = 0


@dataclass
class Project:
    """The repository's meltano.yml with this test's own state database and outputs."""

    tmp: Path
    base_url: str
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {
            **_clean_env(),
            "MELTANO_ENVIRONMENT": "dev",
            "MELTANO_DATABASE_URI": f"sqlite:///{self.tmp / 'meltano.db'}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            # The simulator's credentials, over any a developer keeps in .env.
            "TAP_1688TOKEN_BASE_URL": self.base_url,
            "TAP_1688TOKEN_API_KEY": "sim-token",
            "TAP_1688TOKEN_USER_ID": "1",
            "TARGET_DUCKDB_FILEPATH": str(self.tmp / "warehouse.duckdb"),
            # Many small batches: target-duckdb with a duckdb >= 1.3 loses the first row of
            # each, which the exact counts below would show.
            "TARGET_DUCKDB_BATCH_SIZE_ROWS": "250",
            "TARGET_JSONL_DESTINATION_PATH": str(self.tmp / "jsonl"),
            "TARGET_CSV_OUTPUT_PATH": str(self.tmp / "csv"),
            # dbt reads the file target-duckdb wrote, and keeps its compiled SQL and logs here.
            "DBT_DUCKDB_PATH": str(self.tmp / "warehouse.duckdb"),
            **{
                f"DBT_{adapter.upper()}_{setting.upper()}_PATH": str(self.tmp / "dbt" / setting)
                for adapter in ("duckdb", "postgres")
                for setting in ("target", "log")
            },
        }
        for folder in ("jsonl", "csv"):
            (self.tmp / folder).mkdir(exist_ok=True)

    def meltano(
        self, *args: str, timeout: float = 300, check: bool = True, **env: str
    ) -> RunResult:
        """Run Meltano; unless ``check`` is False, fail the test when it fails."""
        done = subprocess.run(
            [str(MELTANO), *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        lines = (done.stdout + done.stderr).splitlines()
        if check:
            failed = f"meltano {' '.join(args)} failed:\n" + "\n".join(lines[-60:])
            assert done.returncode == 0, failed
        return RunResult(done.stdout, lines, records_sent(lines), done.returncode)

    def run(self, *plugins: str, **env: str) -> RunResult:
        return self.meltano("run", *plugins, **env)

    def state(self, state_id: str) -> dict[str, Any]:
        return json.loads(self.meltano("state", "get", state_id).stdout)


def records_sent(lines: list[str]) -> dict[str, int]:
    sent: dict[str, int] = {}
    for line in lines:
        match = _METRIC.search(line)
        if match and "tap-1688token" in line:
            metric = json.loads(match[1])
            stream = metric["tags"]["stream"]
            sent[stream] = sent.get(stream, 0) + int(metric["value"])
    return sent


@contextmanager
def simulator(
    days: float = 4, per_day: int = 700, **config: Any
) -> Iterator[tuple[DemoSimulator, str]]:
    """The demo's New API account (ids modulo 1024: they collide), history ending 5 min ago."""
    sim = build_account(days=days, per_day=per_day, rate=0, now=int(time.time()) - 300, **config)
    with sim.serve() as base_url:
        yield sim, base_url


def held(sim: DemoSimulator) -> dict[str, int]:
    """Logs the simulator holds, per stream (it counts them per type number)."""
    per_type = sim.summary()["types"]
    return {stream: per_type.get(str(number), 0) for number, stream in STREAM_BY_TYPE.items()}


def query(where: list[str], report: str, sql: str | None = None) -> list[list[Any]]:
    """Rows of a `python -m demo.query` report (counts, reconcile, usage, sql)."""
    argv = [str(TOOLS_PYTHON), "-m", "demo.query", *where, "--json", report]
    if sql is not None:
        argv.append(sql)
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)["rows"]


def counts(where: list[str]) -> dict[str, int]:
    return dict(query(where, "counts"))


def scalar(where: list[str], sql: str) -> Any:
    return query(where, "sql", sql)[0][0]


@contextmanager
def postgres_database(port: int) -> Iterator[str]:
    """A new, empty database on the throwaway server; its DSN. Dropped afterwards."""
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    admin = ["--postgres", f"postgresql://postgres@127.0.0.1:{port}/postgres"]
    query(admin, "sql", f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/{name}"
    finally:
        query(admin, "sql", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def postgres_env(port: int, dsn: str) -> dict[str, str]:
    """target-postgres's and dbt-postgres's settings for the database at ``dsn``."""
    database = dsn.rsplit("/", 1)[1]
    return {
        "TARGET_POSTGRES_HOST": "127.0.0.1",
        "TARGET_POSTGRES_PORT": str(port),
        "TARGET_POSTGRES_USER": "postgres",
        "TARGET_POSTGRES_PASSWORD": "unused-trust-auth",
        "TARGET_POSTGRES_DATABASE": database,
        "DBT_POSTGRES_HOST": "127.0.0.1",
        "DBT_POSTGRES_PORT": str(port),
        "DBT_POSTGRES_USER": "postgres",
        "DBT_POSTGRES_DBNAME": database,
    }


def duckdb_execute(path: Path, sql: str) -> None:
    """Run a statement that writes to a DuckDB file, with .tools' DuckDB (the loader's)."""
    script = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute(sys.argv[2]).close()"
    done = subprocess.run(
        [str(TOOLS_PYTHON), "-c", script, str(path), sql],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
