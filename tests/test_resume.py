"""A run killed half-way resumes from its last STATE: nothing lost, at most a window resent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from tap_1688token.client import LogStream
from tests.conftest import (
    LOG_STREAMS,
    assert_exact,
    merge,
    parse_messages,
    run_tap,
    tap_config,
)


def test_killed_run_resumes_from_its_last_state(make_sim, tmp_path):
    sim, url = make_sim(30_000, days=60)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(tap_config(url)))
    lines, records = [], 0
    with subprocess.Popen(
        [sys.executable, "-m", "tap_1688token.tap", "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=os.environ.copy(),
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            records += '"type":"RECORD"' in line.replace(" ", "")
            if records >= 20_000:
                child.send_signal(signal.SIGKILL)
                break
        child.wait(timeout=30)
    killed = parse_messages(lines)
    assert killed.states, "no STATE before the kill"
    usage_done = len(killed.records.get("usage_logs", []))
    assert 0 < usage_done < len(sim.logs(2)), "the kill must land inside usage_logs"

    resumed = run_tap(tap_config(url), state=killed.state)
    assert_exact(sim, merge(killed, resumed))

    # What the resumed run sent again: at most the window that was being read.
    before = {r["log_key"] for r in killed.records.get("usage_logs", [])}
    resent = [r for r in resumed.records["usage_logs"] if r["log_key"] in before]
    assert len(resent) <= LogStream.window_threshold
    finished = [s for s in LOG_STREAMS if s != "usage_logs"]
    for stream in finished:
        # Streams that had finished re-send only their bookmark's second; those written
        # after usage_logs had not begun (no bookmark) and are read whole.
        bookmark = killed.bookmark(stream)
        if bookmark is None:
            assert stream not in killed.records
            continue
        again = resumed.records.get(stream, [])
        assert all(r["created_at"] >= bookmark for r in again)


def test_two_time_shards_run_at_once_make_up_the_history_exactly(make_sim, tmp_path):
    # A backfill split by time across processes (an orchestrator's matrix): each shard its
    # own process and state; together every log once, and no key in both.
    sim, url = make_sim(8000, days=20)
    mid = "2025-06-25T06:30:00+00:00"  # inside the history, not on a day's edge
    shards = [
        tap_config(url, end_date=mid),
        tap_config(url, start_date="2025-06-25T06:30:01+00:00", end_date="2025-07-30T00:00:00Z"),
    ]
    children = []
    for i, config in enumerate(shards):
        path = tmp_path / f"shard-{i}.json"
        path.write_text(json.dumps(config))
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "tap_1688token.tap", "--config", str(path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        )
    results = []
    for child in children:
        out, _ = child.communicate(timeout=300)
        assert child.returncode == 0
        results.append(parse_messages(out.splitlines()))
    first, second = results
    assert_exact(sim, merge(first, second))
    for stream in LOG_STREAMS:
        keys = [{r["log_key"] for r in part.records.get(stream, [])} for part in results]
        assert not keys[0] & keys[1], stream
        assert all(r["created_at"] <= mid for r in first.records.get(stream, []))
    assert {s for part in results for s in part.state["bookmarks"]} >= set(LOG_STREAMS)
