"""Ask a warehouse the demo's questions, or any SQL, from the command line.

    .tools/venv/bin/python -m demo.query counts
    .tools/venv/bin/python -m demo.query reconcile
    .tools/venv/bin/python -m demo.query --postgres postgresql://postgres@127.0.0.1:54329/db \\
        sql "SELECT model_name, sum(quota) FROM tap_1688token.usage_logs GROUP BY 1"

Default warehouse: output/warehouse.duckdb. `--json` prints the rows as JSON (for the tests).
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from demo import warehouse as wh

DEFAULT_DUCKDB = Path(__file__).resolve().parent.parent / "output" / "warehouse.duckdb"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo.query", description=__doc__)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--duckdb", default=None, help=f"file (default: {DEFAULT_DUCKDB})")
    where.add_argument("--postgres", default=None, help="DSN, e.g. postgresql://user@host/db")
    parser.add_argument("--json", action="store_true", help="rows as JSON")
    parser.add_argument("report", choices=("counts", "reconcile", "usage", "sql"))
    parser.add_argument("sql", nargs="?", help="the query, for `sql`")
    args = parser.parse_args(argv)

    db: wh.DuckDB | wh.Postgres
    db = (
        wh.Postgres(args.postgres)
        if args.postgres
        else wh.DuckDB(args.duckdb or str(DEFAULT_DUCKDB))
    )
    try:
        if args.report == "counts":
            headers, rows = ["table", "rows"], [list(i) for i in wh.table_counts(db).items()]
        elif args.report == "reconcile":
            headers = ["day", "zone", "gateway", "usage_logs", "difference", "calls", "models"]
            headers.append("closed")
            rows = wh.reconciliation(db)
        elif args.report == "usage":
            headers = ["day", "model", "calls", "prompt", "completion", "quota", "cost"]
            headers.append("currency")
            rows = wh.usage_daily(db)
        else:
            if not args.sql:
                parser.error("sql needs a query")
            rows = db.rows(args.sql)
            headers = [f"c{i}" for i in range(len(rows[0]))] if rows else []
    finally:
        db.close()
    plain = [[_plain(v) for v in row] for row in rows]
    if args.json:
        print(json.dumps({"headers": headers, "rows": plain}))
    else:
        print(wh.format_table(headers, plain))


if __name__ == "__main__":
    main()
