"""Fast checks of the simulator itself (not of the tap)."""

# ruff: noqa: RUF001 - New API's Chinese messages

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from itertools import pairwise

import pytest
import requests

from simulator import (
    ACCESS_TOKEN_SECRET,
    ALL_TYPE_WEIGHTS,
    PASSWORD_SECRET,
    SECRET_MARKER,
    SECRET_VALUES,
    STRAY_TIMES,
    SimConfig,
    Simulator,
    build_account,
    generate_logs,
    token_key,
    user_view,
)

END = 1_750_000_000
START = END - 3 * 86_400
AUTH = {"Authorization": "Bearer sim-token"}


@pytest.fixture(scope="module")
def logs() -> list[dict]:
    return generate_logs(1_500, start=START, end=END, seed=7)


@pytest.fixture
def sim(logs: list[dict]) -> Simulator:
    return Simulator(logs)


@pytest.fixture
def served(sim: Simulator) -> Iterator[tuple[Simulator, str, requests.Session]]:
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(AUTH)
        yield sim, url, session


def _key(item: dict) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _fetch_all(session: requests.Session, url: str, **params: object) -> tuple[list[dict], int]:
    items: list[dict] = []
    page = 1
    while True:
        body = session.get(f"{url}/api/log/self", params={**params, "p": page}).json()
        assert body["success"] is True, body
        items += body["data"]["items"]
        if len(body["data"]["items"]) < body["data"]["page_size"]:
            return items, body["data"]["total"]
        page += 1


def test_generator_is_deterministic_sorted_and_realistic(logs: list[dict]) -> None:
    assert logs == generate_logs(1_500, start=START, end=END, seed=7)
    assert logs != generate_logs(1_500, start=START, end=END, seed=8)
    assert [log["id"] for log in logs] == list(range(1, 1_501))
    stamps = [log["created_at"] for log in logs]
    assert stamps == sorted(stamps)
    assert stamps[0] >= START and stamps[-1] <= END
    assert max(Counter(stamps).values()) >= 3
    twins = sum({**a, "id": 0} == {**b, "id": 0} for a, b in pairwise(logs))
    assert twins >= round(1_500 * 0.02)
    assert {log["type"] for log in logs} == {1, 2, 5, 6}
    assert len({log["model_name"] for log in logs if log["type"] == 2}) >= 4


def test_paging_newest_first_and_complete(served) -> None:
    sim, url, session = served
    items, total = _fetch_all(session, url, page_size=100)
    assert total == len(items) == 1_500
    assert [item["id"] for item in items] == list(range(1_500, 0, -1))
    stored = sorted(_key(user_view(log)) for log in sim.logs())
    assert sorted(_key({k: v for k, v in i.items() if k != "id"}) for i in items) == stored

    data = session.get(f"{url}/api/log/self").json()["data"]
    assert (data["page"], data["page_size"], len(data["items"])) == (1, 10, 10)
    data = session.get(f"{url}/api/log/self", params={"p": 0, "page_size": 1000}).json()["data"]
    assert (data["page"], data["page_size"], len(data["items"])) == (1, 100, 100)
    data = session.get(f"{url}/api/log/self", params={"p": 99, "page_size": 100}).json()["data"]
    assert data["items"] == [] and data["total"] == 1_500


def test_filters_match_expected_multiset(served, logs: list[dict]) -> None:
    _, url, session = served
    start, end = logs[400]["created_at"], logs[1_100]["created_at"]
    params = {"type": 2, "model_name": "gpt-4o", "start_timestamp": start, "end_timestamp": end}
    items, total = _fetch_all(session, url, page_size=37, **params)
    expected = [
        user_view(log)
        for log in logs
        if log["type"] == 2 and log["model_name"] == "gpt-4o" and start <= log["created_at"] <= end
    ]
    assert total == len(expected) > 0
    assert Counter(_key({k: v for k, v in i.items() if k != "id"}) for i in items) == Counter(
        _key(e) for e in expected
    )
    token = logs[0]["token_name"] or "default"
    items, _ = _fetch_all(session, url, page_size=100, token_name=token, type=0)
    assert items and {item["token_name"] for item in items} == {token}


def test_millisecond_unit(logs: list[dict]) -> None:
    sim = Simulator(logs, SimConfig(unit="ms"))
    t = logs[700]["created_at"]
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(AUTH)
        for start, end, included in ((t * 1000, t * 1000, True), (t * 1000 + 1, 0, False)):
            params = {"start_timestamp": start, "end_timestamp": end, "page_size": 100}
            items, _ = _fetch_all(session, url, **params)
            assert (t in {item["created_at"] for item in items}) is included
        items, _ = _fetch_all(session, url, start_timestamp=t * 1000, end_timestamp=t * 1000 + 999)
        assert {item["created_at"] for item in items} == {t}  # always seconds in responses


@pytest.mark.parametrize(
    ("id_mode", "expected"),
    [
        ("db", [1_497, 1_496, 1_495]),
        ("mod1024", [473, 472, 471]),
        ("position", [4, 5, 6]),
        ("zero", [0, 0, 0]),
    ],
)
def test_id_modes(logs: list[dict], id_mode: str, expected: list[int]) -> None:
    sim = Simulator(logs, SimConfig(id_mode=id_mode))
    with sim.serve() as url:
        params = {"p": 2, "page_size": 3}
        items = requests.get(f"{url}/api/log/self", params=params, headers=AUTH).json()
    assert [item["id"] for item in items["data"]["items"]] == expected


def test_other_modes_and_omitted_fields() -> None:
    other = {"model_ratio": 2.5, "group_ratio": 1, "admin_info": {"use_channel": ["3"]}}
    sim = Simulator([{"created_at": END, "other": other}, {"created_at": END, "other": None}])
    with sim.serve() as url:
        get = lambda: requests.get(f"{url}/api/log/self", headers=AUTH).json()["data"]["items"]  # noqa: E731
        newest, oldest = get()
        assert oldest["other"] == '{"group_ratio":1,"model_ratio":2.5}'
        assert newest["other"] == "null"
        sim.config.other_mode = "object"
        sim.config.omit_fields = {"request_id", "use_time"}
        newest, oldest = get()
        assert oldest["other"] == {"model_ratio": 2.5, "group_ratio": 1}
        assert newest["other"] is None
        assert "request_id" not in oldest and "use_time" not in oldest
        assert {k: v for k, v in oldest.items() if k != "id"} == user_view(
            sim.logs()[0], sim.config
        )


def test_auth_errors(logs: list[dict]) -> None:
    sim = Simulator(logs, SimConfig(user_id=1))
    with sim.serve() as url:
        get = lambda path="/api/log/self", **headers: requests.get(url + path, headers=headers)  # noqa: E731
        cases = [
            (get(), 401, "无权进行此操作，未登录且未提供 access token"),
            (get(Authorization="Bearer nope"), 200, "无权进行此操作，access token 无效"),
            (get(**AUTH), 401, "无权进行此操作，未提供 New-Api-User"),
            (get(**AUTH, **{"New-Api-User": "x"}), 401, "无权进行此操作，New-Api-User 格式错误"),
            (
                get(**AUTH, **{"New-Api-User": "2"}),
                401,
                "无权进行此操作，New-Api-User 与登录用户不匹配",
            ),
            (
                get("/api/log/stat", **AUTH, **{"New-Api-User": "1"}),
                200,
                "无权进行此操作，权限不足",
            ),
        ]
        for response, status, message in cases:
            assert response.status_code == status
            assert response.json() == {"message": message, "success": False}
        ok = get(**{"authorization": "sim-token", "new-api-user": "1"})  # bare token works too
        assert ok.status_code == 200 and ok.json()["success"] is True
        assert [r.status for r in sim.requests] == [401, 200, 401, 401, 401, 200, 200]


def test_rate_limiter_window(sim: Simulator) -> None:
    clock = [1_000.0]
    sim.now = lambda: clock[0]
    sim.config.rate_limit = (3, 60)
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(AUTH)
        statuses = [session.get(f"{url}/api/log/self").status_code for _ in range(3)]
        limited = session.get(f"{url}/api/log/self/stat")
        assert statuses == [200, 200, 200]
        assert limited.status_code == 429 and limited.content == b""
        assert "Retry-After" not in limited.headers
        clock[0] += 59
        assert session.get(f"{url}/api/log/self").status_code == 429
        clock[0] += 1
        assert session.get(f"{url}/api/log/self").status_code == 200
    assert [r.status for r in sim.requests] == [200, 200, 200, 429, 429, 200]


def test_stat_shapes(sim: Simulator, logs: list[dict]) -> None:
    sim.now = lambda: END + 30
    start, end = logs[200]["created_at"], logs[900]["created_at"]
    in_range = [log for log in logs if log["type"] == 2 and start <= log["created_at"] <= end]
    recent = [log for log in logs if log["type"] == 2 and log["created_at"] >= END - 30]
    params = {"start_timestamp": start, "end_timestamp": end, "type": 5}
    with sim.serve() as url:
        data = requests.get(f"{url}/api/log/self/stat", params=params, headers=AUTH).json()["data"]
        assert data == {
            "quota": sum(log["quota"] for log in in_range),
            "rpm": len(recent),
            "tpm": sum(log["prompt_tokens"] + log["completion_tokens"] for log in recent),
        }
        sim.config.stat_shape, sim.config.is_admin = "items", True
        rows = requests.get(f"{url}/api/log/stat", params=params, headers=AUTH).json()["data"]
    rows = rows["items"]
    assert sum(row["count"] for row in rows) == len(in_range)
    assert sum(row["quota"] for row in rows) == data["quota"]
    assert rows == sorted(rows, key=lambda row: (row["date"], row["model_name"]))


def test_faults_and_outage(sim: Simulator) -> None:
    with sim.serve() as url:
        sim.config.outage = True
        response = requests.get(f"{url}/api/log/self", headers=AUTH)
        assert response.status_code == 503 and "<html>" in response.text
        sim.config.outage = False
        assert requests.get(f"{url}/api/log/self", headers=AUTH).json()["success"] is True

        sim.config.fault_rate = 1.0
        sim.config.faults = ("success_false",)
        body = requests.get(f"{url}/api/log/self", headers=AUTH).json()
        assert body == {"message": "数据库繁忙", "success": False}
        sim.config.faults = ("429_retry_after",)
        assert requests.get(f"{url}/api/log/self", headers=AUTH).headers["Retry-After"] == "1"
        sim.config.faults = ("drop",)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/api/log/self", headers=AUTH)
        sim.config.faults = ("truncated",)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(f"{url}/api/log/self", headers=AUTH)

        sim.config.fault_rate, sim.config.faults = 0.5, ("503_html",)
        statuses = [
            requests.get(f"{url}/api/log/self", headers=AUTH).status_code for _ in range(40)
        ]
        assert 5 < statuses.count(503) < 35 and statuses.count(200) == 40 - statuses.count(503)


def test_live_inserts_and_hook(sim: Simulator) -> None:
    sim.now = lambda: END + 100
    with pytest.raises(ValueError, match="time order"):
        sim.add_logs([{"created_at": START}])
    added = sim.add_live_logs(5)
    assert [log["id"] for log in added] == [1_501, 1_502, 1_503, 1_504, 1_505]
    assert {log["created_at"] for log in added} == {END + 100}

    def insert_once(s: Simulator, path: str, params: dict[str, str]) -> None:
        if params.get("p") == "2":
            s.add_live_logs(3)

    sim.before_request = insert_once
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(AUTH)
        first = session.get(f"{url}/api/log/self", params={"p": 1}).json()["data"]
        second = session.get(f"{url}/api/log/self", params={"p": 2}).json()["data"]
    assert first["total"] == 1_505 and second["total"] == 1_508
    # New rows push older ones down a page: page 2 now repeats page 1's tail.
    assert second["items"][0]["id"] == first["items"][-3]["id"]
    assert sim.requests[1].params == {"p": "2"}


def test_server_clock_offset_stamps_date_and_new_logs(sim: Simulator) -> None:
    with sim.serve() as url:  # the server always sends Date, from its clock
        stamp = parsedate_to_datetime(requests.get(f"{url}/api/log/self").headers["Date"])
        assert abs(stamp.timestamp() - time.time()) < 5
    sim.now = lambda: END + 10_000.4
    sim.config.clock_offset = -3_600.0  # an hour behind
    assert sim.clock() == END + 6_400.4
    with sim.serve() as url:
        for path in ("/api/log/self", "/api/nowhere", "/api/log/stat"):
            response = requests.get(url + path, headers=AUTH)
            assert parsedate_to_datetime(response.headers["Date"]).timestamp() == END + 6_400
        added = sim.add_live_logs(2) + sim.add_logs([{"type": 1}])
        assert {log["created_at"] for log in added} == {END + 6_400}
        items = requests.get(f"{url}/api/log/self", headers=AUTH).json()["data"]["items"]
        assert [item["created_at"] for item in items[:3]] == [END + 6_400] * 3
    # The demo account's history ends at its server's clock, not at real time.
    account = build_account(days=1, per_day=50, rate=0, clock_offset=-10 * 86_400)
    clock = account.clock()
    assert clock < time.time() - 9 * 86_400
    assert all(clock - 86_401 <= log["created_at"] <= clock for log in account.logs())


def test_oneapi_family_pages_from_zero_ten_at_a_time_as_a_bare_list(logs: list[dict]) -> None:
    sim = Simulator(logs, SimConfig(family="oneapi", user_id=1))
    newest_first = [{"id": 0, **user_view(log)} for log in reversed(logs)]
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(AUTH)  # no New-Api-User: one-api has no such header
        get = lambda **params: session.get(f"{url}/api/log/self", params=params).json()  # noqa: E731
        first = get(p=0, page_size=100)
        assert first["success"] is True and first["message"] == ""
        assert first["data"] == newest_first[:10]  # a bare array of ItemsPerPage (10)
        assert get()["data"] == get(p=-3)["data"] == first["data"]
        assert get(p=1)["data"] == newest_first[10:20]
        assert get(p=150)["data"] == []
        items, page = [], 0
        while chunk := get(p=page, type=2, model_name="gpt-4o")["data"]:
            items += chunk
            page += 1
        expected = [
            item for item in newest_first if (item["type"], item["model_name"]) == (2, "gpt-4o")
        ]
        assert items == expected and len(items) > 10

        start, end = logs[200]["created_at"], logs[900]["created_at"]
        billed = [log for log in logs if log["type"] == 2 and start <= log["created_at"] <= end]
        params = {"start_timestamp": start, "end_timestamp": end, "type": 5}  # `type` is ignored
        stat = session.get(f"{url}/api/log/self/stat", params=params).json()
        quota = sum(log["quota"] for log in billed)
        assert stat == {"data": {"quota": quota}, "message": "", "success": True}  # no rpm/tpm

        sim.config.omit_fields = {"id"}
        assert get(p=0)["data"] == [user_view(log) for log in reversed(logs[-10:])]


def test_a_type_blind_server_serves_every_type_whatever_type_asks(logs: list[dict]) -> None:
    sim = Simulator(logs, SimConfig(type_filter=False))
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(AUTH)
        items, total = _fetch_all(session, url, type=2, page_size=100)
        assert total == len(items) == 1_500
        assert Counter(item["type"] for item in items) == Counter(log["type"] for log in logs)
        sim.config.type_filter = True
        items, total = _fetch_all(session, url, type=2, page_size=100)
        assert {item["type"] for item in items} == {2} and total == len(items) < 1_500


def test_page_glitches_answer_success_with_nothing_then_recover(logs: list[dict]) -> None:
    def served_pattern(seed: int) -> list[str]:
        sim = Simulator(logs, SimConfig(glitch_rate=0.4, seed=seed))
        pattern = []
        with sim.serve() as url, requests.Session() as session:
            session.headers.update(AUTH)
            good = session.get(f"{url}/api/log/self/stat").json()  # other paths: never
            assert good["success"] is True and good["data"]["quota"] > 0
            for _ in range(40):  # the same request each time
                body = session.get(f"{url}/api/log/self", params={"p": 2}).json()
                assert body["success"] is True and body["message"] == ""
                data = body["data"]
                if data is None:
                    pattern.append("null_data")
                elif not data["items"]:
                    assert (data["page"], data["page_size"], data["total"]) == (2, 10, 1_500)
                    pattern.append("empty_items")
                else:
                    assert len(data["items"]) == 10 and data["total"] == 1_500
                    pattern.append("ok")
        return pattern

    pattern = served_pattern(seed=3)
    assert pattern == served_pattern(seed=3) != served_pattern(seed=4)  # seeded
    assert 8 < pattern.count("ok") < 36
    assert pattern.count("null_data") and pattern.count("empty_items")
    assert "ok" in pattern[pattern.index("null_data") :]  # asking again is answered

    sim = Simulator(logs, SimConfig(family="oneapi", glitch_rate=1.0, glitches=("empty_items",)))
    with sim.serve() as url:
        body = requests.get(f"{url}/api/log/self", headers=AUTH).json()
        assert body == {"data": [], "message": "", "success": True}
        sim.config.glitches = ("null_data",)
        body = requests.get(f"{url}/api/log/self", headers=AUTH).json()
        assert body == {"data": None, "message": "", "success": True}


def test_trickled_bodies_come_slowly_but_never_stall_a_read(sim: Simulator) -> None:
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(AUTH)
        params = {"page_size": 2}
        whole = session.get(f"{url}/api/log/self", params=params).content
        sim.config.trickle_bytes_per_second = 1_000.0
        began = time.monotonic()
        # A read timeout far shorter than the whole body takes: it must never fire.
        with session.get(
            f"{url}/api/log/self", params=params, stream=True, timeout=(2, 0.25)
        ) as response:
            headers_after = time.monotonic() - began
            first = response.raw.read(50)
            first_after = time.monotonic() - began
            body = first + response.raw.read()
        took = time.monotonic() - began
        assert int(response.headers["Content-Length"]) == len(body) == len(whole) > 600
        assert body == whole
        assert headers_after < 0.2 and first_after < 0.3  # headers at once, then piece by piece
        assert took >= 0.9 * (len(body) - 50) / 1_000
        began = time.monotonic()
        assert session.get(f"{url}/nowhere").status_code == 404  # only /api answers trickle
        assert time.monotonic() - began < 0.2


def test_redirects_same_origin_keep_the_query_other_origins_as_given(logs: list[dict]) -> None:
    elsewhere = Simulator(logs)
    with elsewhere.serve() as other_url:
        target = f"{other_url}/api/log/self?from=redirect"
        redirects = {"/log/self": "/api/log/self", "/old/stat": "/api/log/self/stat?x=1"}
        sim = Simulator(logs, SimConfig(redirects={**redirects, "/api/log/stat": target}))
        with sim.serve() as url, requests.Session() as session:
            session.headers.update(AUTH)
            params = {"p": 2, "page_size": 5}
            moved = session.get(f"{url}/log/self", params=params, allow_redirects=False)
            assert moved.status_code == 302 and moved.headers["Content-Type"] == "text/html"
            assert moved.headers["Location"] == "/api/log/self?p=2&page_size=5"
            assert "302 Found" in moved.text
            followed = session.get(f"{url}/log/self", params=params)
            direct = session.get(f"{url}/api/log/self", params=params)
            assert followed.status_code == 200 and followed.json() == direct.json()
            assert [(r.path, r.status) for r in sim.requests] == [
                ("/log/self", 302),
                ("/log/self", 302),
                ("/api/log/self", 200),
                ("/api/log/self", 200),
            ]
            assert sim.requests[2].params == {"p": "2", "page_size": "5"}

            moved = session.get(f"{url}/old/stat?start_timestamp=5", allow_redirects=False)
            assert moved.headers["Location"] == "/api/log/self/stat?x=1&start_timestamp=5"
            moved = session.get(f"{url}/api/log/stat?p=3", allow_redirects=False)
            assert moved.status_code == 302 and moved.headers["Location"] == target
            session.get(f"{url}/api/log/stat?p=3")  # another origin answers whatever it does
            assert [(r.path, r.params) for r in elsewhere.requests] == [
                ("/api/log/self", {"from": "redirect"})
            ]


def test_stray_logs_outside_any_window_count_only_where_bounds_admit_them(sim, logs) -> None:
    far = 4_102_444_800  # 2100-01-01
    strays = sim.add_stray_logs(
        [
            {"type": 2, "quota": 7, "model_name": "gpt-4o", "username": "alice"},  # created_at 0
            {"type": 2, "quota": 11, "created_at": -86_400, "username": "alice"},
            {"type": 1, "created_at": far, "username": "alice"},
            {"type": 2, "quota": 13, "created_at": START - 10, "username": "alice"},  # backfilled
        ]
    )
    assert [log["id"] for log in strays] == [1_501, 1_502, 1_503, 1_504]
    assert [log["created_at"] for log in strays] == [0, -86_400, far, START - 10]
    assert sim.logs()[-4:] == strays
    assert [log["id"] for log in sim.logs(2)[-3:]] == [1_501, 1_502, 1_504]
    sim.now = lambda: END + 30  # live logs keep to the time-ordered history, not the strays
    assert [log["created_at"] for log in sim.add_live_logs(2)] == [END + 30] * 2
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(AUTH)

        def stamps(**params: object) -> tuple[Counter, int]:
            items, total = _fetch_all(session, url, page_size=100, **params)
            assert total == len(items)
            return Counter(item["created_at"] for item in items), total

        seen, total = stamps()  # no bounds: everything, newest id first
        assert total == 1_506 and {0, -86_400, far, START - 10} <= set(seen)
        first = session.get(f"{url}/api/log/self", params={"page_size": 6}).json()["data"]
        assert [item["id"] for item in first["items"]] == [1_506, 1_505, 1_504, 1_503, 1_502, 1_501]
        seen, total = stamps(start_timestamp=0, end_timestamp=0)  # 0 is no bound
        assert total == 1_506
        seen, total = stamps(start_timestamp=START, end_timestamp=END + 30)
        assert total == 1_502 and not {0, -86_400, far, START - 10} & set(seen)
        seen, _ = stamps(start_timestamp=START - 10)  # start only: the far future is in
        assert far in seen and START - 10 in seen and not {0, -86_400} & set(seen)
        seen, _ = stamps(end_timestamp=END)  # end only: zero and negative are in
        assert {0, -86_400, START - 10} <= set(seen) and far not in seen
        seen, total = stamps(type=2, model_name="gpt-4o")
        assert seen[0] == 1 and -86_400 not in seen

        get_stat = lambda **p: session.get(f"{url}/api/log/self/stat", params=p).json()["data"]  # noqa: E731
        billed = sum(log["quota"] for log in sim.logs(2) if START <= log["created_at"] <= END + 30)
        assert get_stat()["quota"] == billed + 7 + 11 + 13
        assert get_stat(start_timestamp=START, end_timestamp=END + 30)["quota"] == billed
        assert get_stat(start_timestamp=1)["quota"] == billed + 13


def test_manage_and_system_logs_as_new_api_writes_them() -> None:
    mixed = generate_logs(3_000, start=START, end=END, seed=11, type_weights=ALL_TYPE_WEIGHTS)
    assert mixed == generate_logs(
        3_000, start=START, end=END, seed=11, type_weights=ALL_TYPE_WEIGHTS
    )
    assert {log["type"] for log in mixed} == {1, 2, 3, 4, 5, 6}
    default_mix = generate_logs(3_000, start=START, end=END, seed=11)
    assert {log["type"] for log in default_mix} == {1, 2, 5, 6}  # the default is unchanged
    money = r"＄\d+\.\d{6} 额度"
    manage = re.compile(
        rf"管理员将用户额度从 {money}修改为 {money}|管理员增加用户额度 {money}"
        rf"|管理员减少用户额度 {money}|管理员覆盖用户额度从 {money} 为 {money}"
    )
    system = re.compile(rf"(新用户注册赠送|使用邀请码赠送|邀请用户赠送) {money}")
    for log in mixed:
        if log["type"] in (3, 4):
            assert (manage if log["type"] == 3 else system).fullmatch(log["content"]), log
            assert log["quota"] == 0 and log["model_name"] == log["token_name"] == ""
    sim = Simulator(mixed)
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(AUTH)
        items, total = _fetch_all(session, url, type=3, page_size=100)
        assert total == len(items) == sum(log["type"] == 3 for log in mixed) >= 5
        # admin_info is the admin's: a user's view of a ManageUser log holds "{}"
        assert {item["other"] for item in items} == {"null", "{}"}
        kinds = {re.match("管理员(将|增加|减少|覆盖)", item["content"])[1] for item in items}
        assert kinds == {"将", "增加", "减少", "覆盖"}  # edited, added, subtracted, overridden

    account = build_account(rate=0, seed=7)  # the demo account has a few of each
    assert 0 < account.summary()["types"]["3"] < 40 and 0 < account.summary()["types"]["4"] < 40


def test_cli_options_for_the_new_behaviours() -> None:
    from simulator.__main__ import build, parse

    default, fresh = build(parse(["--logs", "50"])).config, SimConfig()
    new = ("family", "type_filter", "glitch_rate", "glitches", "clock_offset", "redirects")
    for name in (*new, "trickle_bytes_per_second"):  # off unless asked
        assert getattr(default, name) == getattr(fresh, name), name
    command_line = (
        "--logs 50 --family oneapi --no-type-filter --glitch-rate 0.2 --glitches null_data"
        " --clock-offset -90 --trickle 500 --redirect /log/self=/api/log/self"
        " --redirect /x=http://elsewhere/y --stray-logs 6"
    )
    args = parse(shlex.split(command_line))
    sim = build(args)
    config = sim.config
    assert (config.family, config.type_filter, config.glitches) == ("oneapi", False, ("null_data",))
    assert (config.glitch_rate, config.clock_offset) == (0.2, -90.0)
    assert config.trickle_bytes_per_second == 500.0
    assert config.redirects == {"/log/self": "/api/log/self", "/x": "http://elsewhere/y"}
    assert len(sim.logs()) == 56
    assert [log["created_at"] for log in sim.logs()[-6:]] == [*STRAY_TIMES, 0]
    for wrong in (["--glitches", "boom"], ["--redirect", "nopath"]):
        with pytest.raises(SystemExit):
            parse(wrong)


def test_python_m_simulator_serves_one_api() -> None:
    argv = [sys.executable, "-m", "simulator", "--port", "0", "--logs", "300", "--live-rate", "0"]
    argv += ["--family", "oneapi", "--clock-offset", "-86400"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        try:
            first = json.loads(proc.stdout.readline())
            answer = requests.get(
                f"{first['base_url']}/api/log/self", params={"p": 1}, headers=AUTH
            )
            data = answer.json()["data"]
            assert isinstance(data, list) and len(data) == 10 and {i["id"] for i in data} == {0}
            behind = time.time() - parsedate_to_datetime(answer.headers["Date"]).timestamp()
            assert 86_390 < behind < 86_410
            assert first["newest"] <= time.time() - 86_390
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)


# ---- the site's account state ------------------------------------------------------------

ADMIN = {**AUTH, "New-Api-User": "1"}


def _site(logs: list[dict], **config: object) -> Simulator:
    return Simulator(logs, SimConfig(user_id=1, **config))


def test_user_self_agrees_with_the_usage_logs_and_carries_the_secrets(logs: list[dict]) -> None:
    sim = _site(logs)
    with sim.serve() as url:
        body = requests.get(f"{url}/api/user/self", headers=ADMIN).json()
        assert requests.get(f"{url}/api/user/self", headers=AUTH).status_code == 401
    assert body["success"] is True and body["message"] == ""
    user = body["data"]
    usage = [log for log in logs if log["type"] == 2]
    assert user["used_quota"] == sum(log["quota"] for log in usage)
    assert user["request_count"] == len(usage)
    assert (user["id"], user["username"], user["role"], user["status"]) == (1, "alice", 1, 1)
    assert user["access_token"] == ACCESS_TOKEN_SECRET
    assert user["password"] == PASSWORD_SECRET
    assert {ACCESS_TOKEN_SECRET, PASSWORD_SECRET} <= SECRET_VALUES
    assert user["quota"] >= 0 and user["quota"] % 1 == 0
    assert {
        "display_name", "email", "group", "aff_code", "aff_count", "aff_quota",
        "aff_history_quota", "inviter_id",
    } <= set(user)  # fmt: skip
    assert list(user) == sorted(user)  # a Go map: keys sorted
    again = _site(logs)
    with again.serve() as url:
        assert requests.get(f"{url}/api/user/self", headers=ADMIN).json()["data"] == user


def test_tokens_page_like_new_api_and_sum_their_usage(logs: list[dict]) -> None:
    sim = _site(logs)
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(ADMIN)
        first = session.get(f"{url}/api/token/", params={"p": 1, "size": 3}).json()["data"]
        second = session.get(f"{url}/api/token/", params={"p": 2, "page_size": 3}).json()["data"]
        everything = session.get(f"{url}/api/token/").json()["data"]
        moved = session.get(f"{url}/api/token", params={"p": 1}, allow_redirects=False)
    assert (first["page"], first["page_size"], first["total"]) == (1, 3, 4)
    assert (second["page"], second["page_size"], len(second["items"])) == (2, 3, 1)
    tokens = everything["items"]
    assert [t["id"] for t in tokens] == [104, 103, 102, 101]
    assert first["items"] + second["items"] == tokens
    assert {t["name"] for t in tokens} == {log["token_name"] for log in logs if log["token_name"]}
    for token in tokens:
        usage = [log for log in logs if log["type"] == 2 and log["token_id"] == token["id"]]
        assert token["used_quota"] == sum(log["quota"] for log in usage)
        assert token["key"] == token_key(token["id"]) and token["key"] in SECRET_VALUES
        assert SECRET_MARKER in token["key"]
        assert token["expired_time"] == -1 and token["user_id"] == 1
        assert token["unlimited_quota"] == (token["id"] % 2 == 1)
    assert set(tokens[0]) >= {
        "status", "created_time", "accessed_time", "remain_quota", "model_limits_enabled",
        "model_limits", "allow_ips", "group",
    }  # fmt: skip
    assert (moved.status_code, moved.headers["Location"]) == (301, "/api/token/?p=1")
    sim.config.token_keys = "masked"
    with sim.serve() as url:
        masked = requests.get(f"{url}/api/token/", headers=ADMIN).json()["data"]["items"]
    assert [t["key"] for t in masked] == [t["key"][:4] + "*" * 10 + t["key"][-4:] for t in tokens]
    assert not any(SECRET_MARKER in t["key"] for t in masked)


def test_status_is_public_and_free_of_secrets(logs: list[dict]) -> None:
    sim = _site(logs, api_key="other", data_export=False)
    with sim.serve() as url:
        response = requests.get(f"{url}/api/status")
    body = response.json()
    assert response.status_code == 200 and body["success"] is True
    data = body["data"]
    assert data["quota_per_unit"] == 500_000
    assert (data["display_in_currency"], data["quota_display_type"]) == (True, "USD")
    assert data["usd_exchange_rate"] > 0 and data["price"] > 0
    assert data["enable_data_export"] is False
    assert {"system_name", "version"} <= set(data)
    assert SECRET_MARKER not in response.text


def test_pricing_lists_the_logs_models_as_new_api_shapes_it(logs: list[dict]) -> None:
    sim = _site(logs)
    with sim.serve() as url:
        body = requests.get(f"{url}/api/pricing").json()  # TryUserAuth: no token needed
        assert requests.get(f"{url}/api/pricing", headers=ADMIN).json() == body
    assert body["success"] is True and "message" not in body  # GetPricing writes none
    names = [item["model_name"] for item in body["data"]]
    assert names == sorted({log["model_name"] for log in logs if log["model_name"]})
    by_name = {item["model_name"]: item for item in body["data"]}
    assert (by_name["gpt-4o"]["quota_type"], by_name["gpt-4o"]["model_ratio"]) == (0, 1.25)
    assert by_name["gpt-4o"]["completion_ratio"] == 4
    assert by_name["sora-2"]["quota_type"] == 1 and by_name["sora-2"]["model_price"] > 0
    assert by_name["gpt-4o"]["enable_groups"] == ["default", "vip"]
    assert body["group_ratio"] == {"default": 1, "vip": 0.8}
    assert set(body["usable_group"]) == {"default", "vip"}


def test_quota_data_is_hourly_usage_and_refuses_a_span_over_30_days(logs: list[dict]) -> None:
    sim = _site(logs)
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(ADMIN)
        rows = session.get(
            f"{url}/api/data/self", params={"start_timestamp": START, "end_timestamp": END}
        ).json()["data"]
        wide = session.get(
            f"{url}/api/data/self", params={"start_timestamp": 0, "end_timestamp": 2_592_001}
        )
        bad = session.get(f"{url}/api/data/self", params={"end_timestamp": END})
        admin = session.get(f"{url}/api/data/", params={"start_timestamp": 0, "end_timestamp": 1})
        sim.config.data_export = False
        off = session.get(
            f"{url}/api/data/self", params={"start_timestamp": START, "end_timestamp": END}
        ).json()
    expected: Counter[tuple[str, int]] = Counter()
    quota: Counter[tuple[str, int]] = Counter()
    for log in logs:
        if log["type"] == 2 and log["created_at"] - log["created_at"] % 3600 >= START:
            key = (log["model_name"], log["created_at"] - log["created_at"] % 3600)
            expected[key] += 1
            quota[key] += log["quota"]
    assert {(r["model_name"], r["created_at"]): r["count"] for r in rows} == expected
    assert {(r["model_name"], r["created_at"]): r["quota"] for r in rows} == quota
    assert set(rows[0]) == {
        "id", "user_id", "username", "model_name", "created_at", "token_used", "count", "quota"
    }  # fmt: skip
    assert all(r["created_at"] % 3600 == 0 and r["user_id"] == 1 for r in rows)
    assert wide.status_code == 200
    assert wide.json() == {"message": "时间跨度不能超过 1 个月", "success": False}
    assert bad.status_code == 400
    assert bad.json() == {"message": "start_timestamp 格式错误", "success": False}
    assert admin.json() == {"message": "无权进行此操作，权限不足", "success": False}
    assert off == {"data": [], "message": "", "success": True}


def test_admin_quota_data_logs_and_users(logs: list[dict]) -> None:
    bob = generate_logs(50, start=END + 10, end=END + 3_600, seed=3, user_id=2, username="bob")
    sim = _site([*logs, *bob], is_admin=True)
    with sim.serve() as url, requests.Session() as session:
        session.headers.update(ADMIN)
        span = {"start_timestamp": 0, "end_timestamp": END + 86_400}
        by_model = session.get(f"{url}/api/data/", params=span).json()["data"]
        of_bob = session.get(f"{url}/api/data/", params={**span, "username": "bob"}).json()["data"]
        page = session.get(f"{url}/api/log/", params={"page_size": 5}).json()["data"]
        bobs = session.get(f"{url}/api/log/", params={"username": "bob", "type": 2}).json()["data"]
        chan = session.get(f"{url}/api/log/", params={"channel": 3, "page_size": 100}).json()
        errors = session.get(f"{url}/api/log/", params={"type": 5}).json()["data"]["items"]
        own = session.get(f"{url}/api/log/self", params={"type": 5}).json()["data"]["items"]
        users = session.get(f"{url}/api/user/").json()["data"]
        me = session.get(f"{url}/api/user/self").json()["data"]
    assert sum(r["count"] for r in by_model) == sum(log["type"] == 2 for log in [*logs, *bob])
    assert all((r["id"], r["user_id"], r["username"]) == (0, 0, "") for r in by_model)
    assert {r["username"] for r in of_bob} == {"bob"}
    assert page["total"] == 1_550 and [i["id"] for i in page["items"]] == list(
        range(1550, 1545, -1)
    )
    assert {"user_id", "username", "channel", "channel_name", "ip", "request_id"} <= set(
        page["items"][0]
    )
    assert bobs["total"] == sum(log["type"] == 2 for log in bob)
    assert {i["channel"] for i in chan["data"]["items"]} == {3}
    assert all("admin_info" in json.loads(item["other"]) for item in errors)  # kept for admins
    assert not any("admin_info" in json.loads(item["other"]) for item in own)
    assert [u["username"] for u in users["items"]] == ["bob", "alice"]
    assert users["items"][1]["password"] == PASSWORD_SECRET
    assert me["role"] == 10
    assert {v for u in users["items"] for v in (u["password"], u["access_token"])} <= (
        sim.secret_values()
    )


def test_missing_endpoints_answer_new_apis_no_route(logs: list[dict]) -> None:
    sim = _site(logs, missing_endpoints=frozenset({"/api/data/self", "/api/token/"}))
    with sim.serve() as url:
        for path in ("/api/data/self", "/api/token/", "/api/token"):
            response = requests.get(f"{url}{path}", allow_redirects=False)
            assert response.status_code == 404
            assert response.json()["error"]["message"] == f"Invalid URL (GET {path})"
        assert requests.get(f"{url}/api/user/self", headers=ADMIN).status_code == 200
    oneapi = Simulator(logs, SimConfig(family="oneapi"))
    with oneapi.serve() as url:
        assert requests.get(f"{url}/api/pricing").status_code == 404
        tokens = requests.get(f"{url}/api/token/", params={"p": 0}, headers=AUTH).json()["data"]
        assert [t["id"] for t in tokens] == [104, 103, 102, 101]  # a bare list, p from 0


def test_every_secret_is_marked_and_served_only_where_expected(logs: list[dict]) -> None:
    sim = _site(logs, is_admin=True)
    served = {}
    with sim.serve() as url:
        for path in ("/api/log/self", "/api/status", "/api/pricing", "/api/log/self/stat"):
            served[path] = requests.get(f"{url}{path}", headers=ADMIN).text
        served["/api/data/self"] = requests.get(
            f"{url}/api/data/self",
            params={"start_timestamp": START, "end_timestamp": END},
            headers=ADMIN,
        ).text
    assert all(SECRET_MARKER in value for value in sim.secret_values())
    assert not any(SECRET_MARKER in text for text in served.values())


def test_admin_channels_carry_the_upstream_keys_and_their_usage(logs: list[dict]) -> None:
    sim = _site(logs, is_admin=True)
    with sim.serve() as url:
        data = requests.get(f"{url}/api/channel/", headers=ADMIN).json()["data"]
        assert requests.get(f"{url}/api/channel/", headers=AUTH).status_code == 401
        sim.config.is_admin = False
        refused = requests.get(f"{url}/api/channel/", headers=ADMIN).json()
    assert refused == {"message": "无权进行此操作，权限不足", "success": False}
    assert list(data) == ["items", "page", "page_size", "total", "type_counts"]
    assert data["total"] == 6 and [c["id"] for c in data["items"]] == [6, 5, 4, 3, 2, 1]
    for channel in data["items"]:
        usage = [log for log in logs if log["type"] == 2 and log["channel"] == channel["id"]]
        assert channel["used_quota"] == sum(log["quota"] for log in usage)
        assert channel["key"] in SECRET_VALUES and SECRET_MARKER in channel["key"]
        assert {"balance", "type", "group", "priority", "name", "status"} <= set(channel)
    assert sum(data["type_counts"].values()) == 6


def test_what_is_derived_from_the_logs_follows_logs_added(served):
    # Accounts, tokens, hourly rows and prices are computed once per set of logs: an
    # answer after logs were added must count them.
    sim, url, session = served

    def answers() -> tuple[list[dict], int, list[str]]:
        tokens = session.get(f"{url}/api/token/", params={"p": 1, "size": 100}).json()
        span = {"start_timestamp": END - 86_400, "end_timestamp": END + 86_400}
        hourly = session.get(f"{url}/api/data/self", params=span).json()["data"]
        prices = session.get(f"{url}/api/pricing").json()["data"]
        return (
            tokens["data"]["items"],
            sum(r["count"] for r in hourly),
            [p["model_name"] for p in prices],
        )

    tokens, counted, prices = answers()
    assert answers() == (tokens, counted, prices)  # asked again: the same
    sim.add_logs(
        [
            {
                "created_at": END,
                "type": 2,
                "token_id": 999,
                "token_name": "late",
                "quota": 5,
                "model_name": "a-model-not-seen-before",
            }
        ]
    )
    after, counted_after, prices_after = answers()
    assert [t["id"] for t in after] == [999] + [t["id"] for t in tokens]
    assert counted_after == counted + 1
    assert set(prices_after) - set(prices) == {"a-model-not-seen-before"}


def test_latency_is_a_round_trip_with_the_servers_work_inside_it(logs):
    # A request is served halfway through the latency, and its answer leaves `latency`
    # after it came: the simulator's own work (here 0.1 s of it) is not added to the wait.
    sim = Simulator(logs, SimConfig(latency=0.4))
    served: list[float] = []

    def work(_sim: Simulator, _path: str, _params: dict[str, str]) -> None:
        served.append(time.monotonic())
        time.sleep(0.1)

    sim.before_request = work
    with sim.serve() as url:
        sent = time.monotonic()
        answer = requests.get(f"{url}/api/log/self", headers=AUTH, timeout=5)
        took = time.monotonic() - sent
    assert answer.status_code == 200
    assert 0.15 <= served[0] - sent <= 0.3
    assert 0.4 <= took < 0.48, f"{took:.3f} s for a 0.4 s round trip with 0.1 s of work"
    # What the benchmark reports as the simulator's own time: the round trip, no more.
    (record,) = sim.requests
    assert record.answered_in is not None
    assert 0.4 <= record.answered_in <= took
