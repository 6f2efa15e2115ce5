"""daily_stats: exact per-day totals in any time zone, cheap over empty years."""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import generate_logs
from tap_1688token.stats import DayRange, DaySearch
from tests.conftest import DAY, InFlight, run_tap, tap_config

# 2025-10-20 .. 2025-11-10 spans the end of US daylight saving time (2025-11-02).
START = int(pendulum.datetime(2025, 10, 20, tz="UTC").timestamp())
STAT_PATHS = ("/api/log/stat", "/api/log/self/stat")


def stats_config(url: str, tz: str = "UTC", **overrides):
    return tap_config(
        url,
        stats_timezone=tz,
        start_date="2025-10-20T00:00:00Z",
        end_date="2025-11-10T00:00:00Z",
        **overrides,
    )


def expected_days(sim, tz: str, lo: int, hi: int) -> dict[tuple[str, str], int]:
    """Quota per (local day, model) from the simulator's own usage logs; "" = the day."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for log in sim.logs(2):
        if lo <= log["created_at"] <= hi:
            day = pendulum.from_timestamp(log["created_at"], tz=tz).date().isoformat()
            totals[day, ""] += log["quota"]
            totals[day, log["model_name"]] += log["quota"]
    return totals


def delivered(result, models: bool = False) -> dict[tuple[str, str], int]:
    """Quota per (day, model) as delivered: "" from daily_stats, models from daily_model_stats."""
    got = {(r["date"], ""): r["quota"] for r in result.records.get("daily_stats", [])}
    if models:
        for r in result.records.get("daily_model_stats", []):
            got[r["date"], r["model_name"]] = r["quota"]
    return got


def stat_requests(sim):
    return [r for r in sim.requests if r.path in STAT_PATHS]


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai", "America/Los_Angeles"])
def test_per_day_quota_is_exact_in_every_time_zone(make_sim, tz):
    sim, url = make_sim(3000, days=21, start=START)
    result = run_tap(stats_config(url, tz))
    hi = int(pendulum.datetime(2025, 11, 10, tz="UTC").timestamp())
    expected = {k: v for k, v in expected_days(sim, tz, START, hi).items() if k[1] == ""}
    got = delivered(result)
    nonzero = {k: v for k, v in got.items() if v}
    assert nonzero == expected
    # one record per calendar day, zero days included, in order
    dates = [d for d, _ in got]
    first = pendulum.from_timestamp(START, tz=tz).date()
    last = pendulum.from_timestamp(hi, tz=tz).date()
    assert dates == [(first.add(days=i)).isoformat() for i in range((last - first).days + 1)]
    if tz == "America/Los_Angeles":
        dst_day = next(r for r in result.records["daily_stats"] if r["date"] == "2025-11-02")
        assert dst_day["created_at"] == "2025-11-02T07:00:00+00:00"
    records = result.records["daily_stats"]
    assert all(r["timezone"] == tz for r in records)
    assert all("rpm" not in r and "tpm" not in r for r in records)


def test_own_sums_come_from_the_self_endpoint_even_for_an_admin(make_sim):
    # An admin's /api/log/stat sums the whole site: not this account's logs.
    sim, url = make_sim(500, days=5, start=START, is_admin=True)
    result = run_tap(stats_config(url))
    assert {r.path for r in stat_requests(sim)} == {"/api/log/self/stat"}
    got = {key: quota for key, quota in delivered(result).items() if quota}
    assert got == {k: q for k, q in expected_days(sim, "UTC", START, 2**40).items() if not k[1]}


# At 50 ms a request the sums the run asks at once (the day search, the model sums, the
# check's) are all in flight before the refusal is back: each meets it unless one asks first.
@pytest.mark.parametrize("latency", [0.0, 0.05])
def test_a_server_without_the_self_endpoint_falls_back_to_the_documented_one(
    make_sim, caplog, latency
):
    sim, url = make_sim(
        500, days=5, start=START, missing_endpoints={"/api/log/self/stat"}, latency=latency
    )
    sim.config.is_admin = True  # where /api/log/stat is open (the vendor's page says so)
    with caplog.at_level("INFO"):
        run_tap(stats_config(url))
    paths = [r.path for r in stat_requests(sim)]
    assert paths[0] == "/api/log/self/stat"
    assert set(paths[1:]) == {"/api/log/stat"}
    assert "using /api/log/stat instead" in caplog.text


def test_explicit_endpoint_refused_names_the_setting(make_sim):
    _, url = make_sim(100, days=2, start=START)
    failed = run_tap(stats_config(url, stats_endpoint="/api/log/stat"), fails=True)
    assert "stats_endpoint" in str(failed.error)


@pytest.mark.parametrize("shape", ["list", "items"])
def test_list_answers_give_one_record_per_model_and_day(make_sim, shape):
    sim, url = make_sim(2000, days=10, start=START, stat_shape=shape)
    tz = "Asia/Shanghai"  # server rows are per UTC date: two rows per local day, summed
    result = run_tap(stats_config(url, tz))
    hi = int(pendulum.datetime(2025, 11, 10, tz="UTC").timestamp())
    got = {k: v for k, v in delivered(result, models=True).items() if v}
    assert got == dict(expected_days(sim, tz, START, hi))
    model_rows = result.records["daily_model_stats"]
    keys = [(r["date"], r["model_name"]) for r in model_rows]
    assert len(keys) == len(set(keys))
    assert all(r["model_name"] for r in model_rows), "no empty model name in a key"
    assert all(r["request_count"] for r in model_rows if r["quota"])
    # One grain per table: each table's quota summed per day is that day's total.
    per_day: dict[str, int] = defaultdict(int)
    for r in model_rows:
        per_day[r["date"]] += r["quota"]
    day_rows = result.records["daily_stats"]
    assert {r["date"]: r["quota"] for r in day_rows if r["quota"]} == dict(per_day)
    assert all("model_name" not in r for r in day_rows)


def test_incremental_rerun_starts_at_the_bookmark_day(make_sim):
    sim, url = make_sim(800, days=10, start=START)
    config = tap_config(url, start_date="2025-10-20T00:00:00Z")
    first = run_tap(config)
    bookmark = first.bookmark("daily_stats")
    newest = max(log["created_at"] for log in sim.logs())
    sim.add_logs(generate_logs(100, start=newest + 1, end=newest + 3 * DAY, seed=9))
    sim.reset_requests()
    second = run_tap(config, state=first.state)
    records = second.records["daily_stats"]
    assert records[0]["created_at"] == bookmark
    assert all(r["created_at"] >= bookmark for r in records)
    expected = expected_days(sim, "UTC", START, 2**40)
    got = {k: v for k, v in delivered(second).items() if v}
    assert got == {k: v for k, v in expected.items() if k[1] == "" and k[0] >= records[0]["date"]}


def test_long_empty_history_costs_few_requests(make_sim):
    # A three-year start_date on a one-month-old account.
    now = int(time.time())
    sim, url = make_sim(2000, days=30, start=now - 31 * DAY)
    config = tap_config(url, start_date=pendulum.from_timestamp(now - 3 * 365 * DAY).isoformat())
    result = run_tap(config)
    stat_calls = stat_requests(sim)
    assert len(stat_calls) < 100, len(stat_calls)
    assert len(result.records["daily_stats"]) >= 3 * 365
    total = sum(r["quota"] for r in result.records["daily_stats"])
    assert total == sum(log["quota"] for log in sim.logs(2) if log["created_at"] <= now)
    print(f"stat requests over 3 years: {len(stat_calls)}")


def test_all_history_starts_at_the_first_day_with_usage(make_sim):
    sim, url = make_sim(600, days=6, start=START)
    result = run_tap(tap_config(url))
    first_usage = min(log["created_at"] for log in sim.logs(2))
    records = result.records["daily_stats"]
    assert records[0]["date"] == pendulum.from_timestamp(first_usage).date().isoformat()
    assert sum(r["quota"] for r in records) == sum(log["quota"] for log in sim.logs(2))
    assert len(stat_requests(sim)) < 60


def test_unknown_time_zone_is_a_config_error(make_sim):
    _, url = make_sim(10, days=1)
    from tap_1688token.tap import Tap1688Token

    with pytest.raises(Exception, match="stats_timezone"):
        Tap1688Token(config=tap_config(url, stats_timezone="Mars/Olympus"), validate_config=True)


def test_ranges_of_one_level_are_asked_together(make_sim):
    # 30 days of usage in a 64-day span: the deeper levels of the search hold many ranges.
    now = int(time.time())
    sim, url = make_sim(2000, days=30, start=now - 31 * DAY)
    config = tap_config(
        url,
        start_date=pendulum.from_timestamp(now - 64 * DAY).isoformat(),
        end_date=pendulum.from_timestamp(now - 60).isoformat(),  # both runs, one range
    )
    sim.before_request = watch = InFlight(STAT_PATHS)
    together = run_tap(config)
    asked_together = sorted((r.params["start_timestamp"], r.params["end_timestamp"])
                            for r in stat_requests(sim))  # fmt: skip
    assert watch.most >= 4
    sim.reset_requests()
    sim.before_request = watch = InFlight(STAT_PATHS)
    one_by_one = run_tap(config | {"max_concurrency": 1})
    assert watch.most == 1
    asked_one_by_one = sorted((r.params["start_timestamp"], r.params["end_timestamp"])
                              for r in stat_requests(sim))  # fmt: skip
    assert asked_together == asked_one_by_one
    assert together.records["daily_stats"] == one_by_one.records["daily_stats"]


def test_exact_through_faults(make_sim, monkeypatch):
    # Concurrent range requests meet 5xx, dropped bodies, success:false and 429s.
    monkeypatch.setattr("tap_1688token.api.pause", lambda seconds: None)
    sim, url = make_sim(3000, days=21, start=START, fault_rate=0.3, seed=5)
    result = run_tap(stats_config(url, "Asia/Shanghai"))
    hi = int(pendulum.datetime(2025, 11, 10, tz="UTC").timestamp())
    expected = expected_days(sim, "Asia/Shanghai", START, hi)
    got = delivered(result)
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if not k[1]}
    # The seeded faults fall on requests in the order they arrive, which the threads decide:
    # how many land on stat requests varies from run to run (2 to 12 seen), never none.
    assert any(r.status != 200 for r in stat_requests(sim))
    assert sum(r.status != 200 for r in sim.requests) >= 10


@settings(max_examples=200, deadline=None)
@given(
    quotas=st.lists(st.integers(0, 3) | st.just(0), min_size=1, max_size=120),
    skip_leading_empty=st.booleans(),
    pooled=st.booleans(),
)
def test_day_search_finds_every_day(quotas, skip_leading_empty, pooled):
    first = datetime.date(2025, 1, 1)
    days = [first + datetime.timedelta(days=i) for i in range(len(quotas))]

    def ask(span: DayRange):
        return {"": {"quota": sum(quotas[span.first : span.last + 1])}}

    with ThreadPoolExecutor(4) as pool:
        mapper = pool.map if pooled else map
        found = list(DaySearch(days, ask, skip_leading_empty=skip_leading_empty, mapper=mapper))
    start = next((i for i, q in enumerate(quotas) if q), len(quotas)) if skip_leading_empty else 0
    assert [day for day, _ in found] == days[start:]
    assert [totals[""]["quota"] for _, totals in found] == quotas[start:]
