"""End-to-end syncs against the simulator: exact multisets, keys, state, request counts."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from simulator import generate_logs
from tap_1688token.client import LogStream
from tap_1688token.errors import GatewayError
from tests.conftest import (
    DAY,
    LOG_STREAMS,
    T0,
    assert_exact,
    keys_of,
    merge,
    run_tap,
    tap_config,
)


def log_requests(sim):
    return [r for r in sim.requests if r.path == "/api/log/self"]


def test_full_sync_is_exact_and_keys_are_stable(make_sim):
    sim, url = make_sim(3000, days=20)
    first = run_tap(tap_config(url))
    assert_exact(sim, first)
    assert first.log_count == 3000
    # The data holds identical logs in one second: they must still get distinct keys.
    usage = first.records["usage_logs"]
    assert len({r["log_key"].rsplit("-", 1)[0] for r in usage}) < len(usage)
    second = run_tap(tap_config(url))
    assert keys_of(second) == keys_of(first)
    # Every request carries explicit, non-zero bounds; those of logs to read are positive
    # (one counting request reaches below 0, for logs no window can select).
    for request in log_requests(sim):
        start, end = int(request.params["start_timestamp"]), int(request.params["end_timestamp"])
        assert start != 0
        assert end > 0
        if request.params["page_size"] != "1":
            assert start > 0


def test_records_are_sorted_typed_and_bookmarked(make_sim):
    _, url = make_sim(500, days=3)
    result = run_tap(tap_config(url))
    for stream in LOG_STREAMS:
        stamps = [r["created_at"] for r in result.records[stream]]
        assert stamps == sorted(stamps)
        assert all(s.endswith("+00:00") and len(s) == 25 for s in stamps)
        assert result.bookmark(stream) == stamps[-1]
    record = result.records["usage_logs"][0]
    assert isinstance(record["other"], dict | type(None))
    assert isinstance(record["quota"], int)


def test_incremental_run_resends_only_the_bookmark_second(make_sim):
    sim, url = make_sim(2000, days=10)
    first = run_tap(tap_config(url))
    newest = max(log["created_at"] for log in sim.logs())
    sim.add_logs(generate_logs(300, start=newest + 10, end=newest + DAY, seed=7))
    second = run_tap(tap_config(url), state=first.state)
    for stream in LOG_STREAMS:
        old_bookmark = first.bookmark(stream)
        resent = [r for r in second.records.get(stream, []) if r["created_at"] <= old_bookmark]
        assert all(r["created_at"] == old_bookmark for r in resent)
        assert len(resent) <= 3
    assert_exact(sim, merge(first, second))


def test_idle_rerun_costs_a_handful_of_requests(make_sim):
    sim, url = make_sim(2000, days=10)
    first = run_tap(tap_config(url))
    sim.reset_requests()
    again = run_tap(tap_config(url), state=first.state)
    # The run's start (the unit's probe, which is also the first page paging is learned
    # from, the next page, and all logs counted), then one page per log stream.
    assert len(log_requests(sim)) <= 3 + len(LOG_STREAMS)
    # daily_stats and daily_model_stats share their bookmark day's requests; the self-check
    # asks for the part of the bookmark's day usage_logs read, and for the days since; each
    # snapshot one; hourly_usage a month at a time from its bookmark (this history is old).
    hourly = [r for r in sim.requests if r.path == "/api/data/self"]
    span = time.time() - int(hourly[0].params["start_timestamp"])
    assert len(hourly) == -(-int(span) // 2_592_000)
    assert len(sim.requests) - len(log_requests(sim)) - len(hourly) <= 12
    assert again.log_count <= 12


def test_start_and_end_date_bound_the_sync(make_sim):
    sim, url = make_sim(2000, days=10)
    lo, hi = T0 + 2 * DAY, T0 + 5 * DAY
    config = tap_config(
        url,
        start_date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(lo)),
        end_date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(hi)),
    )
    result = run_tap(config)
    assert_exact(sim, result, lo, hi)


def test_logs_arriving_during_the_run_wait_for_the_next(make_sim):
    now = int(time.time())
    sim, url = make_sim(1500, days=5, start=now - 6 * DAY)
    sim.before_request = lambda s, path, params: s.add_live_logs(3)
    first = run_tap(tap_config(url, min_age_seconds=60))
    settled = [log for log in sim.logs() if log["created_at"] <= now - 60]
    assert first.log_count == len(settled)
    assert_exact(sim, first, hi=now - 60)
    sim.before_request = None
    time.sleep(1.1)
    second = run_tap(tap_config(url, min_age_seconds=0), state=first.state)
    assert_exact(sim, merge(first, second))


def test_live_inserts_inside_the_open_second_are_never_doubled(make_sim):
    # min_age_seconds=0 lets the last window touch "now", where logs keep arriving.
    now = int(time.time())
    sim, url = make_sim(800, days=1, start=now - DAY)
    sim.before_request = lambda s, path, params: s.add_live_logs(1)
    first = run_tap(tap_config(url, min_age_seconds=0))
    sim.before_request = None
    time.sleep(1.1)
    second = run_tap(tap_config(url, min_age_seconds=0), state=first.state)
    assert_exact(sim, merge(first, second))


def test_capped_total_over_30000_logs(make_sim):
    sim, url = make_sim(30_000, days=60, total_cap=10_000)
    result = run_tap(tap_config(url))
    assert_exact(sim, result)
    pages = sum(-(-len(v) // 100) for v in result.records.values())
    # data pages, plus windows and their splits: far from one request per day
    assert len(sim.requests) < pages * 1.25 + 60


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_auto_detects_the_unit(make_sim, unit, caplog):
    sim, url = make_sim(1000, days=5, unit=unit)
    with caplog.at_level("INFO"):
        result = run_tap(tap_config(url))
    assert_exact(sim, result)
    assert f"reads start_timestamp/end_timestamp in {unit}" in caplog.text
    # The unit's probes ask for the first page of all logs (paging is learned from it).
    probes = [
        r
        for r in log_requests(sim)
        if r.params["p"] == "0" and r.params["type"] == "0" and r.params["page_size"] != "1"
    ]
    assert len(probes) == (1 if unit == "s" else 2)


def test_unit_detection_on_a_brand_new_account(make_sim):
    # Every log is newer than the upper bound: the seconds probe finds nothing, the
    # milliseconds probe finds logs newer than the bound, so the server reads seconds.
    now = int(time.time())
    sim, url = make_sim(50, days=0, start=now - 5)
    result = run_tap(tap_config(url, min_age_seconds=60))
    assert result.log_count == 0
    # Only the milliseconds probe asked in milliseconds (1 s = 1000 ms).
    in_ms = [r for r in log_requests(sim) if r.params.get("start_timestamp") == "1000"]
    assert [r.params["p"] for r in in_ms] == ["0"]


@pytest.mark.parametrize(("configured", "served"), [("s", "ms"), ("ms", "s")])
def test_a_wrong_explicit_unit_fails_loudly(make_sim, configured, served):
    _, url = make_sim(200, days=2, unit=served)
    with pytest.raises(GatewayError, match="timestamp_unit"):
        run_tap(tap_config(url, timestamp_unit=configured))


@pytest.mark.parametrize("id_mode", ["db", "mod1024", "position", "zero"])
def test_every_id_mode_gives_the_same_logs_and_keys(make_sim, id_mode):
    sim, url = make_sim(2500, days=8, id_mode=id_mode)
    result = run_tap(tap_config(url))
    assert_exact(sim, result)
    _, reference_url = make_sim(2500, days=8, id_mode="db")
    assert keys_of(run_tap(tap_config(reference_url))) == keys_of(result)


@pytest.mark.parametrize("other_mode", ["string", "object"])
def test_other_arrives_as_an_object(make_sim, other_mode):
    sim, url = make_sim(400, days=2, other_mode=other_mode)
    result = run_tap(tap_config(url))
    assert_exact(sim, result)
    others = [r["other"] for r in result.records["usage_logs"]]
    assert any(isinstance(o, dict) and o for o in others)


def test_server_variations_missing_fields_and_small_page_cap(make_sim):
    sim, url = make_sim(
        1200, days=4, omit_fields={"request_id", "use_time", "ip"}, page_size_cap=30
    )
    result = run_tap(tap_config(url))
    assert_exact(sim, result)


def test_new_api_user_header(make_sim):
    sim, url = make_sim(300, days=2, user_id=42)
    result = run_tap(tap_config(url, user_id=42))
    assert_exact(sim, result)
    assert all(r.headers.get("New-Api-User") == "42" for r in sim.requests)


def test_small_windows_and_crowded_seconds(make_sim, monkeypatch):
    # 150 logs in one second cannot be split: that window is read to its end anyway.
    monkeypatch.setattr(LogStream, "window_threshold", 40)
    sim, url = make_sim(1500, days=3)
    newest = max(log["created_at"] for log in sim.logs())
    sim.add_logs(
        generate_logs(150, start=newest + 5, end=newest + 5, seed=3, duplicate_fraction=0.3)
    )
    result = run_tap(tap_config(url, page_size=17))
    assert_exact(sim, result)
    crowded = Counter(r["created_at"] for r in result.records["usage_logs"]).most_common(1)
    assert crowded[0][1] > 40


@pytest.mark.parametrize("workers", [1, 8])
def test_concurrency_changes_nothing_but_speed(make_sim, workers):
    sim, url = make_sim(12_000, days=30, total_cap=10_000, id_mode="mod1024", latency=0.002)
    result = run_tap(tap_config(url, max_concurrency=workers))
    assert_exact(sim, result)
    _, reference_url = make_sim(12_000, days=30)
    reference = run_tap(tap_config(reference_url, max_concurrency=1))
    assert keys_of(result) == keys_of(reference)
    for stream in LOG_STREAMS:
        stamps = [r["created_at"] for r in result.records[stream]]
        assert stamps == sorted(stamps)
    assert result.state == reference.state


def test_a_log_backfilled_before_the_oldest_is_read(make_sim, monkeypatch):
    # Windows are planned from the oldest id's time, but a row written later (a backfill, a
    # broken clock) may be days older: the range before the plan is read too.
    monkeypatch.setattr(LogStream, "window_threshold", 200)
    sim, url = make_sim(3000, days=10)
    sim.add_stray_logs(generate_logs(3, start=T0 - 40 * DAY, end=T0 - 30 * DAY, seed=9))
    result = run_tap(tap_config(url))
    assert_exact(sim, result)
    assert len(result.records["usage_logs"]) == len(sim.logs(2))
