"""The tap as users run it: `meltano run tap-1688token target-…` into real targets.

Exact row counts against what the simulator holds (ids collide modulo 1024; `log_key` keeps
those logs apart in upserting targets), the state round trip (a second run sends only new
logs and the second of its bookmark), daily_stats reconciled against usage_logs, and the
stream maps that hash or drop `content`. DuckDB, JSONL and CSV always; PostgreSQL with the
server `.ci/with-postgres` starts (TAP_E2E_POSTGRES_PORT). Missing tools fail under CI=true.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_1688token.logtypes import LOG_STREAMS
from tests.e2e_support import (
    ROOT,
    Project,
    counts,
    ensure_meltano,
    held,
    postgres_database,
    postgres_env,
    postgres_port,
    query,
    scalar,
    simulator,
)

QUOTA_PER_USD = 500_000


@pytest.fixture(scope="module", autouse=True)
def _meltano_installed() -> None:
    ensure_meltano()


def _meltano_yml() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "meltano.yml").read_text())


def _plugin(kind: str, name: str) -> dict[str, Any]:
    (found,) = [p for p in _meltano_yml()["plugins"][kind] if p["name"] == name]
    return found


def _words(text: str) -> str:
    return " ".join(str(text).split())


def _rfc3339(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))


# ---- the Meltano project ------------------------------------------------------------------


def test_meltano_yml_documents_every_setting_of_the_tap(tmp_path: Path) -> None:
    project = Project(tmp_path, "http://127.0.0.1:9")
    about = json.loads(
        project.meltano("invoke", "tap-1688token", "--about", "--format=json").stdout
    )
    properties = about["settings"]["properties"]
    tap = _plugin("extractors", "tap-1688token")
    declared = {setting["name"]: setting for setting in tap["settings"]}

    missing = set(properties) - set(declared)
    assert not missing, f"meltano.yml does not declare {sorted(missing)}"
    assert not set(declared) - set(properties), "meltano.yml declares settings the tap lacks"
    for name, prop in properties.items():
        setting = declared[name]
        assert setting.get("kind"), name
        assert setting.get("label") == prop.get("title"), name
        assert _words(setting.get("description", "")) == _words(prop.get("description", "")), name
        if "default" in prop and "value" in setting:
            assert setting["value"] == prop["default"], name
    assert declared["api_key"]["sensitive"] is True
    assert all(not s.get("sensitive") for n, s in declared.items() if n != "api_key")

    wanted = {"about", "catalog", "discover", "state", "stream-maps", "schema-flattening", "batch"}
    assert wanted | {"test"} <= set(tap["capabilities"])
    assert set(tap["capabilities"]) - {"test"} <= set(about["capabilities"])

    # `meltano invoke tap-1688token --about` and `meltano config … list` show every setting.
    markdown = project.meltano("invoke", "tap-1688token", "--about").stdout
    listing = project.meltano(
        "--environment=dev", "config", "list", "tap-1688token", "--all"
    ).stdout
    for name in properties:
        assert name in markdown, name
        assert re.search(rf"^{name} \[env: TAP_1688TOKEN_{name.upper()}\]", listing, re.M), name
    assert "sim-token" not in listing  # api_key is redacted


def test_loaders_are_inline_and_duckdb_is_pinned() -> None:
    loaders = {p["name"]: p for p in _meltano_yml()["plugins"]["loaders"]}
    assert set(loaders) == {"target-duckdb", "target-postgres", "target-jsonl", "target-csv"}
    for name, loader in loaders.items():
        assert loader.get("namespace") and loader.get("pip_url"), name
    # target-duckdb 0.8.0 loses the first row of every batch with duckdb >= 1.3.
    assert "duckdb==1.2.2" in loaders["target-duckdb"]["pip_url"].split()


def test_meltano_config_test_reaches_the_gateway(tmp_path: Path) -> None:
    with simulator(days=1, per_day=50) as (_sim, base_url):
        done = Project(tmp_path, base_url).meltano("config", "test", "tap-1688token")
    assert "Plugin configuration is valid" in "\n".join(done.lines)


# ---- exact loads and the state round trip ------------------------------------------------


def _round_trip(project: Project, sim: Any, target: str, where: list[str], **env: str) -> None:
    """Two `meltano run`s with new traffic between them; every count exact."""
    before = held(sim)
    first = project.run("tap-1688token", target, **env)
    loaded = counts(where)
    for stream in LOG_STREAMS:
        assert first.sent[stream] == before[stream], stream
        assert loaded[stream] == before[stream], stream

    # New API's ids collide (id % 1024); the warehouse still holds every log once.
    table = "tap_1688token.usage_logs"
    assert scalar(where, f"SELECT count(*) - count(DISTINCT id) FROM {table}") > 0
    assert scalar(where, f"SELECT count(DISTINCT log_key) FROM {table}") == before["usage_logs"]

    # A run reads its bookmark's second again: exactly these rows come twice.
    again = {
        stream: scalar(
            where,
            f"SELECT count(*) FROM tap_1688token.{stream} WHERE created_at = "
            f"(SELECT max(created_at) FROM tap_1688token.{stream})",
        )
        for stream in LOG_STREAMS
    }
    sim.add_traffic(400, spread=5)
    after = held(sim)
    assert sum(after.values()) == sum(before.values()) + 400
    time.sleep(1.1)  # the new logs' last second is over before the run starts

    # The whole pipeline: the load, then the dbt project's build (its tests included).
    transform = {"target-duckdb": "dbt-duckdb:build", "target-postgres": "dbt-postgres:build"}
    second = project.run("tap-1688token", target, transform[target], **env)
    loaded = counts(where)
    for stream in LOG_STREAMS:
        new = after[stream] - before[stream]
        assert second.sent[stream] == new + again[stream], stream
        assert loaded[stream] == after[stream], stream

    bookmarks = project.state(f"dev:tap-1688token-to-{target}")["singer_state"]["bookmarks"]
    for log_type, stream in (
        (2, "usage_logs"),
        (1, "topup_logs"),
        (6, "refund_logs"),
        (5, "error_logs"),
    ):
        newest = max(log["created_at"] for log in sim.logs(log_type))
        assert bookmarks[stream]["replication_key_value"] == _rfc3339(newest), stream

    assert loaded["daily_stats"] >= 4
    _assert_reconciled(where)


def _assert_reconciled(where: list[str]) -> None:
    # dbt's mart (transform/), as `python -m demo.query reconcile` reads it.
    rows = query(where, "reconcile")
    assert len(rows) >= 4, rows
    differing = [row for row in rows if row[4] != 0 or row[6] != 0 or row[2] is None]
    assert not differing, differing
    assert sum(row[5] for row in rows) == scalar(
        where, "SELECT count(*) FROM tap_1688token.usage_logs"
    )


def test_duckdb_exact_rows_colliding_ids_and_state_round_trip(tmp_path: Path) -> None:
    with simulator() as (sim, base_url):
        project = Project(tmp_path, base_url)
        where = ["--duckdb", str(tmp_path / "warehouse.duckdb")]
        # Days of Asia/Shanghai: the reconciliation must follow daily_stats' own zone.
        _round_trip(
            project, sim, "target-duckdb", where, TAP_1688TOKEN_STATS_TIMEZONE="Asia/Shanghai"
        )
        zones = query(where, "sql", "SELECT DISTINCT timezone FROM tap_1688token.daily_stats")
        assert zones == [["Asia/Shanghai"]]


def test_postgres_exact_rows_colliding_ids_and_state_round_trip(tmp_path: Path) -> None:
    port = postgres_port()
    with simulator() as (sim, base_url), postgres_database(port) as dsn:
        project = Project(tmp_path, base_url)
        project.env.update(postgres_env(port, dsn))
        _round_trip(project, sim, "target-postgres", ["--postgres", dsn])


def test_postgres_loads_nul_huge_numbers_and_the_group_column(tmp_path: Path) -> None:
    # What failed a whole PostgreSQL load before: a NUL in text, an integer beyond 64 bits.
    port = postgres_port()
    with simulator(days=1, per_day=200) as (sim, base_url), postgres_database(port) as dsn:
        newest = max(log["created_at"] for log in sim.logs())
        odd = {"type": 5, "username": "alice", "group": "vip", "model_name": "gpt-4o"}
        sim.add_logs(
            [
                {**odd, "created_at": newest, "content": "a\u0000b", "quota": 2**64},
                {**odd, "created_at": newest, "content": "c", "other": {"n": "x\u0000y"}},
            ]
        )
        project = Project(tmp_path, base_url)
        project.env.update(postgres_env(port, dsn))
        project.run("tap-1688token", "target-postgres")
        where = ["--postgres", dsn]
        assert counts(where)["error_logs"] == held(sim)["error_logs"]
        rows = query(
            where,
            "sql",
            "SELECT content, quota, user_group, extra->>'quota', other->>'n' "
            "FROM tap_1688token.error_logs WHERE content IN ('a\ufffdb', 'c') ORDER BY content",
        )
    assert rows == [
        ["a\ufffdb", None, "vip", str(2**64), None],
        ["c", 0, "vip", None, "x\ufffdy"],
    ]


def test_postgres_loads_the_taps_batch_messages(tmp_path: Path) -> None:
    port = postgres_port()
    with simulator(days=2, per_day=6000) as (sim, base_url), postgres_database(port) as dsn:
        project = Project(tmp_path, base_url)
        project.env.update(postgres_env(port, dsn))
        batch_config = {
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": (tmp_path / "batches").as_uri()},
            "batch_size": 2000,
        }
        (tmp_path / "batches").mkdir()
        done = project.run(
            "tap-1688token", "target-postgres", TAP_1688TOKEN_BATCH_CONFIG=json.dumps(batch_config)
        )
        manifests = re.findall(r"(\d+) batch manifests", "\n".join(done.lines))
        assert manifests and int(manifests[-1]) > len(LOG_STREAMS), manifests
        loaded = counts(["--postgres", dsn])
        expected = held(sim)
        for stream in LOG_STREAMS:
            assert loaded[stream] == expected[stream], stream


# A file target writes no file for a stream without records (e.g. a day without system logs).


def _jsonl(folder: Path, stream: str) -> list[dict[str, Any]]:
    path = folder / f"{stream}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _csv(folder: Path, stream: str) -> list[dict[str, Any]]:
    path = folder / f"{stream}.csv"
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(("target", "read"), [("target-jsonl", _jsonl), ("target-csv", _csv)])
def test_file_targets_load_every_row(tmp_path: Path, target: str, read: Any) -> None:
    with simulator(days=2, per_day=700) as (sim, base_url):
        project = Project(tmp_path, base_url)
        project.run("tap-1688token", target)
    folder = tmp_path / ("jsonl" if target == "target-jsonl" else "csv")
    expected = held(sim)
    for stream in LOG_STREAMS:
        rows = read(folder, stream)
        assert len(rows) == expected[stream], stream
        assert len({row["log_key"] for row in rows}) == expected[stream], stream
    ids = [row["id"] for row in read(folder, "usage_logs")]
    assert len(set(ids)) < len(ids)  # colliding server ids, kept apart by log_key


# ---- privacy: stream maps (the SDK's, configured in meltano.yml) ------------------------


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # what the stream map computes


def test_private_variant_hashes_content_and_adds_quota_usd(tmp_path: Path) -> None:
    with simulator(days=2, per_day=500) as (sim, base_url):
        project = Project(tmp_path, base_url)
        project.run("tap-1688token-private", "target-jsonl")
    folder = tmp_path / "jsonl"
    for log_type, stream in ((2, "usage_logs"), (5, "error_logs"), (1, "topup_logs")):
        records = _jsonl(folder, stream)
        originals = sorted(_md5(log["content"]) for log in sim.logs(log_type) if log["content"])
        assert originals, stream
        assert sorted(r["content"] for r in records if r.get("content")) == originals, stream
        assert all(
            not r.get("content") or re.fullmatch("[0-9a-f]{32}", r["content"]) for r in records
        )
    usage = _jsonl(folder, "usage_logs")
    assert len(usage) == held(sim)["usage_logs"]
    for record in usage:
        assert record["quota_usd"] == pytest.approx(record["quota"] / QUOTA_PER_USD)
    prompts = {log["content"] for log in sim.logs(2) if log["content"]}
    text = "".join(path.read_text() for path in folder.glob("*.jsonl"))
    assert not any(prompt in text for prompt in prompts)


def test_stream_map_can_drop_content(tmp_path: Path) -> None:
    drop = {stream: {"content": "__NULL__"} for stream in LOG_STREAMS}
    with simulator(days=2, per_day=500) as (sim, base_url):
        project = Project(tmp_path, base_url)
        project.run("tap-1688token", "target-jsonl", TAP_1688TOKEN_STREAM_MAPS=json.dumps(drop))
    for stream in LOG_STREAMS:
        records = _jsonl(tmp_path / "jsonl", stream)
        assert len(records) == held(sim)[stream], stream
        assert all("content" not in record for record in records), stream
