"""The warehouse as a page to look at: `output/report.html`, one file that opens offline.

    .tools/venv/bin/python -m demo.report --duckdb output/warehouse.duckdb --out output/report.html

It reads the dbt marts (`mart_usage_daily`, `mart_reconciliation_daily`,
`mart_billing_check_daily`, `mart_errors_daily`) and draws cost per day by model, the top API
keys, each day's reconciliation (the gateway's own total against the summed logs) and billing
check, and errors per day, each above the plain table of its figures. plotly.js comes from the
plotly wheel and is written into the page once, so nothing is fetched when it is opened. A mart
that is missing, empty, lacks a column or holds a value of another type (text for a count) is
named in its section; the rest is drawn.

`render(marts, ...)` is the pure part (rows in, HTML out); `write_report(...)` reads a DuckDB
file and writes the page; the CLI wraps that.
"""

# ruff: noqa: S608 - SQL names only quoted identifiers: a schema the caller chose and our marts

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import plotly
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from demo.warehouse import SCHEMA as RAW_SCHEMA

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DUCKDB = ROOT / "output" / "warehouse.duckdb"
DEFAULT_OUT = ROOT / "output" / "report.html"

Rows = list[dict[str, Any]]

#: the marts and the columns the report reads from each (the dbt project's contract)
MARTS: dict[str, tuple[str, ...]] = {
    "mart_usage_daily": (
        "day",
        "model_name",
        "token_name",
        "user_id",
        "username",
        "calls",
        "prompt_tokens",
        "completion_tokens",
        "quota",
        "cost",
        "currency",
    ),
    "mart_reconciliation_daily": (
        "day",
        "timezone",
        "gateway_quota",
        "logs_quota",
        "difference",
        "calls",
        "closed",
    ),
    "mart_billing_check_daily": ("day", "checked", "ok", "mismatches", "unchecked"),
    "mart_errors_daily": ("day", "model_name", "token_name", "errors"),
}
_NUMBERS = "calls prompt_tokens completion_tokens quota cost gateway_quota logs_quota difference"
_COUNTS = "checked ok mismatches unchecked errors"
#: what a column must hold for the report to read it; the others are shown as text
_KIND = {
    "day": "a date",
    "closed": "true or false",
    **dict.fromkeys(f"{_NUMBERS} {_COUNTS}".split(), "a number"),
}
#: where dbt-duckdb puts them by default, then the tap's own schema (a profile may point there)
SCHEMAS = ("analytics", "main", RAW_SCHEMA)
TOP_KEYS = 10
#: rows of the keys table; the rest are counted under it
KEYS_LISTED = 50

DAY_MS = 86_400_000  # a date axis counts milliseconds

GREEN, RED, GREY, AMBER, BLUE = "#2e7d32", "#c62828", "#9e9e9e", "#ef6c00", "#1565c0"
#: models' colours: plotly's, then D3's and more, before they repeat
PALETTE = (*qualitative.Plotly, *qualitative.D3, *qualitative.Alphabet)
#: a reconciled day's status: its label and colour, closed days green or red
STATUSES = {
    "agrees": ("closed, agrees", GREEN),
    "differs": ("closed, differs", RED),
    "open": ("open (still counting)", GREY),
    "no total": ("no gateway total", AMBER),
}


# -- reading ----------------------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    found = con.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_catalog = current_database() AND table_schema = ?",
        [schema],
    ).fetchall()
    return {name for (name,) in found}


def find_schema(con: duckdb.DuckDBPyConnection) -> str:
    """The first of SCHEMAS that holds any mart (the first when none does)."""
    for schema in SCHEMAS:
        if _tables(con, schema) & MARTS.keys():
            return schema
    return SCHEMAS[0]


def read_marts(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, Rows | None]:
    """Every row of each mart as a dict by column name; None for a mart the schema lacks."""
    present = _tables(con, schema)
    marts: dict[str, Rows | None] = {}
    for name in MARTS:
        if name not in present:
            marts[name] = None
            continue
        cursor = con.execute(f"SELECT * FROM {_ident(schema)}.{_ident(name)}")
        columns = [d[0] for d in cursor.description or ()]
        marts[name] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return marts


def read_gateway(con: duckdb.DuckDBPyConnection) -> str | None:
    """The gateway's name and address as its latest `gateway` snapshot has them, if loaded."""
    if "gateway" not in _tables(con, RAW_SCHEMA):
        return None
    columns = {
        name
        for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_catalog = current_database() AND table_schema = ?"
            " AND table_name = 'gateway'",
            [RAW_SCHEMA],
        ).fetchall()
    }
    if not {"system_name", "base_url", "snapshot_at"} <= columns:
        return None
    row = con.execute(
        f"SELECT system_name, base_url FROM {_ident(RAW_SCHEMA)}.gateway"
        " ORDER BY snapshot_at DESC NULLS LAST LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    name, url = row
    return " · ".join(str(part) for part in (name, url) if part) or None


def write_report(
    duckdb_file: Path | str,
    out: Path | str = DEFAULT_OUT,
    schema: str | None = None,
    gateway: str | None = None,
) -> Path:
    """Read the marts from a DuckDB file (read-only) and write the report; its path.

    ``schema`` None: the first of SCHEMAS holding a mart. ``gateway`` None: from the loaded
    `gateway` snapshot, if any.
    """
    duckdb_file = Path(duckdb_file)
    if not duckdb_file.is_file():
        raise FileNotFoundError(f"no DuckDB file at {duckdb_file}")
    con = duckdb.connect(str(duckdb_file), read_only=True)
    try:
        schema = schema or find_schema(con)
        marts = read_marts(con, schema)
        gateway = gateway or read_gateway(con)
    finally:
        con.close()
    page = render(
        marts,
        gateway=gateway,
        source=f"{duckdb_file.name}, schema {schema}",
        generated_at=datetime.now(UTC),
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


# -- values -----------------------------------------------------------------------------------


def _day(value: Any) -> str:
    """A mart's day as ISO text (DuckDB gives dates, or timestamps if a model casts so; rows
    made by hand may give text)."""
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def _num(value: Any) -> float:
    """A figure as a float; NULL counts as 0 (sums of nothing)."""
    return 0.0 if value is None else float(value)


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _fmt(value: Any, decimals: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (float, Decimal)):
        return f"{float(value):,.{decimals}f}"
    return str(value)


def _decimals(values: Iterable[float]) -> int:
    """2, or 4 when a value would read 0.00 (a few calls of a cheap model)."""
    return 4 if any(0 < abs(v) < 0.01 for v in values) else 2


def _label(text: Any) -> str:
    """A name as plotly shows it: its labels read HTML tags and entities, names should not."""
    return html.escape(str(text), quote=False)


def _problem(name: str, rows: Rows | None) -> str | None:
    """Why a mart cannot be shown, or None: missing, empty, a column lacking, or a value of
    another type than the contract's (the first one found)."""
    if rows is None:
        return f"{name} is not in the warehouse: this section is left empty."
    if not rows:
        return f"{name} has no rows."
    lacking = [c for c in MARTS[name] if c not in rows[0]]
    if lacking:
        return f"{name} lacks column{'s' if len(lacking) > 1 else ''} {', '.join(lacking)}."
    for row in rows:
        for column in MARTS[name]:
            value = row[column]
            if value is not None and not _fits(column, value):
                return f"{name}.{column} holds {value!r}, not {_KIND.get(column, 'text')}."
    return None


def _fits(column: str, value: Any) -> bool:
    kind = _KIND.get(column)
    if kind == "a number":
        return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    if kind == "a date":
        try:
            date.fromisoformat(_day(value))
        except ValueError:
            return False
        return True
    if kind == "true or false":
        return isinstance(value, bool)
    return True  # names and zones: shown as text, whatever they hold


def model_colours(marts: Mapping[str, Rows]) -> dict[str, str]:
    """One colour per model on every chart: the most used first, then the rest by name."""
    usage = marts.get("mart_usage_daily") or []
    weight: dict[str, float] = defaultdict(float)
    for r in usage:
        weight[r["model_name"] or "(no model)"] += _num(r["quota"])
    errors = marts.get("mart_errors_daily") or []
    others = {str(r["model_name"] or "(no model)") for r in errors} - weight.keys()
    ranked = sorted(weight, key=lambda m: (-weight[m], m)) + sorted(others)
    return {model: PALETTE[i % len(PALETTE)] for i, model in enumerate(ranked)}


# -- HTML pieces ------------------------------------------------------------------------------


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    row_class: Callable[[Sequence[Any]], str] | None = None,
    decimals: int = 2,
) -> str:
    """A plain table: text left, numbers right; `row_class` marks rows (e.g. a red day)."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{_esc(_fmt(v, decimals))}</td>'
            if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)
            else f"<td>{_esc(_fmt(v))}</td>"
            for v in row
        )
        cls = row_class(row) if row_class else ""
        body.append(f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _chart(chart_id: str, figure: go.Figure) -> str:
    # An id safe in HTML and in a JS string alike (one is made from a currency's name).
    chart_id = re.sub(r"[^A-Za-z0-9_-]", "_", chart_id)
    # plotly's JSON escapes <, > and / inside strings: a model or key name cannot end the script.
    return (
        f'<div class="chart" id="{chart_id}"></div>'
        f'<script>draw("{chart_id}", {figure.to_json()});</script>'
    )


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _layout(figure: go.Figure, title: str, y_title: str, days: int | None = None) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0},
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        yaxis_title=y_title,
        legend={"orientation": "h", "y": -0.15},
        hoverlabel={"namelength": -1},
    )
    if days is not None:
        # A tick per day while they fit; a date axis keeps days without rows visible as gaps.
        figure.update_xaxes(type="date", tickformat="%b %d", dtick=DAY_MS if days <= 16 else None)
        # Bars as wide as most of a day: plotly sizes a date bar from its trace's own spacing,
        # which a trace of one day (the one red day) does not have: it would be drawn 0 wide.
        figure.update_traces(width=0.8 * DAY_MS, selector={"type": "bar"})
    return figure


def _two_panels() -> go.Figure:
    """Totals above, the exceptions below on a scale of their own (a difference of 1,500 on a
    day of 300,000, one mismatch among 200 logs: too small to see on the totals' scale)."""
    return make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.08
    )


# -- sections ---------------------------------------------------------------------------------


def _cost_section(rows: Rows, colours: Mapping[str, str]) -> str:
    """Cost per day stacked by model, per currency; quota when no row has a price."""
    priced = [r for r in rows if r["cost"] is not None]
    parts = []
    if priced:
        unpriced = [r for r in rows if r["cost"] is None]
        if unpriced:
            calls = sum(_int(r["calls"]) for r in unpriced)
            models = ", ".join(sorted({str(r["model_name"] or "(no model)") for r in unpriced}))
            parts.append(
                _note(
                    f"{len(unpriced):,} rows ({calls:,} calls) have no cost (no price known for"
                    f" {models}): left out of the chart and the table."
                )
            )
        by_currency: dict[str, Rows] = defaultdict(list)
        for r in priced:
            by_currency[r["currency"] or "(no currency)"].append(r)
        for currency, group in sorted(by_currency.items()):
            parts.append(_stacked(group, "cost", currency, f"cost-{currency}", colours))
    else:
        parts.append(_note("No row has a cost (no prices known): quota per day by model instead."))
        parts.append(_stacked(rows, "quota", "quota", "cost-quota", colours))
    return "".join(parts)


def _stacked(
    rows: Rows,
    field: str,
    unit: str,
    chart_id: str,
    colours: Mapping[str, str],
    *,
    integer: bool = False,
) -> str:
    """Per day stacked by model: the chart, then the table (a row per day, a column per model)."""
    read: Callable[[Any], float] = _int if integer else _num
    sums: dict[tuple[str, str], float] = defaultdict(int if integer else float)
    for r in rows:
        sums[_day(r["day"]), r["model_name"] or "(no model)"] += read(r[field])
    days = sorted({d for d, _ in sums})
    per_model: dict[str, float] = defaultdict(int if integer else float)
    for (_, model), value in sums.items():
        per_model[model] += value
    # The largest at the bottom of each stack.
    models = sorted(per_model, key=lambda m: (-per_model[m], m))
    decimals = 0 if integer else _decimals(sums.values())
    figure = go.Figure()
    for model in models:
        xs = [d for d in days if (d, model) in sums]
        figure.add_bar(
            name=_label(model),
            x=xs,
            y=[sums[d, model] for d in xs],
            marker_color=colours.get(model),
            hovertemplate=f"%{{fullData.name}}: %{{y:,.{decimals}f}} {unit}<extra>%{{x}}</extra>",
        )
    figure.update_layout(barmode="stack")
    title = f"{field.capitalize()} per day by model" + (f" ({unit})" if unit != field else "")
    _layout(figure, title, unit, len(days))
    table_rows = [
        [d, *(sums.get((d, m)) for m in models), sum(sums.get((d, m), 0) for m in models)]
        for d in days
    ]
    table_rows.append(["total", *(per_model[m] for m in models), sum(per_model.values())])
    table = _table(["day", *models, f"total ({unit})"], table_rows, decimals=decimals)
    return _chart(f"chart-{chart_id}", figure) + table


def _keys_section(rows: Rows, colours: Mapping[str, str]) -> str:
    """The top API keys by cost and by calls, side by side, and the figures of every key."""
    users = {r["user_id"] for r in rows}
    keys: dict[tuple[Any, str], dict[str, Any]] = {}
    for r in rows:
        name = r["token_name"] or "(no key name)"
        user = r["username"] or r["user_id"]
        key = keys.setdefault(
            (r["user_id"], name),
            # Site scope: two users may name their keys alike, so the label names the user.
            {"label": f"{name} · {user}" if len(users) > 1 else name, "user": user},
        )
        key["calls"] = key.get("calls", 0) + _int(r["calls"])
        key["prompt"] = key.get("prompt", 0) + _int(r["prompt_tokens"])
        key["completion"] = key.get("completion", 0) + _int(r["completion_tokens"])
        key["quota"] = key.get("quota", 0) + _int(r["quota"])
        if r["cost"] is not None:
            key["cost"] = key.get("cost", 0.0) + float(r["cost"])
    # Ranked by cost when costs add up (one currency), else by quota, the gateway's own unit.
    currencies = {r["currency"] for r in rows if r["cost"] is not None}
    single = len(currencies) == 1 and None not in currencies
    measure, unit = ("cost", currencies.pop()) if single else ("quota", "quota")
    ranked = sorted(keys.values(), key=lambda k: (-k.get(measure, 0), -k["calls"], k["label"]))
    by_calls = sorted(keys.values(), key=lambda k: (-k["calls"], k["label"]))
    charts = [
        _top_chart(f"chart-keys-{measure}", ranked, measure, f"Top keys by {measure} ({unit})"),
        _top_chart("chart-keys-calls", by_calls, "calls", "Top keys by calls"),
    ]
    listed = ranked[:KEYS_LISTED]
    headers = ["key", "user", "calls", "prompt tokens", "completion tokens", "quota"]
    fields = ["label", "user", "calls", "prompt", "completion", "quota"]
    if measure == "cost":
        headers.append(f"cost ({unit})")
        fields.append("cost")
    table = _table(
        headers,
        [[k.get(f) for f in fields] for k in listed],
        decimals=_decimals(k.get("cost", 0.0) for k in listed),
    )
    more = len(keys) - len(listed)
    tail = _note(f"{more:,} more keys, with less {measure}, are not listed.") if more > 0 else ""
    return f'<div class="pair">{"".join(charts)}</div>{table}{tail}'


def _top_chart(chart_id: str, ranked: list[dict[str, Any]], field: str, title: str) -> str:
    top = [k for k in ranked if k.get(field)][:TOP_KEYS]
    figure = go.Figure()
    figure.add_bar(
        name=field,
        orientation="h",
        y=[_label(k["label"]) for k in top],
        x=[k[field] for k in top],
        marker_color=BLUE,
        hovertemplate="%{y}: %{x:,}<extra></extra>",
    )
    _layout(figure, title, "")
    figure.update_layout(showlegend=False, height=max(260, 60 + 28 * len(top)))
    figure.update_yaxes(autorange="reversed", automargin=True)  # the largest on top
    return _chart(chart_id, figure)


def _status(row: Mapping[str, Any]) -> str:
    if not row["closed"]:
        return "open"
    if row["difference"] is None:
        return "no total"
    return "agrees" if _num(row["difference"]) == 0 else "differs"


def _reconciliation_section(rows: Rows, colours: Mapping[str, str]) -> str:
    """Above, each day's gateway total as a bar coloured by status and the summed logs as a
    marker; below, the difference."""
    rows = sorted(rows, key=lambda r: _day(r["day"]))
    figure = _two_panels()
    for status, (label, colour) in STATUSES.items():
        group = [r for r in rows if _status(r) == status]
        if not group:
            continue
        figure.add_bar(
            name=label,
            legendgroup=status,
            x=[_day(r["day"]) for r in group],
            # A day the gateway has no total for stands at its logs' height, to be seen.
            y=[_num(_coalesce(r["gateway_quota"], r["logs_quota"])) for r in group],
            marker_color=colour,
            customdata=[
                [_fmt(r[c]) for c in ("gateway_quota", "logs_quota", "difference")] for r in group
            ],
            hovertemplate=(
                "gateway %{customdata[0]}<br>summed logs %{customdata[1]}"
                f"<br>difference %{{customdata[2]}}<extra>%{{x}} · {label}</extra>"
            ),
            row=1,
            col=1,
        )
    figure.add_scatter(
        name="summed logs",
        mode="markers",
        x=[_day(r["day"]) for r in rows],
        y=[_num(r["logs_quota"]) for r in rows],
        marker={"symbol": "diamond", "color": "#212121", "size": 8},
        hovertemplate="summed logs %{y:,}<extra>%{x}</extra>",
        row=1,
        col=1,
    )
    figure.add_bar(
        name="difference",
        showlegend=False,
        x=[_day(r["day"]) for r in rows],
        y=[_num(r["difference"]) for r in rows],
        marker_color=[STATUSES[_status(r)][1] for r in rows],
        text=[f"{_num(r['difference']):+,.0f}" if _num(r["difference"]) else "" for r in rows],
        textposition="outside",
        cliponaxis=False,
        hovertemplate="difference %{y:+,}<extra>%{x}</extra>",
        row=2,
        col=1,
    )
    figure.update_layout(barmode="overlay", height=460)
    zones = sorted({str(r["timezone"]) for r in rows})
    _layout(
        figure,
        f"The gateway's daily total against the summed logs (days in {', '.join(zones)})",
        "quota",
        len(rows),
    )
    figure.update_yaxes(title_text="difference", zeroline=True, row=2, col=1)
    counts = Counter(_status(r) for r in rows)
    summary = "; ".join(f"{counts[s]} {STATUSES[s][0]}" for s in STATUSES if counts[s])
    table = _table(
        ["day", "timezone", "gateway quota", "summed logs quota", "difference", "calls", "status"],
        [
            [
                _day(r["day"]),
                r["timezone"],
                r["gateway_quota"],
                r["logs_quota"],
                r["difference"],
                r["calls"],
                STATUSES[_status(r)][0],
            ]
            for r in rows
        ],
        row_class=lambda row: {"closed, differs": "bad", "closed, agrees": "good"}.get(row[-1], ""),
    )
    return _note(f"Days: {summary}.") + _chart("chart-reconciliation", figure) + table


def _billing_section(rows: Rows, colours: Mapping[str, str]) -> str:
    """Per day the usage logs checked ok or not checked above, the mismatches below."""
    rows = sorted(rows, key=lambda r: _day(r["day"]))
    figure = _two_panels()
    for field, colour, row in (("ok", GREEN, 1), ("unchecked", GREY, 1), ("mismatches", RED, 2)):
        # Only days with some: a zero-height bar is nothing to see or hover.
        group = [r for r in rows if _int(r[field])]
        figure.add_bar(
            name=field,
            x=[_day(r["day"]) for r in group],
            y=[_int(r[field]) for r in group],
            marker_color=colour,
            text=[f"{_int(r[field]):,}" for r in group] if field == "mismatches" else None,
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"%{{y:,}} {field}<extra>%{{x}}</extra>",
            row=row,
            col=1,
        )
    figure.update_layout(barmode="stack", height=460)
    _layout(figure, "Billing check per day (usage logs)", "logs", len(rows))
    mismatches = sum(_int(r["mismatches"]) for r in rows)
    # Without any the lower panel would scale itself to -1..1 around nothing.
    figure.update_yaxes(
        title_text="mismatches",
        rangemode="tozero",
        range=None if mismatches else [0, 1],
        row=2,
        col=1,
    )
    table = _table(
        ["day", "checked", "ok", "mismatches", "unchecked"],
        [[_day(r["day"]), r["checked"], r["ok"], r["mismatches"], r["unchecked"]] for r in rows],
        row_class=lambda row: "bad" if _int(row[3]) else "",
    )
    return _chart("chart-billing", figure) + table


def _errors_section(rows: Rows, colours: Mapping[str, str]) -> str:
    """Failed calls per day stacked by model."""
    return _stacked(rows, "errors", "errors", "errors", colours, integer=True)


# -- the page ---------------------------------------------------------------------------------


def _period(usable: Mapping[str, Rows]) -> tuple[str, str] | None:
    days = [_day(r["day"]) for rows in usable.values() for r in rows if r["day"] is not None]
    return (min(days), max(days)) if days else None


def _header(
    usable: Mapping[str, Rows], gateway: str | None, source: str, generated_at: datetime
) -> str:
    """The gateway, the period, the totals and what the checks found (from the marts that
    can be read; the others say why in their sections)."""
    facts: list[tuple[str, str]] = [("gateway", gateway or "(not recorded in the warehouse)")]
    period = _period(usable)
    if period:
        first, last = period
        span = (date.fromisoformat(last) - date.fromisoformat(first)).days + 1
        facts.append(("period", f"{first} to {last} ({span} days)"))
    if usage := usable.get("mart_usage_daily"):
        costs: dict[str, float] = defaultdict(float)
        for r in usage:
            if r["cost"] is not None:
                costs[r["currency"] or "(no currency)"] += float(r["cost"])
        places = _decimals(costs.values())
        prompt = sum(_int(r["prompt_tokens"]) for r in usage)
        completion = sum(_int(r["completion_tokens"]) for r in usage)
        models = len({r["model_name"] for r in usage})
        keys = len({(r["user_id"], r["token_name"]) for r in usage})
        facts += [
            ("calls", _fmt(sum(_int(r["calls"]) for r in usage))),
            ("tokens", f"{prompt:,} prompt, {completion:,} completion"),
            ("cost", "; ".join(f"{v:,.{places}f} {c}" for c, v in sorted(costs.items()))),
            ("currency", ", ".join(sorted(costs)) or "none: no prices known"),
            ("quota", f"{sum(_num(r['quota']) for r in usage):,.0f}"),
            ("models, keys", f"{models}, {keys}"),
        ]
    if recon := usable.get("mart_reconciliation_daily"):
        days = Counter(_status(r) for r in recon)
        text = f"{days['agrees']} closed days agree, {days['differs']} differ, {days['open']} open"
        facts.append(("reconciliation", text))
    if billing := usable.get("mart_billing_check_daily"):
        ok, bad, unchecked = (
            sum(_int(r[f]) for r in billing) for f in ("ok", "mismatches", "unchecked")
        )
        facts.append(("billing check", f"{ok:,} ok, {bad:,} mismatches, {unchecked:,} unchecked"))
    if errors := usable.get("mart_errors_daily"):
        facts.append(("errors", f"{sum(_int(r['errors']) for r in errors):,}"))
    stamp = generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts.append(("source", f"{source}; written {stamp}"))
    items = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in facts if v)
    return f"<header><h1>API usage report</h1><dl>{items}</dl></header>"


#: (section id, title, mart, what draws it)
SECTIONS: tuple[tuple[str, str, str, Callable[[Rows, Mapping[str, str]], str]], ...] = (
    ("cost", "Cost per day, by model", "mart_usage_daily", _cost_section),
    ("keys", "Top API keys", "mart_usage_daily", _keys_section),
    (
        "reconciliation",
        "Reconciliation per day",
        "mart_reconciliation_daily",
        _reconciliation_section,
    ),
    ("billing", "Billing check per day", "mart_billing_check_daily", _billing_section),
    ("errors", "Errors per day, by model", "mart_errors_daily", _errors_section),
)

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #212121;
       margin: 0 auto; max-width: 1200px; padding: 1.5rem; }
h1 { margin: 0 0 .5rem; } h2 { margin: 2.5rem 0 .5rem; border-bottom: 1px solid #ddd; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
dt { color: #616161; } dd { margin: 0; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
@media (max-width: 800px) { .pair { grid-template-columns: 1fr; } }
table { border-collapse: collapse; margin: .75rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: .2rem .6rem; border-bottom: 1px solid #eee; text-align: left; }
th { background: #fafafa; } td.num { text-align: right; }
tr.bad td { background: #ffebee; color: #b71c1c; } tr.good td:last-child { color: #2e7d32; }
.note { color: #616161; font-style: italic; } .missing { color: #b71c1c; }
"""

# Draws one figure; a chart that fails says so in its place instead of leaving a blank.
_DRAW = """
function draw(id, figure) {
  var el = document.getElementById(id);
  function failed(e) { el.className += " missing"; el.textContent = "This chart failed: " + e; }
  var config = {displaylogo: false, responsive: true};
  try { Plotly.newPlot(el, figure.data, figure.layout, config).catch(failed); }
  catch (e) { failed(e); }
}
"""


def render(
    marts: Mapping[str, Rows | None],
    *,
    gateway: str | None = None,
    source: str = "",
    generated_at: datetime | None = None,
) -> str:
    """The report as one HTML page: rows of each mart (None: missing) in, the page out."""
    problems = {name: _problem(name, marts.get(name)) for name in MARTS}
    usable = {name: list(marts[name] or []) for name, problem in problems.items() if not problem}
    colours = model_colours(usable)
    sections = []
    for section_id, title, mart, draw in SECTIONS:
        body = (
            draw(usable[mart], colours)
            if mart in usable
            else f'<p class="missing">{_esc(problems[mart])}</p>'
        )
        sections.append(f'<section id="{section_id}"><h2>{_esc(title)}</h2>{body}</section>')
    header = _header(usable, gateway, source, generated_at or datetime.now(UTC))
    title = f"API usage report{' — ' + gateway if gateway else ''}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_STYLE}</style>"
        f"<script>/* plotly.js, from the plotly {plotly.__version__} wheel (MIT) */\n"
        f"{get_plotlyjs()}</script><script>{_DRAW}</script></head>"
        f"<body>{header}{''.join(sections)}</body></html>\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.report", description=__doc__)
    parser.add_argument("--duckdb", default=str(DEFAULT_DUCKDB), help="the warehouse file")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="the page to write")
    parser.add_argument(
        "--schema", default=None, help=f"the marts' schema (default: the first of {SCHEMAS})"
    )
    parser.add_argument("--gateway", default=None, help="the name shown in the header")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        out = write_report(args.duckdb, args.out, schema=args.schema, gateway=args.gateway)
    except (FileNotFoundError, duckdb.Error) as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 1
    took = time.monotonic() - started
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {took:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
