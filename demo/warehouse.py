"""What the demo asks the warehouse: rows per table and per load, and the dbt marts' answers
(usage and cost per day and model, the daily reconciliation), on DuckDB or PostgreSQL.

The answers themselves (days in daily_stats' zone, costs in the gateway's currency, the
reconciliation) are computed once, by the dbt project in transform/; this reads them.
"""

# ruff: noqa: S608 - SQL is built from this module's constants and a zone read from the table

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import duckdb
import psycopg

from tap_1688token.logtypes import LOG_STREAMS

SCHEMA = "tap_1688token"
STATS_TABLE = "daily_stats"
#: when target-duckdb (with add_metadata_columns) loaded a row, or upserted it again
LOADED_AT = "_sdc_batched_at"
#: the dbt project's marts (transform/): the answers are read there, not computed here
MARTS = "analytics"


class Warehouse(Protocol):
    dialect: str

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...

    def tables(self) -> set[str]: ...


class _Connected:
    """What both warehouses share: the schema's tables and closing."""

    con: Any

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def tables(self) -> set[str]:
        found = self.rows(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{SCHEMA}'"
        )
        return {name for (name,) in found}

    def close(self) -> None:
        self.con.close()


class DuckDB(_Connected):
    dialect = "duckdb"

    def __init__(self, path: str) -> None:
        self.con = duckdb.connect(path, read_only=True)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self.con.execute(sql)
        return cursor.fetchall() if cursor.description else []


class Postgres(_Connected):
    dialect = "postgres"

    def __init__(self, dsn: str) -> None:
        self.con = psycopg.connect(dsn, autocommit=True)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.con.cursor() as cur:
            cur.execute(sql)  # type: ignore[call-overload]
            return cur.fetchall() if cur.description else []


def table_counts(db: Warehouse) -> dict[str, int]:
    present = db.tables()
    return {
        table: db.rows(f"SELECT count(*) FROM {SCHEMA}.{table}")[0][0]
        for table in (*LOG_STREAMS, STATS_TABLE)
        if table in present
    }


def _stamp(moment: datetime.datetime) -> str:
    """SQL: a timestamp literal for a naive UTC or local moment, as the columns hold them."""
    return f"TIMESTAMP '{moment.isoformat(sep=' ')}'"


def stamped_tables(db: Warehouse) -> list[str]:
    """The log and stats tables that carry the load-time column."""
    found = db.rows(
        "SELECT table_name FROM information_schema.columns "
        f"WHERE table_schema = '{SCHEMA}' AND column_name = '{LOADED_AT}'"
    )
    stamped = {name for (name,) in found}
    return [table for table in (*LOG_STREAMS, STATS_TABLE) if table in stamped]


def last_load(db: Warehouse) -> datetime.datetime | None:
    """The newest load time in the warehouse: rows stamped later came with a later run."""
    tables = stamped_tables(db)
    if not tables:
        return None
    stamps = " UNION ALL ".join(f"SELECT max({LOADED_AT}) AS t FROM {SCHEMA}.{t}" for t in tables)
    newest = db.rows(f"SELECT max(t) FROM ({stamps}) AS stamps")[0][0]
    return newest if isinstance(newest, datetime.datetime) else None


def loaded_since(
    db: Warehouse,
    since: datetime.datetime | None,
    older_than: Mapping[str, datetime.datetime] | None = None,
) -> dict[str, int]:
    """Rows per table that a run loaded, or loaded again: stamped after ``since`` (any
    stamp when None). With ``older_than``, only those tables' rows created before it."""
    out = {}
    for table in stamped_tables(db):
        where = [f"{LOADED_AT} > {_stamp(since)}" if since else f"{LOADED_AT} IS NOT NULL"]
        if older_than is not None:
            if table not in older_than:
                continue
            where.append(f"created_at < {_stamp(older_than[table])}")
        sql = f"SELECT count(*) FROM {SCHEMA}.{table} WHERE {' AND '.join(where)}"
        out[table] = db.rows(sql)[0][0]
    return out


def rows_at(db: Warehouse, moments: Mapping[str, datetime.datetime]) -> dict[str, int]:
    """Rows of each table created in the given second (e.g. its bookmark's)."""
    present = db.tables()
    return {
        table: db.rows(
            f"SELECT count(*) FROM {SCHEMA}.{table} WHERE created_at = {_stamp(moment)}"
        )[0][0]
        for table, moment in moments.items()
        if table in present
    }


def distinct_keys(db: Warehouse) -> dict[str, int]:
    """Distinct log_key per log table: its rows, when each log is there once."""
    present = db.tables()
    return {
        table: db.rows(f"SELECT count(DISTINCT log_key) FROM {SCHEMA}.{table}")[0][0]
        for table in LOG_STREAMS
        if table in present
    }


def distinct_ids(db: Warehouse, table: str = "usage_logs") -> int:
    """Distinct server ids in a log table (fewer than its rows when the server reuses ids)."""
    return db.rows(f"SELECT count(DISTINCT id) FROM {SCHEMA}.{table}")[0][0]


def usage_daily(db: Warehouse) -> list[tuple[Any, ...]]:
    """(day, model, calls, prompt tokens, completion tokens, quota, cost, currency) from the
    dbt mart (transform/), summed over keys and users."""
    return db.rows(
        f"""
        SELECT CAST(day AS VARCHAR), coalesce(model_name, ''), sum(calls),
               sum(prompt_tokens), sum(completion_tokens), sum(quota),
               round(CAST(sum(cost) AS NUMERIC), 2), min(currency)
        FROM {MARTS}.mart_usage_daily
        GROUP BY 1, 2
        ORDER BY 1, 2
        """
    )


def reconciliation(db: Warehouse) -> list[tuple[Any, ...]]:
    """Per day (dbt's mart): (day, zone, the gateway's quota, the usage logs' quota,
    difference, calls, models differing, closed)."""
    return db.rows(
        f"""
        SELECT CAST(day AS VARCHAR), timezone, gateway_quota, logs_quota, difference, calls,
               models_differing, closed
        FROM {MARTS}.mart_reconciliation_daily
        ORDER BY 1
        """
    )


def users_vs_logs(db: Warehouse) -> list[tuple[Any, ...]]:
    """Per user (scope site): id, name, balance, the gateway's used_quota, the quota of
    their usage logs, the gateway's request_count, and their usage logs."""
    return db.rows(
        f"""
        SELECT u.id, u.username, u.quota, u.used_quota, coalesce(l.quota, 0), u.request_count,
               coalesce(l.calls, 0)
        FROM {SCHEMA}.users u
        LEFT JOIN (SELECT user_id, sum(quota) AS quota, count(*) AS calls
                   FROM {SCHEMA}.usage_logs GROUP BY user_id) l ON l.user_id = u.id
        ORDER BY u.id
        """
    )


def channels_vs_logs(db: Warehouse) -> list[tuple[Any, ...]]:
    """Per channel (scope site): id, name, the gateway's used_quota, the quota of the usage
    logs relayed through it, and its upstream balance."""
    return db.rows(
        f"""
        SELECT c.id, c.name, c.used_quota, coalesce(l.quota, 0), c.balance
        FROM {SCHEMA}.channels c
        LEFT JOIN (SELECT channel, sum(quota) AS quota
                   FROM {SCHEMA}.usage_logs GROUP BY channel) l ON l.channel = c.id
        ORDER BY c.id
        """
    )


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table; numbers right-aligned with thousands separators."""

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.2f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        if hasattr(value, "is_integer") and hasattr(value, "quantize"):  # Decimal
            return f"{float(value):,.2f}"
        return str(value)

    text = [[cell(v) for v in row] for row in rows]

    def is_number(value: Any) -> bool:
        return isinstance(value, (int, float)) or hasattr(value, "quantize")

    numeric = [
        any(row[i] is not None for row in rows)
        and all(is_number(row[i]) for row in rows if row[i] is not None)
        for i in range(len(headers))
    ]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if numeric[i] else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in text)])
