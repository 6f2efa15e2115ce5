"""scope: site: every user's logs of a gateway exactly once, and its users and channels."""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from simulator import (
    ALL_TYPE_WEIGHTS,
    SimConfig,
    Simulator,
    admin_view,
    blank_log,
    site_logs,
    user_view,
)
from tap_1688token.logtypes import LOG_STREAMS, TYPE_BY_STREAM
from tests.conftest import (
    DAY,
    T0,
    canonical,
    delivered_multiset,
    merge,
    run_tap,
    run_without_secrets,
    tap_config,
)

USERS = tuple((uid, name) for uid, name in enumerate(("alice", "bob", "carol", "dave", "erin"), 1))


def _collisions(second: int) -> list[dict[str, Any]]:
    """Logs alike but for their user, in one second: users 6 and 7 both logged as "sam"
    (a user renamed, another taking the name) with identical calls; user 2 twice the same."""
    call = {
        "created_at": second,
        "type": 2,
        "token_name": "default",
        "model_name": "gpt-4o",
        "quota": 1234,
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "content": "模型倍率 1.25，分组倍率 1.00",  # noqa: RUF001 - New API's text
    }
    return [
        blank_log(**call, user_id=6, username="sam"),
        blank_log(**call, user_id=7, username="sam"),
        blank_log(**call, user_id=7, username="sam"),
        blank_log(**call, user_id=2, username="bob"),
        blank_log(**call, user_id=2, username="bob"),
        # a system log (no key, no model) alike for two users, as a registration bonus is
        blank_log(created_at=second, type=4, user_id=3, username="", content="新用户注册赠送 $1"),
        blank_log(created_at=second, type=4, user_id=4, username="", content="新用户注册赠送 $1"),
    ]


def _site(n: int = 3000, days: int = 8, users=USERS, **config: Any) -> Simulator:
    logs = site_logs(
        n, start=T0, end=T0 + days * DAY, seed=11, users=users, type_weights=ALL_TYPE_WEIGHTS
    )
    middle = T0 + days * DAY // 2
    logs = sorted([*logs, *_collisions(middle)], key=lambda log: log["created_at"])
    return Simulator(logs, SimConfig(**{"is_admin": True, **config}))


@pytest.fixture
def serve():
    started = []

    def factory(sim: Simulator) -> str:
        serving = sim.serve()
        started.append(serving)
        return serving.__enter__()

    yield factory
    for serving in started:
        serving.__exit__(None, None, None)


def site_config(url: str, **overrides: Any) -> dict[str, Any]:
    return tap_config(url, scope="site", **overrides)


def expected_site(sim: Simulator, stream: str, keep=lambda log: True) -> Counter:
    return Counter(
        canonical(admin_view(log, sim.config))
        for log in sim.logs(TYPE_BY_STREAM[stream])
        if keep(log)
    )


def assert_site_exact(sim: Simulator, result, keep=lambda log: True) -> None:
    for stream in LOG_STREAMS:
        records = result.records.get(stream, [])
        expected, got = expected_site(sim, stream, keep), delivered_multiset(records)
        assert not expected - got, f"{stream}: {sum((expected - got).values())} logs missing"
        assert not got - expected, f"{stream}: {sum((got - expected).values())} logs extra"
        keys = [record["log_key"] for record in records]
        assert len(keys) == len(set(keys)), f"{stream}: two logs share a log_key"


def test_every_users_logs_arrive_once_with_their_user_and_channel(serve):
    sim = _site()
    result = run_tap(site_config(serve(sim)))
    assert_site_exact(sim, result)
    usage = result.records["usage_logs"]
    assert {r["user_id"] for r in usage} == {1, 2, 3, 4, 5, 6, 7}
    generated = [r for r in usage if r["quota"] != 1234]  # the crafted calls have none
    assert all(r["channel"] and r["channel_name"] for r in generated)
    # the collisions: each of the five calls and both bonuses has a key of its own
    middle = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(T0 + 4 * DAY))
    alike = [r for r in usage if r["created_at"] == middle and r["quota"] == 1234]
    assert sorted((r["user_id"], r["username"]) for r in alike) == [
        (2, "bob"), (2, "bob"), (6, "sam"), (7, "sam"), (7, "sam")
    ]  # fmt: skip
    assert len({r["log_key"] for r in alike}) == 5
    bonuses = [r for r in result.records["system_logs"] if r["created_at"] == middle]
    assert len({r["log_key"] for r in bonuses}) == len(bonuses) == 2
    # every request for logs went to the admin's endpoint
    paths = Counter(r.path for r in sim.requests if r.path.startswith("/api/log"))
    assert set(paths) == {"/api/log/", "/api/log/stat"}


def test_incremental_and_resumed_runs_deliver_the_site_exactly_once(serve):
    sim = _site(4000)
    url = serve(sim)
    first = run_tap(site_config(url))
    # New logs of several users, with collisions, in seconds after the first run's bound.
    newest = max(log["created_at"] for log in sim.logs())
    fresh = site_logs(600, start=newest + 1, end=newest + 3600, seed=12, users=USERS)
    sim.add_logs(sorted([*fresh, *_collisions(newest + 1800)], key=lambda log: log["created_at"]))
    second = run_tap(site_config(url), state=first.state)
    assert_site_exact(sim, merge(first, second))
    assert sum(len(second.records.get(s, [])) for s in LOG_STREAMS) < 800
    # A run stopped after its second STATE resumes from it: still every log exactly once.
    stopped = first.until_state(2)
    assert stopped.state["bookmarks"]
    resumed = run_tap(site_config(url), state=stopped.state)
    assert_site_exact(sim, merge(stopped, resumed))
    # Keys are stable: the resumed run keys each log as the full run did.
    full = {r["log_key"] for s in LOG_STREAMS for r in merge(first, second).records.get(s, [])}
    again = {r["log_key"] for s in LOG_STREAMS for r in merge(stopped, resumed).records.get(s, [])}
    assert again == full


@pytest.mark.parametrize(
    ("setting", "value", "field"),
    [("username", "bob", "username"), ("group", "vip", "group"), ("channel", 3, "channel")],
)
def test_a_site_filter_reads_and_checks_only_its_logs(serve, caplog, setting, value, field):
    sim = _site(2000)
    with caplog.at_level("WARNING"):
        result = run_tap(site_config(serve(sim), **{setting: value}, verify="fail"))
    assert_site_exact(sim, result, keep=lambda log: log[field] == value)
    assert result.records["usage_logs"]
    stat = [r for r in sim.requests if r.path == "/api/log/stat"]
    assert stat and all(r.params[setting] == str(value) for r in stat)
    assert "differ" not in caplog.text


def test_daily_stats_and_hourly_usage_sum_the_whole_site(serve):
    sim = _site(3000, days=40)
    result = run_tap(site_config(serve(sim)))
    usage = sim.logs(2)
    per_day: Counter = Counter()
    per_hour: Counter = Counter()
    for log in usage:
        per_day[time.strftime("%Y-%m-%d", time.gmtime(log["created_at"]))] += log["quota"]
        hour = time.strftime("%Y-%m-%dT%H:00:00+00:00", time.gmtime(log["created_at"]))
        per_hour[hour, log["model_name"]] += log["quota"]
    days = {r["date"]: r["quota"] for r in result.records["daily_stats"] if r["quota"]}
    assert days == dict(per_day)
    hours = {(r["created_at"], r["model_name"]): r["quota"] for r in result.records["hourly_usage"]}
    assert hours == dict(per_hour)
    assert {r.path for r in sim.requests if r.path.startswith("/api/data")} == {"/api/data/"}


def test_users_and_channels_match_the_gateway_and_carry_no_secret(serve, tmp_path):
    sim = _site(2000)
    url = serve(sim)
    records = run_without_secrets(sim, site_config(url), tmp_path).records
    usage = sim.logs(2)
    users = {r["id"]: r for r in records["users"]}
    assert set(users) == {log["user_id"] for log in sim.logs()}
    for uid, user in users.items():
        own = [log for log in usage if log["user_id"] == uid]
        assert (user["used_quota"], user["request_count"]) == (
            sum(log["quota"] for log in own),
            len(own),
        )
    channels = {r["id"]: r for r in records["channels"]}
    assert set(channels) == {log["channel"] for log in sim.logs() if log["channel"]}
    for cid, channel in channels.items():
        spent = sum(log["quota"] for log in usage if log["channel"] == cid)
        assert channel["used_quota"] == spent
        assert channel["balance"] == round(500.0 - spent / 500_000, 2)
    # the admin's own account and keys, as in scope self
    (account,) = records["account"]
    assert account["id"] == 1


def test_one_api_sites_page_users_and_channels_ten_at_a_time(serve):
    many = tuple((uid, f"user{uid:02d}") for uid in range(1, 24))
    sim = _site(2300, users=many, family="oneapi")
    result = run_tap(site_config(serve(sim)))
    assert {r["id"] for r in result.records["users"]} == {log["user_id"] for log in sim.logs()}
    assert_site_exact(sim, result)
    pages = [int(r.params["p"]) for r in sim.requests if r.path == "/api/user/"]
    assert pages == [0, 1, 2, 3]  # 23 users, 10 a page, then the empty page


def test_a_token_that_is_not_an_admins_is_one_line_naming_scope(serve):
    sim = _site(300, is_admin=False)
    failed = run_tap(site_config(serve(sim)), fails=True)
    message = str(failed.error)
    assert message.startswith("scope: site reads every user's logs from /api/log/")
    assert "无权进行此操作" in message and "\n" not in message
    assert not failed.records


def test_scope_self_on_a_site_reads_only_the_tokens_own_logs(serve, caplog):
    sim = _site(2000)
    with caplog.at_level("INFO"):
        result = run_tap(tap_config(serve(sim)))
    for stream in LOG_STREAMS:
        records = result.records.get(stream, [])
        expected = Counter(
            canonical(user_view(log, sim.config))  # a user's own view: no admin_info
            for log in sim.logs(TYPE_BY_STREAM[stream])
            if log["user_id"] == 1
        )
        assert delivered_multiset(records) == expected, stream
    assert "users" not in result.records and "channels" not in result.records
    assert "users: only with scope: site; skipped." in caplog.messages
    assert {r.path for r in sim.requests if r.path.endswith("/stat")} == {"/api/log/self/stat"}


@pytest.mark.parametrize(
    ("overrides", "first_words"),
    [
        ({"username": "bob"}, "username: filters a site's logs; it needs scope: site"),
        (
            {"scope": "site", "stats_endpoint": "/api/log/self/stat"},
            "stats_endpoint: /api/log/self/stat sums the token's own logs",
        ),
    ],
)
def test_settings_that_cannot_work_together_are_refused(overrides, first_words):
    with pytest.raises(ConfigValidationError, match="^" + re.escape(first_words)):
        run_tap(tap_config("http://127.0.0.1:9", **overrides))


def test_a_sites_sums_do_not_wait_for_its_first_one(serve):
    # A site's sums have nowhere to fall back to, so the first answer teaches nothing: a
    # first sum over a large gateway's whole history may take its database seconds, and
    # the others leave meanwhile.
    sim = _site(1000, latency=0.05)

    def slow_first_sum(s, path, params):
        if path == "/api/log/stat" and sum(r.path == path for r in s.requests) == 1:
            time.sleep(1.0)

    sim.before_request = slow_first_sum
    run_tap(site_config(serve(sim)))
    sums = sorted(r.at for r in sim.requests if r.path == "/api/log/stat")
    assert len(sums) >= 2
    assert sums[1] < sums[0] + 1.0
