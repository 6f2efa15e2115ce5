"""Hostile servers: faults, a rate limiter, outages and refusals, against the simulator."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

import tap_1688token.api
from tap_1688token.api import RetryPolicy
from tap_1688token.errors import GatewayError
from tests.conftest import assert_exact, merge, run_tap, tap_config


@pytest.fixture
def waits(monkeypatch):
    """Record the retry policy's waits instead of sleeping them."""
    recorded: list[float] = []
    monkeypatch.setattr(tap_1688token.api, "pause", recorded.append)
    return recorded


def test_eight_percent_faults_on_a_capped_history(make_sim, waits):
    sim, url = make_sim(30_000, days=60, total_cap=10_000, fault_rate=0.08, seed=11)
    result = run_tap(tap_config(url))
    assert_exact(sim, result)
    statuses = Counter(r.status for r in sim.requests)
    # every kind of fault was met: 429, 502/503 HTML, 200 success:false, dropped (0)
    assert statuses[429] and statuses[502] and statuses[503] and statuses[0]
    faulted = sum(n for status, n in statuses.items() if status != 200)
    assert faulted >= 0.04 * len(sim.requests)
    # every failed attempt waited once before its retry (200 success:false ones too)
    assert len(waits) >= faulted


def test_backfill_through_the_rate_limiter(make_sim):
    # 30 requests per 3 s, bare 429s: the run slows down, finishes, and does not hammer.
    sim, url = make_sim(6_000, days=20, rate_limit=(30, 3.0))
    started = time.monotonic()
    result = run_tap(tap_config(url))
    elapsed = time.monotonic() - started
    assert_exact(sim, result)
    limited = sum(1 for r in sim.requests if r.status == 429)
    served = sum(1 for r in sim.requests if r.status == 200)
    assert served > 60, "the backfill needs more than two limiter windows"
    limiter_windows = elapsed / 3.0 + 1
    assert limited <= 6 * limiter_windows, f"{limited} 429s in {elapsed:.1f} s"
    # Once a probe is let through, the next requests go as the first ones age out of
    # the limiter's window, not all at once into it.
    ordered = sorted(sim.requests, key=lambda r: r.at)
    first_429 = next(i for i, r in enumerate(ordered) if r.status == 429)
    # The probe is the first request let through once the run stopped to wait: requests
    # already on their way as the limiter filled race its count (some get through, in
    # the same millisecond as the first 429s), and are no probe.
    paused = next(
        i for i in range(first_429 + 1, len(ordered)) if ordered[i].at - ordered[i - 1].at >= 0.5
    )
    probe = next(i for i in range(paused, len(ordered)) if ordered[i].status == 200)
    assert [r.status for r in ordered[probe : probe + 30]] == [200] * 30
    print(f"limiter: {served} served, {limited} 429s, {elapsed:.1f} s")


def test_pacing_stays_under_the_limiter(make_sim):
    sim, url = make_sim(1_500, days=5, rate_limit=(5, 1.0))
    result = run_tap(tap_config(url, max_requests_per_minute=270))
    assert_exact(sim, result)
    assert all(r.status == 200 for r in sim.requests)


def test_outage_past_the_retry_budget_then_resume(make_sim, waits):
    sim, url = make_sim(20_000, days=40)

    def outage_later(s, path, params):
        # While usage_logs' second window is read (its windows are some 45 pages each),
        # whatever else the run asks beside it: the first window has a checkpoint.
        if sum(r.params.get("type") == "2" for r in s.requests) > 80:
            s.config.outage = True

    sim.before_request = outage_later
    failed = run_tap(tap_config(url, max_retries=3), fails=True)
    assert isinstance(failed.error, GatewayError)
    assert "HTTP 503" in str(failed.error)
    assert "gave up after 4 tries" in str(failed.error)
    assert failed.states, "checkpoints were written before the outage"
    assert waits[-3:] and all(w > 0 for w in waits[-3:])

    sim.before_request = None
    sim.config.outage = False
    resumed = run_tap(tap_config(url), state=failed.state)
    assert_exact(sim, merge(failed, resumed))


def test_persistent_refusal_fails_with_the_server_message(make_sim, waits):
    sim, url = make_sim(100, days=1, fault_rate=1.0, faults=("success_false",))
    failed = run_tap(tap_config(url), fails=True)
    assert "数据库繁忙" in str(failed.error)
    # The unit probe tried 3 times and waited twice; p=1, sent with it on a thread of its
    # own, at most as often (it may still be on its way as the run fails).
    asked = Counter((r.path, tuple(sorted(r.params.items()))) for r in sim.requests)
    probe = [n for (_, params), n in asked.items() if ("p", "0") in params]
    assert probe == [3]
    assert max(asked.values()) == 3
    assert 2 <= len(waits) <= 2 * len(asked)


def test_rate_limited_past_the_budget_fails_clearly(make_sim, waits):
    _, url = make_sim(100, days=1, fault_rate=1.0, faults=("429",))
    failed = run_tap(tap_config(url, max_rate_limit_wait_seconds=20), fails=True)
    message = str(failed.error)
    assert "max_rate_limit_wait_seconds" in message
    # The budget is a request's own 429 waits (the unit probe's; p=1 has its own).
    waited = int(re.search(r"after waiting (\d+) s", message)[1])
    assert 5 <= waited <= 20, "kept trying for most of the budget, not past it"


def test_truncated_bodies_and_dropped_connections_are_retried(make_sim, waits):
    sim, url = make_sim(2_000, days=5, fault_rate=0.3, faults=("truncated", "drop"), seed=3)
    result = run_tap(tap_config(url))
    assert_exact(sim, result)
    assert len(waits) > 5


def test_a_netrc_entry_for_the_host_does_not_replace_the_token(make_sim, tmp_path, monkeypatch):
    sim, url = make_sim(200, days=2)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password other-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    result = run_tap(tap_config(url))
    assert result.log_count == 200
    assert {r.headers.get("Authorization") for r in sim.requests} == {"Bearer sim-token"}


def test_proxy_variables_apply(make_sim, monkeypatch, waits):
    sim, url = make_sim(200, days=2)
    # a proxy nobody listens on: requests to the gateway must try it, and fail
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    failed = run_tap(tap_config(url, max_retries=1), fails=True)
    assert "connection failed (ProxyError)" in str(failed.error)
    assert not sim.requests
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert run_tap(tap_config(url)).log_count == 200


def test_retries_start_small_and_still_outlast_a_short_outage():
    # As the README says: 0.1, 0.4, 1.6, 6.4 and 25.6 s, each half to all of it.
    policy = RetryPolicy(max_retries=5, max_rate_limit_wait_seconds=600)
    for attempt, ceiling in enumerate((0.1, 0.4, 1.6, 6.4, 25.6), 1):
        waits = [policy.backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), attempt
    assert policy.backoff(9) <= policy.backoff_cap


def test_a_run_needing_two_limiter_windows_takes_two(make_sim):
    # 20 requests per 2 s, bare 429s, a run of 21 to 40 requests: the first block teaches
    # the limiter, and the rest go as the first ones age out, in the second window.
    # (Threads that waited out the probe used to book twice; the spare bookings held
    # slots of the second window and pushed the run into a third.)
    sim, url = make_sim(3_800, days=10, rate_limit=(20, 2.0))
    result = run_tap(tap_config(url), streams={"usage_logs"})
    assert len(result.records["usage_logs"]) == len(sim.logs(2))
    served = sorted(r.at for r in sim.requests if r.status == 200)
    assert 20 < len(served) <= 40
    assert served[-1] - served[0] < 3.5, f"last request {served[-1] - served[0]:.1f} s in"
