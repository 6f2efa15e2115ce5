"""A request from sending to its last byte: one deadline, and redirects that keep the token home."""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

import tap_1688token.api
from tap_1688token.api import ApiClient, RunOver, Slots
from tap_1688token.errors import GatewayError
from tap_1688token.settings import Settings
from tap_1688token.tap import SWITCH_INTERVAL, YOUNG_GC_THRESHOLD
from tests.conftest import InFlight, assert_exact, only_the_first_requests, run_tap, tap_config

TOKEN = "sim-token"


def test_a_trickling_body_times_out_as_a_whole(make_sim, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(tap_1688token.api, "pause", waits.append)
    # A page of 100 logs is ~60 KB: at 2,000 B/s one body takes half a minute, yet a
    # piece arrives every 0.05 s, so a timeout between two reads never fires.
    sim, url = make_sim(300, days=2, trickle_bytes_per_second=2000)
    started = time.monotonic()
    failed = run_tap(
        tap_config(url, request_timeout_seconds=1, max_retries=1, max_concurrency=1), fails=True
    )
    took = time.monotonic() - started
    assert isinstance(failed.error, GatewayError)
    assert "timed out after 1 s (request_timeout_seconds)" in str(failed.error)
    assert "gave up after 2 tries" in str(failed.error)
    assert took < 6, f"{took:.1f} s for two one-second tries"
    assert len(sim.requests) == 2


def test_a_slow_body_within_the_deadline_is_read(make_sim):
    sim, url = make_sim(300, days=2, trickle_bytes_per_second=400_000)
    result = run_tap(tap_config(url, request_timeout_seconds=30))
    assert_exact(sim, result)


def test_a_redirect_to_another_origin_is_refused_and_named(make_sim):
    elsewhere = "http://127.0.0.2:9/api/log/self?next=1"
    sim, url = make_sim(100, days=2, redirects={"/api/log/self": elsewhere})
    failed = run_tap(tap_config(url), fails=True)
    message = str(failed.error)
    assert isinstance(failed.error, GatewayError)
    assert f"base_url {url} redirects to another origin, http://127.0.0.2:9/api/log/self;" in (
        message
    )
    assert "the token is not sent there" in message
    assert "next=1" not in message
    assert "authentication" not in message
    assert TOKEN not in message
    assert only_the_first_requests(sim)


def test_a_redirect_on_the_same_origin_is_followed(make_sim):
    paths = ("/api/log/self", "/api/log/self/stat", "/api/log/stat")
    sim, url = make_sim(1000, days=4, redirects={f"/old{p}": p for p in paths})
    result = run_tap(tap_config(url + "/old"))
    assert_exact(sim, result)
    # (the snapshot endpoints have not moved in this deployment: 404, their streams skipped)
    moved = [r for r in sim.requests if r.path in {f"/old{p}" for p in paths}]
    assert moved
    assert all(r.status == 302 for r in moved)
    # the token went along on the same origin
    assert all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in sim.requests)


def _asked(sim):
    return Counter(
        (r.path, tuple(sorted(r.params.items()))) for r in sim.requests if r.status == 200
    )


def test_every_streams_first_requests_leave_together_and_none_is_asked_twice(make_sim):
    sim, url = make_sim(3000, days=20, latency=0.01)
    sim.before_request = watch = InFlight()
    result = run_tap(tap_config(url, max_concurrency=4))
    assert_exact(sim, result)
    # Each request once: what the openings asked ahead, the streams did not ask again.
    twice = {key: n for key, n in _asked(sim).items() if n > 1}
    assert not twice, twice
    # The snapshots' and the hourly usage's first requests left before the log streams ended.
    done = time.monotonic()
    first_seen = watch.first_seen
    assert max(first_seen[p] for p in ("/api/user/self", "/api/token/", "/api/data/self")) < (
        first_seen["/api/log/self"] + (done - first_seen["/api/log/self"]) / 2
    )
    assert watch.most <= 4  # max_concurrency bounds the run, not each pool


def _slow_usage_page_2(make_sim, seconds: float):
    """A simulator (and its URL) answering page 2 of usage_logs `seconds` late."""
    sim, url = make_sim(2500, days=4)

    def hold(_sim, _path, params):
        if params.get("type") == "2" and params.get("p") == "2":
            time.sleep(seconds)

    sim.before_request = hold
    return sim, url


def _usage_page_2(sim):
    return next(r for r in sim.requests if r.params.get("type") == "2" and r.params["p"] == "2")


def test_a_later_streams_window_is_read_while_an_earlier_stream_waits(make_sim):
    # usage_logs waits a second for its page 2. error_logs, next in turn, is one window
    # of two pages: both are asked meanwhile, not once usage_logs is written.
    sim, url = _slow_usage_page_2(make_sim, 1.0)
    result = run_tap(tap_config(url))
    assert_exact(sim, result)
    assert not {key: n for key, n in _asked(sim).items() if n > 1}
    errors = [r for r in sim.requests if r.params.get("type") == "5"]
    assert sorted(r.params["p"] for r in errors) == ["1", "2"]
    assert max(r.at for r in errors) < _usage_page_2(sim).at + 0.5


def test_the_usage_checks_sum_is_asked_while_usage_logs_is_read(make_sim):
    # Its answer is waiting when usage_logs ends: not one more round trip after it.
    sim, url = _slow_usage_page_2(make_sim, 0.5)
    result = run_tap(tap_config(url), streams={"usage_logs"})
    assert len(result.records["usage_logs"]) == len(sim.logs(2))
    (check,) = [r for r in sim.requests if r.path.endswith("/stat")]
    assert check.at < _usage_page_2(sim).at + 0.25


def test_strictly_sequential_runs_make_the_same_requests(make_sim):
    sim, url = make_sim(3000, days=20)
    config = tap_config(url, end_date="2025-07-30T00:00:00Z")  # one bound for both runs
    run_tap(config | {"max_concurrency": 4})
    together = _asked(sim)
    sim.reset_requests()
    run_tap(config | {"max_concurrency": 1})
    assert _asked(sim) == together


def test_a_run_shortens_the_switch_interval_and_gives_it_back(make_sim):
    # Requests on other threads get the interpreter back within 1 ms of their socket
    # call while the main thread builds records; a process embedding the tap keeps its own.
    sim, url = make_sim(300, days=2)
    during = []
    sim.before_request = lambda _sim, _path, _params: during.append(sys.getswitchinterval())
    before = sys.getswitchinterval()
    run_tap(tap_config(url))
    assert set(during) == {SWITCH_INTERVAL} != {before}
    assert sys.getswitchinterval() == before


def test_a_run_collects_its_young_objects_rarely_and_gives_the_threshold_back(make_sim):
    # Records hold no cycles: collecting the youngest generation every 700 new objects
    # only walked the records of the window being written, some 350 times a 60,000-log run.
    sim, url = make_sim(6000, days=2)
    during: list[int] = []
    sim.before_request = lambda _sim, _path, _params: during.append(gc.get_threshold()[0])
    young: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 0 and during:  # once the run asks
            young.append(1)

    before = gc.get_threshold()
    gc.callbacks.append(count)
    try:
        result = run_tap(tap_config(url))
    finally:
        gc.callbacks.remove(count)
    assert_exact(sim, result)
    assert set(during) == {YOUNG_GC_THRESHOLD}
    assert gc.get_threshold() == before
    # 53-55 at Python's threshold here, 17 at the run's (the simulator allocates in this
    # process too).
    assert len(young) <= 30, f"{len(young)} collections of the youngest generation"


def test_the_first_answers_a_run_learns_from_are_asked_together(make_sim):
    # The unit probe (p=0 of all logs) and p=1 of the same query, which paging is learned
    # from, leave together: one round trip before the streams' first requests, not two.
    sim, url = make_sim(500, days=3, latency=0.4)
    run_tap(tap_config(url), streams={"usage_logs"})
    query = {"type": "0", "page_size": "100", "start_timestamp": "1"}
    probes = [r for r in sim.requests if query.items() <= r.params.items()]
    first, second = sorted(probes, key=lambda r: r.params["p"])
    assert (first.params["p"], second.params["p"]) == ("0", "1")
    assert abs(second.at - first.at) < 0.2  # asked one after the other: 0.4 s apart
    # The count of logs no window reaches is asked beside the streams, not before them.
    count = next(r for r in sim.requests if r.params.get("page_size") == "1")
    usage = min(r.at for r in sim.requests if r.params.get("type") == "2")
    assert count.at >= usage - 0.2


def test_a_request_on_its_way_when_the_run_ends_stops_at_its_next_try(make_sim):
    # A request retrying on another thread (sent ahead) when the run ends, however it
    # ends: it does not ask the server again once the client is closed.
    sim, url = make_sim(10, days=1, fault_rate=1.0, faults=("success_false",))
    settings = Settings.from_config({"api_key": TOKEN, "base_url": url})
    client = ApiClient(settings, sleep=lambda _seconds: client.close())  # ends mid-wait
    with pytest.raises(RunOver):
        client.get_data("/api/log/self", {"p": 1})
    assert len(sim.requests) == 1
    with pytest.raises(RunOver):
        client.get_data("/api/log/self", {"p": 2})
    assert len(sim.requests) == 1


def test_the_day_search_goes_on_while_usage_logs_is_read(make_sim):
    # The search is a chain of sums, each level waiting for the last. Its steps share the
    # slots with usage_logs' pages rather than wait for all of them: its last level is
    # asked while usage_logs is read, not in rounds of their own after it.
    days = 8  # to now: some four levels of sums
    sim, url = make_sim(12000, days=days, start=int(time.time()) - days * 86_400, latency=0.05)
    result = run_tap(tap_config(url))
    assert_exact(sim, result)
    assert len(result.records["daily_stats"]) in (days, days + 1)
    usage = [r.at for r in sim.requests if r.params.get("type") == "2"]
    sums = [r.at for r in sim.requests if r.path.endswith("/stat")]
    assert len(sums) >= 8  # the days, found a level at a time
    assert max(sums) < max(usage), f"{max(sums) - max(usage):.2f} s after usage_logs' pages"


def test_a_search_step_goes_before_a_stream_thread_asking_again():
    # Four slots, all held by the stream being written. As one is freed its thread asks
    # again at once, before any waiting thread wakes: a waiting step (within its quarter
    # of the slots) still goes first, and a page sent ahead goes last.
    slots = Slots(4)
    order: list[str] = []
    freed = [threading.Event() for _ in range(4)]
    holding = threading.Barrier(5)

    def hold(release: threading.Event, *, again: bool) -> None:
        with slots.held(ahead=False):
            holding.wait()
            release.wait()
        if again:
            with slots.held(ahead=False):
                order.append("stream")

    def ask(name: str, *, ahead: bool, step: bool) -> None:
        with slots.held(ahead=ahead, step=step):
            order.append(name)

    holders = [threading.Thread(target=hold, args=(e,), kwargs={"again": i == 0})
               for i, e in enumerate(freed)]  # fmt: skip
    for thread in holders:
        thread.start()
    holding.wait()
    waiters = [
        threading.Thread(target=ask, args=("ahead",), kwargs={"ahead": True, "step": False}),
        threading.Thread(target=ask, args=("step",), kwargs={"ahead": True, "step": True}),
    ]
    for thread in waiters:
        thread.start()
    _until(lambda: len(slots._steps) == len(slots._ahead) == 1)  # both waiting
    freed[0].set()
    holders[0].join()
    for event in freed[1:]:
        event.set()
    for thread in [*holders, *waiters]:
        thread.join(timeout=5)
    assert order == ["step", "stream", "ahead"]


def test_requests_of_one_kind_get_their_slots_in_the_order_they_asked():
    # A window's last page does not wait behind the next window's first ones.
    slots = Slots(1)
    order: list[int] = []
    release = threading.Event()

    def hold() -> None:
        with slots.held(ahead=False):
            release.wait()

    def ask(n: int) -> None:
        with slots.held(ahead=False):
            order.append(n)

    holder = threading.Thread(target=hold)
    holder.start()
    askers = []
    for n in range(6):
        askers.append(threading.Thread(target=ask, args=(n,)))
        askers[-1].start()
        _until(lambda n=n: len(slots._now) == n + 1)  # each waiting before the next asks
    release.set()
    for thread in [holder, *askers]:
        thread.join(timeout=5)
    assert order == list(range(6))


def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the threads never got to wait"
        time.sleep(0.005)


def test_steps_hold_a_quarter_of_the_slots_while_the_stream_being_written_waits():
    # Eight slots held by the stream; three more of its requests and three steps wait. As
    # slots free one by one, steps take two (a quarter), the stream the next three, and
    # the third step goes once none of the stream's waits.
    slots = Slots(8)
    freed = [threading.Event() for _ in range(8)]
    done = threading.Event()
    order: list[str] = []

    def hold(release: threading.Event) -> None:
        with slots.held(ahead=False):
            release.wait()

    def ask(name: str, *, ahead: bool) -> None:
        with slots.held(ahead=ahead, step=ahead):
            order.append(name)
            done.wait()

    holders = [threading.Thread(target=hold, args=(event,)) for event in freed]
    for thread in holders:
        thread.start()
    _until(lambda: slots._free == 0)
    waiters = [threading.Thread(target=ask, args=(name,), kwargs={"ahead": name == "step"})
               for name in ["stream", "step"] * 3]  # fmt: skip
    for thread in waiters:
        thread.start()
    _until(lambda: len(slots._now) == len(slots._steps) == 3)
    for granted, event in enumerate(freed[:6], start=1):
        event.set()
        _until(lambda granted=granted: len(order) == granted)
    done.set()
    for event in freed:
        event.set()
    for thread in [*holders, *waiters]:
        thread.join(timeout=5)
    assert order == ["step", "step", "stream", "stream", "stream", "step"]


def test_a_freed_slot_wakes_the_first_in_line_not_every_waiter():
    # Five requests sent ahead wait behind one slot. Each is woken once, on its turn: a
    # freed slot does not wake the others only for them to wait again.
    slots = Slots(1)
    woken: list[int] = []
    order: list[int] = []

    def ask(index: int) -> None:
        with slots.held(ahead=True):
            order.append(index)

    with slots.held(ahead=False):
        waiters = [threading.Thread(target=ask, args=(index,)) for index in range(5)]
        for index, thread in enumerate(waiters):
            thread.start()
            _until(lambda index=index: len(slots._ahead) == index + 1)
        for index, ticket in enumerate(slots._ahead):

            def notify(index: int = index, notify: Callable[[], None] = ticket.notify) -> None:
                woken.append(index)
                notify()

            ticket.notify = notify  # type: ignore[method-assign]
    for thread in waiters:
        thread.join(timeout=5)
    assert order == [0, 1, 2, 3, 4]
    assert woken == [0, 1, 2, 3, 4]
