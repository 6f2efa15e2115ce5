"""The report (demo/report.py) drawn by a real browser: marts in a DuckDB file, the page that
`python -m demo.report` writes from them, and what headless chromium renders of it offline.

The report runs with .tools' Python (plotly and DuckDB live there, as for the demo); chromium
is Debian's (`make test` installs it as root; without it the test skips, or fails under CI).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_support import ROOT, TOOLS_PYTHON, chromium, ensure_meltano

QUOTA_PER_USD = 500_000
DAYS = [date(2025, 6, 10) + timedelta(days=i) for i in range(7)]
PRICED = {"gpt-4o-mini": 300, "claude-sonnet-4": 2_400, "deepseek-chat": 700}  # quota per call
UNPRICED = "mystery-model"  # the gateway has no price for it: cost NULL
KEYS = ["default", "ci-bot", "notebook", ""]
RED_DAY = "2025-06-13"  # the gateway's total is 1,500 above the summed logs
MISMATCH_DAY = "2025-06-14"  # one usage log charged unlike its price
OPEN_DAY = "2025-06-16"  # today: the gateway is still counting
GATEWAY = "Acme AI Gateway"


# -- the marts -----------------------------------------------------------------------------------


def usage_rows() -> list[dict[str, Any]]:
    """A week of one user's calls: three priced models, four keys, not every pair every day."""
    rows = []
    for d, day in enumerate(DAYS):
        for m, (model, per_call) in enumerate(PRICED.items()):
            for k, key in enumerate(KEYS):
                if (d + m + k) % 3 == 0:
                    continue
                calls = 5 + (d * 7 + m * 3 + k * 11) % 40
                quota = calls * per_call * (10 + k) // 10
                rows.append(_usage(day, model, key, calls, quota, quota / QUOTA_PER_USD, "USD"))
        if d in (2, 5):
            rows.append(_usage(day, UNPRICED, "default", 3, 900, None, None))
    return rows


def _usage(day: date, model: str, key: str, calls: int, quota: int, cost: Any, cur: Any) -> dict:
    return {
        "day": day,
        "model_name": model,
        "token_name": key,
        "user_id": 1,
        "username": "alice",
        "calls": calls,
        "prompt_tokens": calls * 800,
        "completion_tokens": calls * 150,
        "quota": quota,
        "cost": cost,
        "currency": cur,
    }


def reconciliation_rows(usage: list[dict[str, Any]]) -> list[dict[str, Any]]:
    quota: dict[str, int] = defaultdict(int)
    calls: dict[str, int] = defaultdict(int)
    for r in usage:
        quota[str(r["day"])] += r["quota"]
        calls[str(r["day"])] += r["calls"]
    rows = []
    for day in DAYS:
        logs = quota[str(day)]
        gateway = logs + (1_500 if str(day) == RED_DAY else 0)
        rows.append(
            {
                "day": day,
                "timezone": "Asia/Shanghai",
                "gateway_quota": gateway,
                "logs_quota": logs,
                "difference": gateway - logs,
                "calls": calls[str(day)],
                "closed": str(day) != OPEN_DAY,
            }
        )
    return rows


def billing_rows(usage: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for day in DAYS:
        checked = sum(r["calls"] for r in usage if r["day"] == day and r["cost"] is not None)
        unchecked = sum(r["calls"] for r in usage if r["day"] == day and r["cost"] is None)
        mismatches = 1 if str(day) == MISMATCH_DAY else 0
        rows.append(
            {
                "day": day,
                "checked": checked,
                "ok": checked - mismatches,
                "mismatches": mismatches,
                "unchecked": unchecked,
            }
        )
    return rows


def error_rows() -> list[dict[str, Any]]:
    return [
        {"day": day, "model_name": model, "token_name": "ci-bot", "errors": 1 + (d + i) % 4}
        for d, day in enumerate(DAYS)
        for i, model in enumerate(("gpt-4o-mini", "claude-sonnet-4"))
        if (d + i) % 2 == 0
    ]


COLUMNS = {
    "mart_usage_daily": "day DATE, model_name VARCHAR, token_name VARCHAR, user_id BIGINT, "
    "username VARCHAR, calls BIGINT, prompt_tokens BIGINT, completion_tokens BIGINT, "
    "quota HUGEINT, cost DOUBLE, currency VARCHAR",
    "mart_reconciliation_daily": "day DATE, timezone VARCHAR, gateway_quota HUGEINT, "
    "logs_quota HUGEINT, difference HUGEINT, calls BIGINT, closed BOOLEAN",
    "mart_billing_check_daily": "day DATE, checked BIGINT, ok BIGINT, mismatches BIGINT, "
    "unchecked BIGINT",
    "mart_errors_daily": "day DATE, model_name VARCHAR, token_name VARCHAR, errors BIGINT",
}


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, date):
        return f"DATE '{value}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def create_sql(schema: str, table: str, columns: str, rows: list[dict[str, Any]]) -> str:
    sql = f"CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE {schema}.{table} ({columns});"
    if rows:
        values = ", ".join("(" + ", ".join(map(_literal, r.values())) + ")" for r in rows)
        sql += f" INSERT INTO {schema}.{table} VALUES {values};"
    return sql


def gateway_sql() -> str:
    """Two snapshots of the tap's `gateway` stream; the report names the newer."""
    return create_sql(
        "tap_1688token",
        "gateway",
        "base_url VARCHAR, system_name VARCHAR, snapshot_at TIMESTAMP",
        [
            {"u": "https://gw.example", "n": "Old name", "t": "2025-06-01 00:00:00"},
            {"u": "https://gw.example", "n": GATEWAY, "t": "2025-06-16 08:00:00"},
        ],
    ).replace("'2025-06", "TIMESTAMP '2025-06")


def build_duckdb(path: Path, sql: str) -> None:
    """Write the marts with .tools' DuckDB (the one the loaders and the report use)."""
    script = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute(sys.stdin.read())"
    done = subprocess.run(
        [str(TOOLS_PYTHON), "-c", script, str(path)],
        input=sql,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def write_report(
    duckdb_file: Path, out: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [
            str(TOOLS_PYTHON),
            "-m",
            "demo.report",
            "--duckdb",
            str(duckdb_file),
            "--out",
            str(out),
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, time.monotonic() - started


# -- the browser ---------------------------------------------------------------------------------

BROWSER_TIMEOUT = 90


def render_in_browser(page: Path, tmp: Path) -> str:
    """The DOM after the page's scripts ran, in headless chromium with no network at all.

    A profile of its own under `tmp`; every name resolves to nothing and every request would go
    to a closed port, so a page that needed the network would show no chart. On timeout the
    whole process group (chromium's helpers too) is killed.
    """
    home = tmp / "browser-home"
    home.mkdir(exist_ok=True)
    argv = [
        chromium(),
        "--headless",
        "--no-sandbox",  # root in CI and containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp / 'browser-profile'}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
        "--window-size=1280,2400",
        # Lets the scripts (and plotly's own timers) finish before the DOM is written.
        "--virtual-time-budget=15000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "XDG_CACHE_HOME": str(home),
    }
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=BROWSER_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.communicate()
        pytest.fail(f"chromium did not finish within {BROWSER_TIMEOUT} s")
    finally:
        _kill_group(proc.pid)  # helpers it left behind
    assert proc.returncode == 0, f"chromium exited {proc.returncode}:\n{err[-3000:]}"
    assert "<body" in out, f"no DOM from chromium:\n{err[-3000:]}"
    return out


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@dataclass
class Node:
    """An element of the DOM chromium wrote: enough of a tree to ask what a chart drew."""

    tag: str
    attrs: dict[str, str]
    #: child elements and text, in document order
    content: list[Node | str] = field(default_factory=list)

    @property
    def children(self) -> list[Node]:
        return [c for c in self.content if isinstance(c, Node)]

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        """The text a reader sees: scripts and styles left out."""
        if self.tag in ("script", "style"):
            return ""
        return "".join(c if isinstance(c, str) else c.text() for c in self.content)

    def walk(self) -> Iterator[Node]:
        for child in self.children:
            yield child
            yield from child.walk()

    def all(self, tag: str = "", *classes: str) -> list[Node]:
        return [n for n in self.walk() if (not tag or n.tag == tag) and set(classes) <= n.classes]

    def by_id(self, ident: str) -> Node:
        found = [n for n in self.walk() if n.attrs.get("id") == ident]
        assert len(found) == 1, f"{len(found)} elements with id {ident}"
        return found[0]

    def fill(self) -> tuple[int, int, int]:
        match = re.search(r"fill: rgb\((\d+), (\d+), (\d+)\)", self.attrs.get("style", ""))
        assert match, f"no fill in {self.attrs}"
        return (int(match[1]), int(match[2]), int(match[3]))


class _TreeBuilder(HTMLParser):
    VOID = frozenset(
        [
            "area",
            "base",
            "br",
            "col",
            "embed",
            "hr",
            "img",
            "input",
            "link",
            "meta",
            "source",
            "track",
            "wbr",
        ]
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].content.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].content.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].content.append(data)


def parse(markup: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    return builder.root


def is_red(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return r > 150 and g < 90 and b < 90


def is_green(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return g > 100 and r < 90 and b < 90


def drawn(chart: Node) -> Node:
    """The chart's plotly SVG: it rendered, and did not fail."""
    assert "This chart failed" not in chart.text(), chart.text()
    svgs = chart.all("svg", "main-svg")
    assert svgs, f"chart {chart.attrs.get('id')} has no plotly SVG"
    return chart


def legend(chart: Node) -> list[str]:
    return [n.text() for n in chart.all("text", "legendtext")]


@dataclass(frozen=True)
class Bar:
    """A bar as plotly drew it: its box in the plot's pixels and its colour."""

    left: float
    right: float
    top: float
    bottom: float
    fill: tuple[int, int, int]

    @property
    def centre(self) -> float:
        return round((self.left + self.right) / 2, 1)

    @property
    def visible(self) -> bool:
        """At least 2 px each way: a bar one can see (plotly draws a zero as a flat box)."""
        return self.right - self.left >= 2 and self.bottom - self.top >= 2


def bars(chart: Node, subplot: str = "") -> list[Bar]:
    """Every bar of every bar trace (of one subplot: "xy" above, "x2y2" below), in order."""
    found = []
    for area in chart.all("g", "subplot", subplot) if subplot else [chart]:
        for trace in area.all("g", "trace", "bars"):
            for point in trace.all("g", "point"):
                for path in point.all("path"):
                    # plotly draws a bar as `M x0,y0 V y1 H x1 V y0 Z`.
                    x0, y0, y1, x1 = map(float, re.findall(r"-?\d+(?:\.\d+)?", path.attrs["d"])[:4])
                    box = (min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1))
                    found.append(Bar(*box, fill=path.fill()))
    return found


def day_of(bar: Bar, columns: list[Bar]) -> str:
    """The day a bar stands on: charts have a column per day, left to right from DAYS[0]."""
    centres = sorted({b.centre for b in columns})
    assert len(centres) == len(DAYS), centres
    return str(DAYS[centres.index(bar.centre)])


def table_after(section: Node) -> list[list[str]]:
    """The rows of a section's first table (cells' text)."""
    table = section.all("table")[0]
    return [[td.text() for td in tr.all("td")] for tr in table.all("tbody")[0].all("tr")]


def row_classes(section: Node, table: int = 0) -> dict[str, set[str]]:
    """Each row's classes by its first cell (the day)."""
    body = section.all("table")[table].all("tbody")[0]
    return {tr.all("td")[0].text(): tr.classes for tr in body.all("tr")}


# -- the tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tools() -> None:
    ensure_meltano()


@pytest.fixture(scope="module")
def full_report(tools: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("report")
    usage = usage_rows()
    marts = {
        "mart_usage_daily": usage,
        "mart_reconciliation_daily": reconciliation_rows(usage),
        "mart_billing_check_daily": billing_rows(usage),
        "mart_errors_daily": error_rows(),
    }
    sql = "".join(create_sql("main", t, COLUMNS[t], rows) for t, rows in marts.items())
    build_duckdb(tmp / "warehouse.duckdb", sql + gateway_sql())
    out = tmp / "out" / "report.html"
    done, took = write_report(tmp / "warehouse.duckdb", out)
    assert done.returncode == 0, done.stderr[-3000:]
    started = time.monotonic()
    dom = render_in_browser(out, tmp)
    browser = time.monotonic() - started
    print(f"report written in {took:.2f} s, drawn by chromium in {browser:.2f} s")
    return {"marts": marts, "html": out.read_text(), "dom": parse(dom), "stdout": done.stdout}


def test_the_page_is_self_contained(full_report: dict[str, Any]) -> None:
    page = full_report["html"]
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page, flags=re.IGNORECASE)
    remote = [t for t in tags if re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", t)]
    assert not remote, remote
    assert not re.search(r"<script\b[^>]*\bsrc=", page), "every script is inline"
    assert not re.search(r"<link\b[^>]*stylesheet", page), "every style is inline"
    # plotly.js once, whatever the number of charts.
    assert page.count("/* plotly.js, from the plotly") == 1
    assert page.count('draw("chart-') == 6


def test_cost_per_day_is_stacked_by_model(full_report: dict[str, Any]) -> None:
    dom, usage = full_report["dom"], full_report["marts"]["mart_usage_daily"]
    chart = drawn(dom.by_id("chart-cost-USD"))
    assert sorted(legend(chart)) == sorted(PRICED)
    assert len(chart.all("g", "trace", "bars")) == len(PRICED)
    # A visible bar per day and priced model that has calls, each model in its own colour.
    pairs = {(r["day"], r["model_name"]) for r in usage if r["cost"] is not None}
    drawn_bars = bars(chart)
    assert len(drawn_bars) == len(pairs)
    assert all(b.visible for b in drawn_bars)
    assert len({b.fill for b in drawn_bars}) == len(PRICED)
    # The table behind it: a row per day and the total, a column per model; the total is exact.
    section = dom.by_id("cost")
    rows = table_after(section)
    assert [r[0] for r in rows] == [*map(str, DAYS), "total"]
    total = sum(r["cost"] for r in usage if r["cost"] is not None)
    assert float(rows[-1][-1].replace(",", "")) == pytest.approx(total, abs=0.005)
    # The model without a price is named as left out, not drawn.
    assert UNPRICED not in legend(chart)
    assert "2 rows (6 calls) have no cost (no price known for mystery-model)" in section.text()


def test_a_model_keeps_its_colour_across_charts(full_report: dict[str, Any]) -> None:
    dom = full_report["dom"]
    colour = {}
    for chart_id in ("chart-cost-USD", "chart-errors"):
        for item in dom.by_id(chart_id).all("g", "traces"):
            name = item.all("text", "legendtext")[0].text()
            fill = item.all("path")[0].fill()
            assert colour.setdefault(name, fill) == fill, name
    assert len(set(colour.values())) == len(colour) == len(PRICED)


def test_top_keys_by_cost_and_by_calls(full_report: dict[str, Any]) -> None:
    dom, usage = full_report["dom"], full_report["marts"]["mart_usage_daily"]
    cost: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    for r in usage:
        name = r["token_name"] or "(no key name)"
        cost[name] += r["cost"] or 0.0
        calls[name] += r["calls"]
    for chart_id, figures in (("chart-keys-cost", cost), ("chart-keys-calls", calls)):
        chart = drawn(dom.by_id(chart_id))
        ranked = sorted(figures, key=lambda k: -figures[k])
        ticks = [t.text() for t in chart.all("g", "ytick") if t.text()]
        assert sorted(ticks) == sorted(ranked)
        # A bar per key, drawn in rank order, the first the longest and on top.
        drawn_bars = bars(chart)
        assert len(drawn_bars) == len(KEYS)
        lengths = [b.right - b.left for b in drawn_bars]
        assert lengths == sorted(lengths, reverse=True)
        assert drawn_bars[0].top == min(b.top for b in drawn_bars)
        # Lengths in proportion to the figures.
        expected = [figures[k] / figures[ranked[0]] for k in ranked]
        assert [x / lengths[0] for x in lengths] == pytest.approx(expected, abs=0.01)
    rows = table_after(dom.by_id("keys"))
    assert [r[0] for r in rows] == sorted(cost, key=lambda k: -cost[k])


def test_reconciliation_shows_the_red_day(full_report: dict[str, Any]) -> None:
    dom = full_report["dom"]
    chart = drawn(dom.by_id("chart-reconciliation"))
    assert set(legend(chart)) == {
        "closed, agrees",
        "closed, differs",
        "open (still counting)",
        "summed logs",
    }
    # Above: a bar per day, the gateway's total, coloured by the day's status.
    totals = bars(chart, "xy")
    assert len(totals) == len(DAYS)
    assert all(b.visible for b in totals)
    red = [b for b in totals if is_red(b.fill)]
    assert [day_of(b, totals) for b in red] == [RED_DAY]
    green = [day_of(b, totals) for b in totals if is_green(b.fill)]
    assert sorted(green) == [str(d) for d in DAYS if str(d) not in (RED_DAY, OPEN_DAY)]
    # Below: the difference, seen only on that day, red, labelled.
    differences = [b for b in bars(chart, "x2y2") if b.visible]
    assert [(day_of(b, totals), is_red(b.fill)) for b in differences] == [(RED_DAY, True)]
    assert [t.text() for t in chart.all("text", "bartext")] == ["+1,500"]
    # The table: that day's row marked bad, the other closed days good, the open day neither.
    classes = row_classes(dom.by_id("reconciliation"))
    assert classes[RED_DAY] == {"bad"}
    assert classes[OPEN_DAY] == set()
    assert sum(c == {"good"} for c in classes.values()) == len(DAYS) - 2
    row = next(r for r in table_after(dom.by_id("reconciliation")) if r[0] == RED_DAY)
    assert row[4] == "1,500"
    assert row[-1] == "closed, differs"


def test_billing_check_shows_the_mismatch(full_report: dict[str, Any]) -> None:
    dom = full_report["dom"]
    chart = drawn(dom.by_id("chart-billing"))
    assert sorted(legend(chart)) == ["mismatches", "ok", "unchecked"]
    above = bars(chart, "xy")
    assert all(b.visible for b in above)
    assert sum(is_green(b.fill) for b in above) == len(DAYS)  # every day has ok logs
    below = bars(chart, "x2y2")
    assert len(below) == 1
    assert below[0].visible
    assert is_red(below[0].fill)
    assert day_of(below[0], above) == MISMATCH_DAY
    classes = row_classes(dom.by_id("billing"))
    assert {day for day, c in classes.items() if "bad" in c} == {MISMATCH_DAY}


def test_errors_per_day(full_report: dict[str, Any]) -> None:
    dom, errors = full_report["dom"], full_report["marts"]["mart_errors_daily"]
    chart = drawn(dom.by_id("chart-errors"))
    assert sorted(legend(chart)) == sorted({r["model_name"] for r in errors})
    drawn_bars = bars(chart)
    assert len(drawn_bars) == len(errors)
    assert all(b.visible for b in drawn_bars)
    total = table_after(dom.by_id("errors"))[-1][-1]
    assert total == f"{sum(r['errors'] for r in errors):,}"


def test_header_names_gateway_period_and_totals(full_report: dict[str, Any]) -> None:
    header = full_report["dom"].all("header")[0].text()
    usage = full_report["marts"]["mart_usage_daily"]
    assert GATEWAY in header
    assert "Old name" not in header
    assert f"{DAYS[0]} to {DAYS[-1]} (7 days)" in header
    assert f"{sum(r['calls'] for r in usage):,}" in header
    cost = sum(r["cost"] for r in usage if r["cost"] is not None)
    assert f"{cost:,.2f} USD" in header
    assert "5 closed days agree, 1 differ, 1 open" in header
    assert "1 mismatches" in header
    assert re.search(r"wrote .*report\.html \(\d+\.\d MB\) in \d+\.\d\d s", full_report["stdout"])


def test_missing_and_empty_marts_are_named_in_their_place(tools: None, tmp_path: Path) -> None:
    """Marts in the tap's schema (found without --schema): one empty, one missing, and a day
    the gateway has no total for."""
    schema, usage = "tap_1688token", usage_rows()
    recon = reconciliation_rows(usage)[:2]
    recon[0].update(gateway_quota=None, difference=None)
    sql = create_sql(schema, "mart_usage_daily", COLUMNS["mart_usage_daily"], usage)
    sql += create_sql(schema, "mart_errors_daily", COLUMNS["mart_errors_daily"], [])
    sql += create_sql(
        schema, "mart_reconciliation_daily", COLUMNS["mart_reconciliation_daily"], recon
    )
    build_duckdb(tmp_path / "w.duckdb", sql)
    out = tmp_path / "report.html"
    done, _ = write_report(tmp_path / "w.duckdb", out)
    assert done.returncode == 0, done.stderr[-3000:]
    dom = parse(render_in_browser(out, tmp_path))
    for section, message in (
        ("billing", "mart_billing_check_daily is not in the warehouse"),
        ("errors", "mart_errors_daily has no rows."),
    ):
        assert message in dom.by_id(section).text()
        assert not dom.by_id(section).all("svg")
    assert sorted(legend(drawn(dom.by_id("chart-cost-USD")))) == sorted(PRICED)
    # The day without the gateway's total: an amber bar at its logs' height, and said so.
    chart = drawn(dom.by_id("chart-reconciliation"))
    assert "no gateway total" in legend(chart)
    totals = bars(chart, "xy")
    assert all(b.visible for b in totals)
    r, g, b = totals[-1].fill  # drawn after the day that agrees: STATUSES' order
    assert r > 200 and 80 < g < 150 and b < 50, totals[-1].fill
    assert table_after(dom.by_id("reconciliation"))[0][-1] == "no gateway total"
    header = dom.all("header")[0].text()
    assert "(not recorded in the warehouse)" in header
    assert "schema tap_1688token" in header


def test_schema_option_and_odd_marts(tools: None, tmp_path: Path) -> None:
    """--schema picks the marts; a mart lacking a column, or one of another type, is said."""
    sql = create_sql(
        "analytics",
        "mart_billing_check_daily",
        "day DATE, checked BIGINT",
        [{"d": DAYS[0], "c": 1}],
    )
    odd = [{**r, "errors": "many"} for r in error_rows()]  # text where a count belongs
    sql += create_sql(
        "analytics",
        "mart_errors_daily",
        COLUMNS["mart_errors_daily"].replace("errors BIGINT", "errors VARCHAR"),
        odd,
    )
    sql += create_sql("main", "mart_usage_daily", COLUMNS["mart_usage_daily"], usage_rows())
    build_duckdb(tmp_path / "w.duckdb", sql)
    out = tmp_path / "report.html"
    done, _ = write_report(tmp_path / "w.duckdb", out, "--schema", "analytics")
    assert done.returncode == 0, done.stderr[-3000:]
    page = out.read_text()
    assert "mart_billing_check_daily lacks columns ok, mismatches, unchecked." in page
    assert "mart_errors_daily.errors holds &#x27;many&#x27;, not a number." in page
    assert "mart_usage_daily is not in the warehouse" in page  # main's is not read
    assert page.count('draw("chart-') == 0

    done, _ = write_report(tmp_path / "absent.duckdb", out)
    assert done.returncode == 1
    assert "no DuckDB file at" in done.stderr
