"""dbt right after the load: `meltano run tap-1688token target-duckdb dbt-duckdb:build`.

The marts (transform/) against what the simulator holds, figured here independently: usage per
calendar day of daily_stats' zone, every amount in the texts of top-up, admin and bonus logs,
each usage log's charge. Then the checks fail when they should: a wrongly charged log names
itself, a log missing from the warehouse names its day. A warehouse without the optional
tables still builds. PostgreSQL (`dbt-postgres:build`) with the server `.ci/with-postgres`
starts; missing tools fail under CI=true.
"""

# ruff: noqa: RUF001, RUF002 - New API's texts are quoted verbatim (fullwidth signs)

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.e2e_support import (
    ROOT,
    Project,
    duckdb_execute,
    ensure_meltano,
    postgres_database,
    postgres_env,
    postgres_port,
    query,
    scalar,
    simulator,
)

QUOTA_PER_USD = 500_000  # the simulator's gateway.quota_per_unit
ZONE = "Asia/Shanghai"
ACCOUNT = {"user_id": 1, "username": "alice"}
#: every form of amount text the ledger reads, one it reads as no amount, one it cannot read:
#: (log type, content, kind, amount in quota, parse_status)
AMOUNT_TEXTS = (
    (3, "管理员增加用户额度 ＄5.000000 额度", "admin_change", 2_500_000, "parsed"),
    (3, "管理员减少用户额度 ＄1.500000 额度", "admin_change", -750_000, "parsed"),
    (
        3,
        "管理员将用户额度从 ＄1.000000 额度修改为 ＄6.000000 额度",
        "admin_change",
        2_500_000,
        "parsed",
    ),
    (
        3,
        "管理员覆盖用户额度从 ＄13.000000 额度 为 ＄4.000000 额度",
        "admin_change",
        -4_500_000,
        "parsed",
    ),
    (3, "管理员强制禁用了用户的两步验证", "admin_change", 0, "no amount"),
    (3, "管理员将用户额度修改为 ＄3.000000 额度", "admin_change", None, "unparsed"),
    (4, "新用户注册赠送 ＄0.500000 额度", "bonus", 250_000, "parsed"),
    (4, "使用邀请码赠送 ＄1.000000 额度", "bonus", 500_000, "parsed"),
    (4, "邀请用户赠送 ＄2.500000 额度", "affiliate_reward", 1_250_000, "parsed"),
    (1, "通过兑换码充值 ＄100.000000 额度，兑换码ID 12", "topup", 50_000_000, "parsed"),
    (
        1,
        "使用在线充值成功，充值金额: ＄20.000000 额度，支付金额：146.000000",
        "topup",
        10_000_000,
        "parsed",
    ),
    (1, "通过兑换码充值 250000 点额度，兑换码ID 13", "topup", 250_000, "parsed"),
)
_USD = re.compile(r"＄([0-9.]+) 额度")
_POINTS = re.compile(r"([0-9]+) 点额度")


@pytest.fixture(scope="module", autouse=True)
def _meltano_installed() -> None:
    ensure_meltano()


def _plugin(kind: str, name: str) -> dict[str, Any]:
    plugins = yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"][kind]
    (found,) = [p for p in plugins if p["name"] == name]
    return found


# ---- the simulator's figures, worked out here --------------------------------------------


def _day(log: dict[str, Any], zone: str = ZONE) -> str:
    return datetime.fromtimestamp(log["created_at"], ZoneInfo(zone)).date().isoformat()


def _quota(amount: str) -> int:
    """A "＄x 额度" or "n 点额度" amount in quota (the simulator's 500,000 per USD)."""
    if found := _USD.fullmatch(amount.strip()):
        return round(Decimal(found[1]) * QUOTA_PER_USD)
    if found := _POINTS.fullmatch(amount.strip()):
        return int(found[1])
    raise ValueError(amount)


def _amounts(content: str) -> list[int]:
    return [_quota(m[0]) for m in re.finditer(f"{_USD.pattern}|{_POINTS.pattern}", content)]


def _admin_change(content: str) -> int | None:
    """What an admin's text did to the balance (controller/user.go's four forms)."""
    amounts = _amounts(content)
    if "从" in content and len(amounts) == 2:
        return amounts[1] - amounts[0]
    if content.startswith("管理员增加用户额度"):
        return amounts[0]
    if content.startswith("管理员减少用户额度"):
        return -amounts[0]
    return None


def _ledger_totals(sim: Any, user_id: int | None = None) -> dict[str, int]:
    """Top-ups, admin changes, bonuses, refunds and usage over the simulator's logs (one
    user's, or everyone's)."""

    def logs(kind: int) -> list[dict[str, Any]]:
        return [log for log in sim.logs(kind) if user_id in (None, log["user_id"])]

    bonuses = [log for log in logs(4) if not log["content"].startswith("邀请用户赠送")]
    return {
        "topups": sum(_amounts(log["content"])[0] for log in logs(1)),
        "admin_changes": sum(_admin_change(log["content"]) or 0 for log in logs(3)),
        "bonuses": sum(_amounts(log["content"])[0] for log in bonuses),
        "refunds": sum(log["quota"] for log in logs(6)),
        "usage": sum(log["quota"] for log in logs(2)),
    }


def _net(totals: dict[str, int]) -> int:
    """What the logs add to a balance: everything in, less usage."""
    return sum(amount for kind, amount in totals.items() if kind != "usage") - totals["usage"]


def _exact(log: dict[str, Any]) -> Decimal:
    """New API's charge for a simulated log before rounding (no cache: the simulator has none)."""
    other = log["other"]
    ratio = Decimal(str(other["completion_ratio"]))
    tokens = log["prompt_tokens"] + log["completion_tokens"] * ratio
    return tokens * Decimal(str(other["model_ratio"])) * Decimal(str(other["group_ratio"]))


def _rounded_down_tie(log: dict[str, Any]) -> bool:
    """The formula lands on x.5 and the simulator (Python's round) charged x: New API would
    charge x + 1, other versions and forks x."""
    exact = _exact(log)
    return exact % 1 == Decimal("0.5") and log["quota"] == int(exact)


def _add_amount_texts(sim: Any) -> str:
    """Store AMOUNT_TEXTS as the account's newest logs; their second (UTC, as SQL shows it)."""
    added = sim.add_logs(
        [{**ACCOUNT, "type": kind, "content": text} for kind, text, *_ in AMOUNT_TEXTS]
    )
    (second,) = {log["created_at"] for log in added}
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S")


# ---- what the marts must say --------------------------------------------------------------


def _assert_answers(where: list[str], sim: Any) -> None:
    """Every mart against the simulator's logs, days of ``ZONE`` (daily_stats' zone)."""
    usage = sim.logs(2)

    calls = Counter(_day(log) for log in usage)
    rows = query(
        where,
        "sql",
        "SELECT day, sum(calls), sum(quota), sum(cost), min(currency), "
        "max(currency) FROM analytics.mart_usage_daily GROUP BY day ORDER BY day",
    )
    assert {day: n for day, n, *_ in rows} == dict(calls)
    assert sum(row[2] for row in rows) == sum(log["quota"] for log in usage)
    assert sum(row[3] for row in rows) == pytest.approx(sum(row[2] for row in rows) / QUOTA_PER_USD)
    assert {(row[4], row[5]) for row in rows} == {("USD", "USD")}

    errors = query(
        where, "sql", "SELECT day, sum(errors) FROM analytics.mart_errors_daily GROUP BY day"
    )
    assert dict(errors) == dict(Counter(_day(log) for log in sim.logs(5)))

    days = query(
        where,
        "sql",
        "SELECT day, timezone, difference, calls, closed "
        "FROM analytics.mart_reconciliation_daily ORDER BY day",
    )
    assert len(days) >= 3, days
    assert [row[4] for row in days] == [True] * (len(days) - 1) + [False]
    assert {row[1] for row in days} == {ZONE}
    assert all(row[2] == 0 for row in days if row[4]), days
    assert {day: n for day, _, _, n, _ in days if n} == dict(calls)

    # Every log the simulator charged with ratios is 'ok'; the 5% without `other` unchecked.
    checks = query(
        where,
        "sql",
        "SELECT status, reason, count(*) FROM analytics.mart_billing_check GROUP BY status, reason",
    )
    without = sum(1 for log in usage if log["other"] is None)
    ties = sum(1 for log in usage if log["other"] is not None and _rounded_down_tie(log))
    expected = {
        ("ok", "a tie (x.5) rounded down"): ties,
        ("ok", None): len(usage) - without - ties,
        ("unchecked", "no other: the gateway logged no charge inputs"): without,
    }
    assert {(status, reason): n for status, reason, n in checks} == {
        key: n for key, n in expected.items() if n
    }
    daily = query(
        where,
        "sql",
        "SELECT sum(checked), sum(ok), sum(mismatches), sum(unchecked) "
        "FROM analytics.mart_billing_check_daily",
    )
    assert daily == [[len(usage) - without, len(usage) - without, 0, without]]

    # The ledger's sums are the amounts in the logs' texts; its last day meets the snapshot.
    totals = _ledger_totals(sim)
    ledger = query(
        where,
        "sql",
        "SELECT sum(topups), sum(admin_changes), sum(bonuses), "
        "sum(refunds), sum(usage), sum(unparsed_logs) FROM analytics.mart_balance_ledger",
    )
    unparsed = sum(1 for *_, status in AMOUNT_TEXTS if status == "unparsed")
    assert ledger == [[*totals.values(), unparsed]]
    net = _net(totals)
    last = query(
        where,
        "sql",
        "SELECT user_id, running_balance, snapshot_balance, "
        "implied_opening_balance FROM analytics.mart_balance_ledger "
        "WHERE snapshot_balance IS NOT NULL",
    )
    balance = scalar(where, "SELECT quota FROM tap_1688token.account")
    assert last == [[1, net, balance, balance - net]]


def _assert_amount_texts(where: list[str], second: str) -> None:
    read = query(
        where,
        "sql",
        "SELECT content, kind, amount, parse_status FROM analytics_staging.int_balance_events "
        f"WHERE created_at = TIMESTAMP '{second}'",
    )
    expected = [[text, kind, amount, status] for _, text, kind, amount, status in AMOUNT_TEXTS]
    assert sorted(read, key=str) == sorted(expected, key=str)


# ---- the Meltano project -----------------------------------------------------------------


def test_dbt_utilities_are_inline_pinned_and_read_the_loaders_warehouse() -> None:
    duckdb_pin = {
        word
        for word in _plugin("loaders", "target-duckdb")["pip_url"].split()
        if word.startswith("duckdb==")
    }
    for name in ("dbt-duckdb", "dbt-postgres"):
        dbt = _plugin("utilities", name)
        assert dbt["namespace"] and dbt["executable"] == "dbt", name
        pins = dbt["pip_url"].split()
        assert all(re.fullmatch(r"[a-z-]+(~=|==)[0-9.]+", pin) for pin in pins), pins
        assert {"build", "run", "test"} <= set(dbt["commands"]), name
        profiles = Path(dbt["config"]["profiles_dir"].replace("$MELTANO_PROJECT_ROOT", str(ROOT)))
        assert (profiles / "profiles.yml").is_file(), name
    # One DuckDB library on both sides of the file: no storage version it cannot read.
    assert duckdb_pin == {"duckdb==1.2.2"}
    assert duckdb_pin <= set(_plugin("utilities", "dbt-duckdb")["pip_url"].split())
    loader = _plugin("loaders", "target-duckdb")["config"]["filepath"]
    assert _plugin("utilities", "dbt-duckdb")["config"]["path"] == loader
    # …and so they are installed: the writer's and the reader's DuckDB are one version.
    script = "import duckdb; print(duckdb.__version__)"
    versions = {
        subprocess.run(
            [str(ROOT / ".meltano" / kind / name / "venv" / "bin" / "python"), "-c", script],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for kind, name in (("loaders", "target-duckdb"), ("utilities", "dbt-duckdb"))
    }
    assert versions == {"1.2.2"}


# ---- DuckDB ------------------------------------------------------------------------------


def test_duckdb_marts_answer_from_the_load(tmp_path: Path) -> None:
    with simulator() as (sim, base_url):
        second = _add_amount_texts(sim)
        time.sleep(1.1)  # the new logs' second is over before the run starts
        project = Project(tmp_path, base_url)
        done = project.run(
            "tap-1688token", "target-duckdb", "dbt-duckdb:build", TAP_1688TOKEN_STATS_TIMEZONE=ZONE
        )
        where = ["--duckdb", str(tmp_path / "warehouse.duckdb")]
        _assert_answers(where, sim)
    _assert_amount_texts(where, second)
    # The text it cannot read is a warning naming the log, not a silent gap.
    output = "\n".join(done.lines)
    assert re.search(r"balance: amount not read: log_key=\S+, kind=admin_change", output)
    assert re.search(r"Done\. PASS=\d+ WARN=1 ERROR=0", output)


def test_a_wrong_charge_fails_the_build_and_names_the_log(tmp_path: Path) -> None:
    with simulator(days=2, per_day=500) as (sim, base_url):
        honest = next(
            log
            for log in reversed(sim.logs(2))
            if log["other"] is not None and _exact(log) % 1 != Decimal("0.5")
        )
        (wrong,) = sim.add_logs(
            [
                {
                    **{k: v for k, v in honest.items() if k not in ("id", "created_at")},
                    "quota": honest["quota"] + 7,
                }
            ]
        )
        time.sleep(1.1)
        project = Project(tmp_path, base_url)
        done = project.meltano(
            "run", "tap-1688token", "target-duckdb", "dbt-duckdb:build", check=False
        )
    assert done.returncode != 0
    where = ["--duckdb", str(tmp_path / "warehouse.duckdb")]
    found = query(
        where,
        "sql",
        "SELECT log_key, created_at, model_name, token_name, quota, "
        "expected_quota, reason FROM analytics.mart_billing_check WHERE status = 'mismatch'",
    )
    stamp = datetime.fromtimestamp(wrong["created_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert [row[1:] for row in found] == [
        [
            stamp,
            wrong["model_name"],
            wrong["token_name"],
            wrong["quota"],
            honest["quota"],
            "charged 7 quota against the formula",
        ]
    ]
    (log_key,) = (row[0] for row in found)
    output = "\n".join(done.lines)
    assert f"billing: mismatch: log_key={log_key}, created_at={stamp}" in output
    assert "FAIL 1 billing_has_no_mismatches" in output
    assert "reconciliation: a closed day differs" not in output  # the gateway counted it too


def test_site_scope_ledger_meets_every_users_balance(tmp_path: Path) -> None:
    # scope: site: every user's logs, and their balances from the users snapshot.
    with simulator(days=2, per_day=800, users=4) as (sim, base_url):
        project = Project(tmp_path, base_url)
        project.run(
            "tap-1688token", "target-duckdb", "dbt-duckdb:build", TAP_1688TOKEN_SCOPE="site"
        )
        where = ["--duckdb", str(tmp_path / "warehouse.duckdb")]
        ledger = query(
            where,
            "sql",
            "SELECT user_id, sum(topups), sum(admin_changes), sum(bonuses), sum(refunds), "
            "sum(usage), max(snapshot_balance), max(implied_opening_balance) "
            "FROM analytics.mart_balance_ledger GROUP BY user_id ORDER BY user_id",
        )
        users = sorted({log["user_id"] for log in sim.logs()})
        balances = dict(query(where, "sql", "SELECT id, quota FROM tap_1688token.users"))
        assert len(users) == 4
        assert [row[0] for row in ledger] == users
        for user_id, *sums, snapshot, opening in ledger:
            totals = _ledger_totals(sim, user_id)
            assert sums == list(totals.values()), user_id
            opening_balance = balances[user_id] - _net(totals)
            assert (snapshot, opening) == (balances[user_id], opening_balance), user_id
        usage_users = query(
            where, "sql", "SELECT DISTINCT user_id FROM analytics.mart_usage_daily ORDER BY 1"
        )
        assert [user_id for (user_id,) in usage_users] == users


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse target-duckdb loaded from the simulator (UTC days), no dbt yet."""
    tmp = tmp_path_factory.mktemp("loaded")
    with simulator(days=3, per_day=500) as (_sim, base_url):
        Project(tmp, base_url).run("tap-1688token", "target-duckdb")
    return tmp / "warehouse.duckdb"


def _copy(loaded: Path, tmp_path: Path) -> tuple[Project, list[str]]:
    shutil.copy(loaded, tmp_path / "warehouse.duckdb")
    return Project(tmp_path, "http://127.0.0.1:9"), ["--duckdb", str(tmp_path / "warehouse.duckdb")]


def test_a_log_missing_from_the_warehouse_fails_the_reconciliation(
    loaded: Path, tmp_path: Path
) -> None:
    project, where = _copy(loaded, tmp_path)
    table = "tap_1688token.usage_logs"
    ((log_key, quota, created_at),) = query(
        where, "sql", f"SELECT log_key, quota, created_at FROM {table} ORDER BY log_key LIMIT 1"
    )
    duckdb_execute(
        tmp_path / "warehouse.duckdb", f"DELETE FROM {table} WHERE log_key = '{log_key}'"
    )

    done = project.meltano("run", "dbt-duckdb:build", check=False)

    assert done.returncode != 0
    day = created_at[:10]  # UTC: the zone of this load's daily_stats
    differing = query(
        where,
        "sql",
        "SELECT day, difference FROM "
        "analytics.mart_reconciliation_daily WHERE closed AND difference <> 0",
    )
    assert differing == [[day, quota]]
    output = "\n".join(done.lines)
    assert re.search(
        rf"reconciliation: a closed day differs: day={day}, timezone=UTC, gateway_quota=\d+, "
        rf"logs_quota=\d+, difference={quota},",
        output,
    )


def test_a_warehouse_without_the_optional_tables_still_builds(loaded: Path, tmp_path: Path) -> None:
    project, where = _copy(loaded, tmp_path)
    optional = (
        "daily_stats",
        "daily_model_stats",
        "hourly_usage",
        "account",
        "api_keys",
        "gateway",
        "model_prices",
        "users",
        "channels",
        "manage_logs",
        "system_logs",
    )
    for table in optional:
        duckdb_execute(tmp_path / "warehouse.duckdb", f"DROP TABLE tap_1688token.{table}")
    # A table an older tap loaded, without a newer column (copied: its key's index pins it).
    duckdb_execute(
        tmp_path / "warehouse.duckdb",
        "CREATE TABLE tap_1688token.older AS "
        "SELECT * EXCLUDE (billing_source) FROM tap_1688token.usage_logs; "
        "DROP TABLE tap_1688token.usage_logs; "
        "ALTER TABLE tap_1688token.older RENAME TO usage_logs",
    )

    done = project.meltano("run", "dbt-duckdb:build")

    output = "\n".join(done.lines)
    assert '"tap_1688token"."gateway" does not exist; stg_gateway is empty' in output
    assert "lacks billing_source (null in stg_usage_logs)" in output
    # Days fall back to UTC; no gateway snapshot, no cost; nothing to reconcile.
    calls = query(
        where,
        "sql",
        "SELECT day, sum(calls), max(cost), max(currency) "
        "FROM analytics.mart_usage_daily GROUP BY day ORDER BY day",
    )
    utc_days = query(
        where,
        "sql",
        "SELECT CAST(CAST(created_at AS DATE) AS VARCHAR), count(*) "
        "FROM tap_1688token.usage_logs GROUP BY 1 ORDER BY 1",
    )
    assert [[day, n] for day, n, *_ in calls] == utc_days
    assert {(cost, currency) for *_, cost, currency in calls} == {(None, None)}
    assert scalar(where, "SELECT count(*) FROM analytics.mart_reconciliation_daily") == 0
    assert (
        scalar(
            where,
            "SELECT count(*) FROM analytics.mart_balance_ledger WHERE snapshot_balance IS NOT NULL",
        )
        == 0
    )


# ---- PostgreSQL --------------------------------------------------------------------------


def test_postgres_marts_answer_from_the_load(tmp_path: Path) -> None:
    port = postgres_port()
    with simulator() as (sim, base_url), postgres_database(port) as dsn:
        second = _add_amount_texts(sim)
        time.sleep(1.1)
        project = Project(tmp_path, base_url)
        project.env.update(postgres_env(port, dsn))
        project.run(
            "tap-1688token",
            "target-postgres",
            "dbt-postgres:build",
            TAP_1688TOKEN_STATS_TIMEZONE=ZONE,
        )
        where = ["--postgres", dsn]
        _assert_answers(where, sim)
        _assert_amount_texts(where, second)
