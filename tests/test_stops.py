"""Stops that tell the truth: signals, a closed stdout, state files the tap cannot use.

Each runs the tap as a user does (a child process) against the simulator.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_exact, merge, parse_messages, run_tap, tap_config

TAP = [sys.executable, "-m", "tap_1688token.tap"]


def start_tap(tmp_path: Path, config: dict[str, Any], *args: str, **popen: Any):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    popen.setdefault("stdout", subprocess.PIPE)
    # A file, not a pipe: nothing the tap logs can block it while a test reads stdout.
    with (tmp_path / "stderr.log").open("wb") as stderr:
        return subprocess.Popen([*TAP, "--config", str(path), *args], stderr=stderr, **popen)


def finish(child: subprocess.Popen, tmp_path: Path) -> tuple[bytes, bytes]:
    """The rest of stdout (after what was read line by line) and all of stderr."""
    rest = b""
    if child.stdout:
        rest = child.stdout.read()
        child.stdout.close()
    child.wait(timeout=30)
    return rest, (tmp_path / "stderr.log").read_bytes()


def read_until_records(child: subprocess.Popen, count: int) -> list[bytes]:
    """stdout lines until `count` RECORDs have come (read line by line, so never torn)."""
    lines: list[bytes] = []
    records = 0
    while records < count:
        line = child.stdout.readline()
        assert line, "the run ended before the signal"
        lines.append(line)
        records += b'"type":"RECORD"' in line
    return lines


def error_lines(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines() if "ERROR" in line]


def assert_whole_lines(lines: list[bytes]) -> None:
    for line in lines:
        assert line.endswith(b"\n"), line[-80:]
        json.loads(line)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_run_non_zero_and_the_next_run_delivers_the_rest(
    make_sim, tmp_path, signum, code
):
    sim, url = make_sim(20_000, days=40, latency=0.01)
    child = start_tap(tmp_path, tap_config(url))
    lines = read_until_records(child, 3000)
    child.send_signal(signum)
    sent = time.monotonic()
    rest, stderr = finish(child, tmp_path)
    took = time.monotonic() - sent
    assert child.returncode == code
    assert took < 5, f"stopped {took:.1f} s after the signal"
    lines += rest.splitlines(keepends=True)
    assert_whole_lines(lines)
    last = error_lines(stderr)[-1]
    assert "Interrupted by " + signal.Signals(signum).name in last
    assert re.search(r"the next run resumes from the last STATE written: \w+_\w+ from 20", last)

    stopped = parse_messages([line.decode() for line in lines])
    assert stopped.states, "a STATE was written before the signal"
    assert json.loads(lines[-1])["type"] in ("RECORD", "STATE")
    resumed = run_tap(tap_config(url), state=stopped.state)
    assert_exact(sim, merge(stopped, resumed))


def test_sigterm_behind_a_rate_limiter_stops_within_seconds(make_sim, tmp_path):
    # 20 requests per 30 s: the run soon waits out a 30 s block.
    sim, url = make_sim(5_000, days=10, rate_limit=(20, 30.0))
    child = start_tap(tmp_path, tap_config(url))
    deadline = time.monotonic() + 30
    while not any(r.status == 429 for r in sim.requests):
        assert time.monotonic() < deadline, "the limiter never answered 429"
        time.sleep(0.05)
    time.sleep(0.5)
    child.send_signal(signal.SIGTERM)
    sent = time.time()  # the simulator stamps requests with time.time()
    out, _ = finish(child, tmp_path)
    assert time.time() - sent < 5
    assert child.returncode == 143
    assert_whole_lines(out.splitlines(keepends=True))
    after = [r for r in sim.requests if r.at > sent + 0.1]
    assert after == [], f"{len(after)} requests after the signal"


def test_sigterm_while_blocked_on_a_slow_target_leaves_only_whole_lines(make_sim, tmp_path):
    _, url = make_sim(20_000, days=40)
    child = start_tap(tmp_path, tap_config(url))
    # Nobody reads stdout: the tap blocks writing once the pipe is full.
    time.sleep(3)
    child.send_signal(signal.SIGTERM)
    out, stderr = finish(child, tmp_path)
    assert child.returncode == 143, stderr.decode()[-2000:]
    lines = out.splitlines(keepends=True)
    assert len(lines) > 10
    assert_whole_lines(lines)


def test_a_target_that_closes_the_pipe_is_named(make_sim, tmp_path):
    _, url = make_sim(20_000, days=40)
    read, write = os.pipe()
    child = start_tap(tmp_path, tap_config(url), stdout=write)
    os.close(write)
    taken = 0
    with os.fdopen(read, "rb") as pipe:
        while taken < 300_000:
            chunk = pipe.read1(65536)
            assert chunk
            taken += len(chunk)
    # the read end is closed: the next write fails with EPIPE
    _, stderr = finish(child, tmp_path)
    assert child.returncode == 1
    text = stderr.decode()
    assert "Traceback" not in text
    last = error_lines(stderr)[-1]
    assert "the target closed the pipe after" in last
    assert re.search(r"after \d+ records of \w+_\w+\.$", last)


STATE_CASES = {
    "empty file": ("", "is empty"),
    "not JSON": ("{bookmarks: 1", "is not JSON"),
    "not an object": ("[1, 2]", "is not a Singer state"),
    "a number": (
        json.dumps({"bookmarks": {"usage_logs": {"replication_key_value": 1750000000}}}),
        "the bookmark of usage_logs is 1750000000",
    ),
    "milliseconds as text": (
        json.dumps({"bookmarks": {"topup_logs": {"replication_key_value": "1750000000000"}}}),
        "the bookmark of topup_logs is '1750000000000'",
    ),
    "not ISO": (
        json.dumps({"bookmarks": {"error_logs": {"replication_key_value": "15/06/2025"}}}),
        "the bookmark of error_logs is '15/06/2025'",
    ),
}


@pytest.mark.parametrize("case", STATE_CASES)
def test_a_state_file_the_tap_cannot_use_is_one_line(make_sim, tmp_path, case):
    sim, url = make_sim(200, days=2)
    text, expected = STATE_CASES[case]
    state = tmp_path / "state.json"
    state.write_text(text)
    child = start_tap(tmp_path, tap_config(url), "--state", str(state))
    out, stderr = finish(child, tmp_path)
    assert child.returncode == 1
    assert out == b"", "nothing is sent"
    assert "Traceback" not in stderr.decode()
    (line,) = error_lines(stderr)
    assert f"state file {state}" in line
    assert expected in line
    assert sim.requests == []


def test_meltanos_wrapped_state_is_resumed_from(make_sim, tmp_path):
    sim, url = make_sim(2000, days=10)
    first = run_tap(tap_config(url))
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"singer_state": first.state}))
    child = start_tap(tmp_path, tap_config(url), "--state", str(state))
    out, _ = finish(child, tmp_path)
    assert child.returncode == 0
    again = parse_messages(out.decode().splitlines())
    # Only the bookmark's second of each stream is read again, not the history.
    assert again.log_count < 50
    assert_exact(sim, merge(first, again))


def test_a_bookmark_past_the_runs_bound_is_a_warning_with_both_times(make_sim, tmp_path):
    _, url = make_sim(200, days=2)
    future = "2099-01-01T00:00:00+00:00"
    state = tmp_path / "state.json"
    # Hand-written, as a user moving a bookmark would: no "replication_key" beside it.
    state.write_text(json.dumps({"bookmarks": {"usage_logs": {"replication_key_value": future}}}))
    child = start_tap(tmp_path, tap_config(url), "--state", str(state))
    out, stderr = finish(child, tmp_path)
    assert child.returncode == 0
    warnings = [line for line in stderr.decode().splitlines() if "WARNING" in line]
    (line,) = [w for w in warnings if "usage_logs: the bookmark" in w]
    assert future in line
    assert "later than this run's upper bound 20" in line
    records = parse_messages(out.decode().splitlines()).records
    assert "usage_logs" not in records


def test_a_slow_reader_is_not_needed_for_a_normal_run(make_sim, tmp_path):
    """The writer's stop handling costs nothing when no signal comes."""
    _, url = make_sim(3000, days=5)
    child = start_tap(tmp_path, tap_config(url))
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stdout))
    reader.start()
    child.wait(timeout=60)
    reader.join()
    child.stdout.close()
    assert child.returncode == 0
    assert_whole_lines(lines)
    assert parse_messages([line.decode() for line in lines]).log_count == 3000
