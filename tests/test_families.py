"""Every log, on every gateway of the family: paging learned, glitches asked again,
clocks that disagree, logs no window can reach, and the run's own check against the
server's totals. Each case compares the exact multiset of delivered logs, every type.
"""

from __future__ import annotations

import math
import time

import pytest

from simulator import json_response, stray_logs
from tap_1688token.errors import GatewayError
from tap_1688token.logtypes import LOG_STREAMS
from tests.conftest import DAY, T0, assert_exact, merge, run_tap, tap_config


def every_type_delivered(sim, result) -> None:
    """Not only exact: each log type the simulator holds arrived (types 3 and 4 too)."""
    assert_exact(sim, result)
    for stream in LOG_STREAMS:
        assert result.records.get(stream), f"{stream}: the test data holds none"


@pytest.mark.parametrize("family", ["newapi", "oneapi"])
def test_full_incremental_and_live_runs_are_exact_in_both_families(make_sim, family):
    sim, url = make_sim(2601, days=12, family=family)
    first = run_tap(tap_config(url))
    every_type_delivered(sim, first)

    # Logs arrive between runs, and during the next one.
    now = int(time.time())
    sim.add_live_logs(40, created_at=now - 5)
    sim.before_request = lambda s, path, params: s.add_live_logs(1)
    second = run_tap(tap_config(url), state=first.state)
    sim.before_request = None
    # A server without totals is read 2 s behind the present (its moving pages cannot be
    # seen): wait that out, so the last run can take every log.
    time.sleep(3.1)
    third = run_tap(tap_config(url), state=second.state)
    assert_exact(sim, merge(first, second, third))
    assert third.log_count < len(sim.logs()) // 10, "a run reads on from its bookmark"


@pytest.mark.parametrize("family", ["newapi", "oneapi"])
def test_a_run_resumed_from_any_checkpoint_is_exact(make_sim, family):
    sim, url = make_sim(6000, days=20, family=family)
    whole = run_tap(tap_config(url))
    assert len(whole.states) > 3
    # As if the run had stopped right after its second STATE.
    stopped = whole.until_state(2)
    assert stopped.log_count < whole.log_count
    resumed = run_tap(tap_config(url), state=stopped.state)
    assert_exact(sim, merge(stopped, resumed))


def test_oneapi_paging_is_learned_and_logged(make_sim, caplog):
    sim, url = make_sim(700, days=5, family="oneapi")
    with caplog.at_level("INFO"):
        result = run_tap(tap_config(url))
    every_type_delivered(sim, result)
    assert "p counts from 0, 10 logs a full page (asked 100), answers without a total" in (
        caplog.text
    )
    pages = {r.params["p"] for r in sim.requests if r.path == "/api/log/self"}
    assert "0" in pages


def test_newapi_paging_is_learned_and_logged(make_sim, caplog):
    _, url = make_sim(700, days=5)
    with caplog.at_level("INFO"):
        run_tap(tap_config(url))
    assert "p counts from 1, 100 logs a full page (asked 100), answers with a total" in (
        caplog.text
    )


def test_a_page_size_cap_below_the_asked_size_loses_nothing(make_sim):
    sim, url = make_sim(30_000, days=60, page_size_cap=20)
    result = run_tap(tap_config(url))
    assert_exact(sim, result)


def test_a_server_that_ignores_type_is_detected_and_nothing_is_mixed(make_sim, caplog):
    sim, url = make_sim(3000, days=10, type_filter=False)
    with caplog.at_level("WARNING"):
        result = run_tap(tap_config(url))
    every_type_delivered(sim, result)
    assert "ignores the `type` filter" in caplog.text
    for stream in LOG_STREAMS:
        assert len({r["type"] for r in result.records[stream]}) == 1, stream


@pytest.mark.parametrize("family", ["newapi", "oneapi"])
def test_empty_and_null_pages_are_asked_again(make_sim, monkeypatch, family):
    monkeypatch.setattr("tap_1688token.api.pause", lambda seconds: None)
    sim, url = make_sim(20_000, days=40, glitch_rate=0.03, family=family, seed=3)
    if family == "oneapi":
        # Without a total an empty page cannot be told from the end: only `data: null` is
        # a glitch the tap can see. The server of this test glitches that way only.
        sim.config.glitches = ("null_data",)
    result = run_tap(tap_config(url))
    assert_exact(sim, result)
    glitched = [r for r in sim.requests if r.path == "/api/log/self"]
    assert len(glitched) > 100


def test_a_page_that_stays_wrong_is_an_error_not_the_end(make_sim, monkeypatch):
    monkeypatch.setattr("tap_1688token.api.pause", lambda seconds: None)
    _, url = make_sim(3000, days=10, glitch_rate=1.0, glitches=("empty_items",))
    failed = run_tap(tap_config(url), fails=True)
    assert isinstance(failed.error, GatewayError)
    assert "cannot be paged exactly" in str(failed.error)
    assert "5 times" in str(failed.error)


def test_server_clock_five_minutes_behind_loses_nothing(make_sim, caplog):
    now = int(time.time())
    sim, url = make_sim(1500, days=1, start=now - DAY - 400, clock_offset=-300)
    config = tap_config(url, min_age_seconds=30)
    with caplog.at_level("WARNING"):
        first = run_tap(config)
    assert "The server's clock is 300 s behind this machine's" in caplog.text
    # Logs the server stamps by its own clock after the run, and during the next one.
    sim.add_live_logs(30)
    sim.before_request = lambda s, path, params: s.add_live_logs(1)
    second = run_tap(config, state=first.state)
    sim.before_request = None
    time.sleep(1.1)
    # A last run with nothing held back, once the server's clock has passed every log.
    last = run_tap(tap_config(url), state=second.state)
    assert_exact(sim, merge(first, second, last))


def test_logs_no_window_can_reach_are_counted_not_dropped_unseen(make_sim, caplog):
    sim, url = make_sim(500, days=3)
    sim.add_stray_logs(stray_logs(10))
    with caplog.at_level("WARNING"):
        result = run_tap(tap_config(url))
    reachable = [log for log in sim.logs() if 0 < log["created_at"] < 4_000_000_000]
    assert result.log_count == len(reachable)
    # stray_logs: created_at 0, -1 and -86400 (6 of 10), 2100 and 9999 (4 of 10)
    assert "6 logs have a created_at no time range can select" in caplog.text
    assert "4 logs are dated more than a day after this run's bound" in caplog.text


def _stat_with_a_missing_page(sim, extra: int):
    """/api/log/self/stat as the simulator answers it, plus `extra` quota on one day:
    the list endpoint lost logs the server's own totals still count."""
    first = (T0 + 3 * DAY) // DAY * DAY  # a UTC calendar day
    day = (first, first + DAY - 1)

    def stat(params: dict[str, str]):
        start, end = int(params["start_timestamp"]), int(params["end_timestamp"])
        quota = sum(log["quota"] for log in sim.logs(2) if start <= log["created_at"] <= end)
        if start <= day[0] and day[1] <= end:
            quota += extra
        return json_response(200, {"success": True, "message": "", "data": {"quota": quota}})

    return stat


@pytest.mark.parametrize("verify", ["warn", "fail"])
def test_a_difference_from_the_servers_totals_is_reported(make_sim, caplog, verify):
    sim, url = make_sim(2000, days=8)
    sim.add_route("/api/log/self/stat", _stat_with_a_missing_page(sim, 12_345))
    config = tap_config(url, verify=verify, stats_endpoint="/api/log/self/stat")
    with caplog.at_level("INFO"):
        result = run_tap(config, fails=verify == "fail")
    day = time.strftime("%Y-%m-%d", time.gmtime((T0 + 3 * DAY) // DAY * DAY))
    (line,) = [m for m in caplog.messages if "the server counts a usage quota" in m]
    assert f"usage_logs: on {day} (UTC)" in line
    assert "(difference +12345)" in line
    if verify == "fail":
        assert "verify: on 1 of" in str(result.error)
    else:
        assert "0 differing" not in caplog.text
        assert "days verified against the server's totals, 1 differing" in caplog.text


def test_the_self_check_of_an_exact_run_costs_one_request(make_sim, caplog):
    # Behind a limiter every request counts: the check asks for the whole span's sum, not
    # a day's at a time, and the run makes the data pages and four more (the unit probe,
    # the page base, the unreachable-log count, the check).
    sim, url = make_sim(2000, days=30)
    with caplog.at_level("INFO"):
        result = run_tap(tap_config(url, verify="fail"), streams={"usage_logs"})
    usage = result.records["usage_logs"]
    assert len({r["log_key"] for r in usage}) == len(usage) == len(sim.logs(2))
    stat = [r for r in sim.requests if r.path == "/api/log/self/stat"]
    assert len(stat) == 1
    pages = [r for r in sim.requests if r.path == "/api/log/self" and r.params["type"] == "2"]
    assert len(pages) == math.ceil(len(usage) / 100)
    assert len(sim.requests) == len(pages) + 4
    (summary,) = [m for m in caplog.messages if m.startswith("Run summary:")]
    assert int(summary.split("; ")[1].split(" days verified")[0]) >= 30
    assert summary.endswith("0 differing.")


def test_an_exact_run_says_so_in_its_summary(make_sim, caplog):
    sim, url = make_sim(2000, days=8)
    with caplog.at_level("INFO"):
        result = run_tap(tap_config(url))
    assert_exact(sim, result)
    (summary,) = [m for m in caplog.messages if m.startswith("Run summary:")]
    assert f"usage_logs {len(result.records['usage_logs']):,}" in summary
    assert "manage_logs" in summary
    assert "0 differing" in summary
    verified = int(summary.split("; ")[1].split(" days verified")[0])
    assert verified >= 8
