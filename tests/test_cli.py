"""The tap as a user runs it: one-line errors, exit codes, and the token never shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tap_1688token.logtypes import LOG_STREAMS
from tests.conftest import only_the_first_requests

TOKEN = "sk-secret-do-not-print-7f3a"


def run_cli(tmp_path: Path, config: dict | None, *args: str, env: dict | None = None):
    argv = [sys.executable, "-m", "tap_1688token.tap", *args]
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        argv += ["--config", str(path)]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line or "CRITICAL" in line]


def assert_clean_failure(result, setting: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    assert TOKEN not in output
    assert '"type":"STATE"' not in result.stdout.replace(" ", "")
    first = error_lines(result.stderr)[0]
    assert setting in first, result.stderr


@pytest.mark.parametrize(
    ("setting", "overrides"),
    [
        ("api_key", {"api_key": None}),
        ("api_key", {"api_key": 12345}),
        ("start_date", {"start_date": "yesterday"}),
        ("start_date", {"start_date": "2025-03-01T00:00:00Z", "end_date": "2025-02-01T00:00:00Z"}),
        ("base_url", {"base_url": "ftp://127.0.0.1/"}),
        ("base_url", {"base_url": "127.0.0.1:8080"}),
        ("page_size", {"page_size": 500}),
        ("page_size", {"page_size": 0}),
        ("timestamp_unit", {"timestamp_unit": "minutes"}),
        ("user_id", {"user_id": "alice"}),
        ("min_age_seconds", {"min_age_seconds": -5}),
    ],
)
def test_bad_config_fails_before_any_request(make_sim, tmp_path, setting, overrides):
    sim, url = make_sim(50, days=1)
    config = {"api_key": TOKEN, "base_url": url, **overrides}
    config = {k: v for k, v in config.items() if v is not None}
    result = run_cli(tmp_path, config)
    assert_clean_failure(result, setting)
    assert sim.requests == []


def test_wrong_token_is_one_clear_line(make_sim, tmp_path):
    sim, url = make_sim(50, days=1)
    result = run_cli(tmp_path, {"api_key": TOKEN, "base_url": url})
    assert_clean_failure(result, "api_key")
    assert "access token 无效" in error_lines(result.stderr)[0]
    assert only_the_first_requests(sim)


def test_missing_user_id_is_one_clear_line(make_sim, tmp_path):
    _, url = make_sim(50, days=1, user_id=7, api_key=TOKEN)
    result = run_cli(tmp_path, {"api_key": TOKEN, "base_url": url})
    assert_clean_failure(result, "user_id")
    assert "New-Api-User" in error_lines(result.stderr)[0]


def test_config_from_environment_and_token_never_printed(make_sim, tmp_path):
    _, url = make_sim(300, days=2, user_id=7, api_key=TOKEN)
    env = {
        "TAP_1688TOKEN_API_KEY": TOKEN,
        "TAP_1688TOKEN_BASE_URL": url,
        "TAP_1688TOKEN_USER_ID": "7",
        "TAP_1688TOKEN_MIN_AGE_SECONDS": "0",
    }
    result = run_cli(tmp_path, None, "--config", "ENV", env=env)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sum(1 for m in records if m["type"] == "RECORD" and m["stream"] in LOG_STREAMS) == 300
    assert TOKEN not in result.stdout + result.stderr
    about = run_cli(tmp_path, None, "--about", "--config", "ENV", env=env)
    assert about.returncode == 0
    assert TOKEN not in about.stdout + about.stderr


@pytest.mark.parametrize(
    ("options", "settings", "expected"),
    [
        ({"outage": True}, {"max_retries": 0}, "HTTP 503"),
        ({"fault_rate": 1.0, "faults": ("429",)}, {"max_rate_limit_wait_seconds": 2}, "429"),
        ({"fault_rate": 1.0, "faults": ("drop",)}, {"max_retries": 1}, "connection failed"),
    ],
)
def test_failing_runs_never_print_the_token(make_sim, tmp_path, options, settings, expected):
    _, url = make_sim(300, days=2, api_key=TOKEN, **options)
    config = {"api_key": TOKEN, "base_url": url, **settings}
    result = run_cli(tmp_path, config, env={"TAP_1688TOKEN_LOGLEVEL": "DEBUG"})
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert TOKEN not in output
    assert "Traceback" not in output
    assert expected in error_lines(result.stderr)[-1]


def test_connection_test_writes_a_record_per_stream(make_sim, tmp_path):
    _, url = make_sim(300, days=2)
    config = {"api_key": "sim-token", "base_url": url, "min_age_seconds": 0}
    result = run_cli(tmp_path, config, "--test")
    assert result.returncode == 0, result.stderr
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    streams = {m["stream"] for m in messages if m["type"] == "RECORD"}
    # New API sums usage without models: daily_model_stats has nothing to show.
    assert streams == {
        "usage_logs",
        "topup_logs",
        "manage_logs",
        "system_logs",
        "refund_logs",
        "error_logs",
        "daily_stats",
        "hourly_usage",
        "account",
        "api_keys",
        "gateway",
        "model_prices",
    }


def test_a_run_ends_with_status_0_and_every_message_written(make_sim, tmp_path):
    # The command ends without the interpreter's teardown once the run succeeded: what
    # was written must all be there, the last STATE included.
    sim, url = make_sim(3000, days=5)
    config = {"api_key": "sim-token", "base_url": url, "min_age_seconds": 0}
    result = run_cli(tmp_path, config)
    assert result.returncode == 0, result.stderr
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    logs = Counter(m["stream"] for m in messages if m["type"] == "RECORD")
    assert sum(logs[stream] for stream in LOG_STREAMS) == len(sim.logs())
    assert messages[-1]["type"] == "STATE"
    assert "Run summary" in result.stderr
