"""Snapshot rows: typed by their field table, stamped, and never a secret."""

from __future__ import annotations

import json

from tap_1688token.fields import ACCOUNT_FIELDS, API_KEY_FIELDS, MODEL_PRICE_FIELDS
from tap_1688token.snapshots import SECRET_FIELDS, snapshot_row

AT = "2026-11-30T12:00:00+00:00"
SECRET = "sk-do-not-export-1f2e3d"


def test_a_key_row_never_carries_the_key_at_any_depth():
    item = {
        "id": 7,
        "user_id": 1,
        "key": SECRET,
        "name": "dev-laptop",
        "remain_quota": "250000",
        "unlimited_quota": False,
        "expired_time": -1,
        "limits": {"access_token": SECRET, "nested": [{"password": SECRET, "ok": 1}]},
        "setting": {"webhook_url": "https://hooks.example/x", "webhook_secret": SECRET},
    }
    row = snapshot_row(item, API_KEY_FIELDS, AT)
    assert SECRET not in json.dumps(row)
    assert row["id"] == 7
    assert row["remain_quota"] == 250000
    assert row["expired_time"] == -1
    assert row["snapshot_at"] == AT
    # Settings are where credentials hide in free form: withheld whole.
    assert row["extra"] == {"limits": {"nested": [{"ok": 1}]}}


def test_every_field_is_present_and_a_misfit_is_kept_as_sent():
    row = snapshot_row({"id": 1, "quota": "lots", "password": SECRET}, ACCOUNT_FIELDS, AT)
    assert set(row) == {field.name for field in ACCOUNT_FIELDS}
    assert row["quota"] is None
    assert row["extra"] == {"quota": "lots"}
    assert not SECRET_FIELDS & set(row)


def test_prices_keep_lists_and_maps():
    item = {
        "model_name": "gpt-4o",
        "model_ratio": 1.25,
        "enable_groups": ["default", "vip"],
        "group_ratios": {"default": 1, "vip": 0.8},
        "quota_type": 0,
    }
    row = snapshot_row(item, MODEL_PRICE_FIELDS, AT)
    assert row["enable_groups"] == ["default", "vip"]
    assert row["group_ratios"] == {"default": 1, "vip": 0.8}
    assert row["model_ratio"] == 1.25


# ---- against the simulator -------------------------------------------------------------

import time  # noqa: E402

from simulator import generate_logs  # noqa: E402
from tests.conftest import run_tap, run_without_secrets, tap_config  # noqa: E402

SNAPSHOTS = ("account", "api_keys", "gateway", "model_prices")


def _by(records, key):
    return {record[key]: record for record in records}


def test_snapshots_match_the_servers_objects(make_sim):
    sim, url = make_sim(2000, days=8, token_keys="full", is_admin=False)
    result = run_tap(tap_config(url))
    (account,) = result.records["account"]
    usage = sim.logs(2)
    assert account["used_quota"] == sum(log["quota"] for log in usage)
    assert account["request_count"] == len(usage)
    keys = _by(result.records["api_keys"], "name")
    spent: dict[str, int] = {}
    for log in usage:
        spent[log["token_name"]] = spent.get(log["token_name"], 0) + log["quota"]
    assert {name: key["used_quota"] for name, key in keys.items() if name in spent} == spent
    (gateway,) = result.records["gateway"]
    assert gateway["base_url"] == url
    assert gateway["quota_per_unit"] == 500_000
    prices = _by(result.records["model_prices"], "model_name")
    assert {log["model_name"] for log in usage} <= set(prices)
    assert all(isinstance(row["group_ratios"], dict) for row in prices.values())
    # every snapshot row of a run bears the run's time
    assert len({r["snapshot_at"] for s in SNAPSHOTS for r in result.records[s]}) == 1


def test_no_secret_the_server_sends_reaches_any_output(make_sim, tmp_path):
    sim, url = make_sim(500, days=2, token_keys="full")
    result = run_without_secrets(sim, tap_config(url), tmp_path)
    assert result.records["api_keys"]


def test_a_missing_endpoint_is_skipped_with_one_line(make_sim, caplog):
    _, url = make_sim(300, days=2, missing_endpoints={"/api/pricing"})
    with caplog.at_level("INFO"):
        result = run_tap(tap_config(url))
    assert "model_prices" not in result.records
    assert result.records["account"]
    (line,) = [m for m in caplog.messages if "/api/pricing is not served" in m]
    assert "skipped" in line


def _hourly_from_logs(sim) -> dict[tuple[str, str], tuple[int, int]]:
    sums: dict[tuple[str, str], tuple[int, int]] = {}
    for log in sim.logs(2):
        hour = time.strftime("%Y-%m-%dT%H:00:00+00:00", time.gmtime(log["created_at"]))
        count, quota = sums.get((hour, log["model_name"]), (0, 0))
        sums[hour, log["model_name"]] = (count + 1, quota + log["quota"])
    return sums


def test_hourly_usage_sums_are_the_logs_sums_per_hour(make_sim):
    # 70 days: more than the month New API answers for at once.
    sim, url = make_sim(3000, days=70)
    first = run_tap(tap_config(url))
    got = {
        (r["created_at"], r["model_name"]): (r["count"], r["quota"])
        for r in first.records["hourly_usage"]
    }
    assert got == _hourly_from_logs(sim)
    spans = [
        int(r.params["end_timestamp"]) - int(r.params["start_timestamp"])
        for r in sim.requests
        if r.path == "/api/data/self"
    ]
    assert len(spans) >= 3 and max(spans) <= 2_592_000
    # Logs arrive; the next run reads from a few hours before its bookmark.
    newest = max(log["created_at"] for log in sim.logs())
    sim.add_logs(generate_logs(200, start=newest, end=newest + 7200, seed=4))
    second = run_tap(tap_config(url), state=first.state)
    merged = {
        (r["created_at"], r["model_name"]): (r["count"], r["quota"])
        for r in first.records["hourly_usage"] + second.records["hourly_usage"]
    }
    assert merged == _hourly_from_logs(sim)
    assert len(second.records["hourly_usage"]) < len(first.records["hourly_usage"]) / 5


def test_hourly_usage_without_the_data_export_is_empty_not_an_error(make_sim):
    _, url = make_sim(300, days=2, data_export=False)
    result = run_tap(tap_config(url))
    assert "hourly_usage" not in result.records
    assert result.records["usage_logs"]


def test_a_snapshot_names_group_user_group_and_keeps_huge_numbers_as_text():
    row = snapshot_row({"id": 3, "group": "vip", "quota": 2**70}, ACCOUNT_FIELDS, AT)
    assert row["user_group"] == "vip" and "group" not in row
    assert row["quota"] is None and row["extra"] == {"quota": str(2**70)}
