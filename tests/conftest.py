"""Shared helpers: run the tap in-process against the simulator and read what it wrote."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import pytest

from simulator import (
    ALL_TYPE_WEIGHTS,
    SECRET_MARKER,
    SimConfig,
    Simulator,
    generate_logs,
    user_view,
)
from tap_1688token.fields import CHARGE_FIELDS, LOG_FIELDS
from tap_1688token.logtypes import LOG_STREAMS, TYPE_BY_STREAM
from tap_1688token.tap import Tap1688Token

# A fixed past so ranges never touch "now" unless a test wants them to.
T0 = 1_750_000_000  # 2025-06-15
DAY = 86_400


@dataclass
class SyncResult:
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    states: list[dict[str, Any]] = field(default_factory=list)
    error: Exception | None = None
    lines: list[str] = field(default_factory=list)

    def until_state(self, count: int) -> SyncResult:
        """What the run had written by its `count`-th STATE, as if it had stopped there."""
        seen = 0
        for index, line in enumerate(self.lines):
            seen += '"type":"STATE"' in line.replace(" ", "")
            if seen == count:
                return parse_messages(self.lines[: index + 1])
        raise AssertionError(f"fewer than {count} STATE messages")

    @property
    def state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}

    @property
    def log_count(self) -> int:
        """Records of the four log streams (daily_stats aside)."""
        return sum(len(self.records.get(stream, [])) for stream in LOG_STREAMS)

    def bookmark(self, stream: str) -> str | None:
        entry = self.state.get("bookmarks", {}).get(stream, {})
        return entry.get("replication_key_value")


def parse_messages(lines: list[str]) -> SyncResult:
    result = SyncResult(lines=list(lines))
    for line in lines:
        if not line.strip():
            continue
        message = json.loads(line)
        if message["type"] == "RECORD":
            result.records.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "STATE":
            result.states.append(message["value"])
    return result


def run_tap(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    *,
    fails: bool = False,
    streams: Iterable[str] | None = None,
) -> SyncResult:
    """Sync in-process and parse the Singer messages written to stdout.

    With `fails`, the run must raise; what it wrote before that is returned with the error.
    With `streams`, a catalog selects only those (else every stream runs).
    """
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    catalog = None
    if streams is not None:
        catalog = Tap1688Token(config=config).catalog_dict
        for entry in catalog["streams"]:
            for metadata in entry["metadata"]:
                if metadata["breadcrumb"] == []:
                    metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    tap = Tap1688Token(config=config, state=state, catalog=catalog, validate_config=True)
    error = None
    with redirect_stdout(out):
        try:
            tap.sync_all()
        except Exception as exc:
            if not fails:
                raise
            error = exc
    assert not fails or error is not None, "the run was expected to fail"
    result = parse_messages(out.buffer.getvalue().decode().splitlines())
    result.error = error
    return result


_KEY_FIELDS = ("date", "timezone", "model_name", "created_at", "id", "base_url")


def merge(*results: SyncResult) -> SyncResult:
    """Several runs as an upserting target holds them: one row per (stream, log_key)."""
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for result in results:
        for stream, records in result.records.items():
            for record in records:
                # Other streams: their primary keys are among these fields.
                key = record.get("log_key") or tuple(record.get(k) for k in _KEY_FIELDS)
                merged.setdefault(stream, {})[key] = record
    return SyncResult(records={s: list(v.values()) for s, v in merged.items()})


def run_without_secrets(sim: Simulator, config: dict[str, Any], tmp_path: Any) -> SyncResult:
    """Run the tap's CLI at DEBUG and prove no secret the simulator serves (the marker, and
    every value of `sim.secret_values()`) is in any byte of its stdout or stderr."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    done = subprocess.run(
        [sys.executable, "-m", "tap_1688token.tap", "--config", str(path)],
        capture_output=True,
        env={"TAP_1688TOKEN_LOGLEVEL": "DEBUG", "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    output = done.stdout + done.stderr
    assert SECRET_MARKER.encode() not in output
    for secret in sim.secret_values():
        assert secret.encode() not in output
    return parse_messages(done.stdout.decode().splitlines())


class InFlight:
    """A simulator's `before_request` that holds each request (of `paths`, or every one) a
    little and counts how many were in flight at once, and when each path was first asked."""

    def __init__(self, paths: Iterable[str] | None = None, hold: float = 0.02) -> None:
        self.paths = None if paths is None else frozenset(paths)
        self.hold = hold
        self.now = self.most = 0
        self.first_seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, _sim: Simulator, path: str, _params: dict[str, str]) -> None:
        if self.paths is not None and path not in self.paths:
            return
        with self._lock:
            self.first_seen.setdefault(path, time.monotonic())
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.hold)
        with self._lock:
            self.now -= 1


def tap_config(base_url: str, **overrides: Any) -> dict[str, Any]:
    config = {"api_key": "sim-token", "base_url": base_url, "min_age_seconds": 0}
    config.update(overrides)
    return config


def canonical(view: dict[str, Any]) -> str:
    """A comparable form of a log as a user sees it: no id, `other` as an object.

    Null fields are left out: the tap emits every schema field, servers send some.
    """
    comparable = {k: v for k, v in view.items() if k not in ("id", "channel_name")}
    other = comparable.get("other")
    if isinstance(other, str):
        other = json.loads(other)
    comparable["other"] = other or None
    comparable = {k: v for k, v in comparable.items() if v is not None}
    return json.dumps(comparable, sort_keys=True, ensure_ascii=False)


def expected_multiset(sim: Simulator, stream: str, lo: int = 0, hi: int = 2**40) -> Counter:
    return Counter(
        canonical(user_view(log, sim.config))
        for log in sim.logs(TYPE_BY_STREAM[stream])
        if lo <= log["created_at"] <= hi
    )


#: columns the tap names otherwise than the server (`user_group` is sent as `group`)
RENAMED_BACK = {field.name: field.source for field in LOG_FIELDS if field.source}
#: what the tap adds to a log: its key, and what it reads out of `other` (compared there)
DERIVED = {"log_key", "extra", "other_raw", *(f.name for f in CHARGE_FIELDS)}


def delivered_multiset(records: list[dict[str, Any]]) -> Counter:
    views = []
    for record in records:
        assert record.get("extra") is None, record
        view = {RENAMED_BACK.get(k, k): v for k, v in record.items() if k not in DERIVED}
        view["created_at"] = _unix(record["created_at"])
        views.append(canonical(view))
    return Counter(views)


def _unix(text: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(text).timestamp())


def assert_exact(sim: Simulator, result: SyncResult, lo: int = 0, hi: int = 2**40) -> None:
    """Every stream delivered exactly the simulator's logs: none missing, none extra."""
    for stream in LOG_STREAMS:
        records = result.records.get(stream, [])
        expected = expected_multiset(sim, stream, lo, hi)
        delivered = delivered_multiset(records)
        missing, extra = expected - delivered, delivered - expected
        assert not missing, f"{stream}: {sum(missing.values())} logs missing"
        assert not extra, f"{stream}: {sum(extra.values())} logs extra"
        keys = [record["log_key"] for record in records]
        assert len(keys) == len(set(keys)), f"{stream}: duplicate log_key"


def keys_of(result: SyncResult) -> dict[str, list[str]]:
    return {s: sorted(r["log_key"] for r in result.records.get(s, [])) for s in LOG_STREAMS}


@pytest.fixture
def make_sim():
    """`make_sim(n, days=..., **SimConfig fields)` → a served simulator and its base URL."""
    started = []

    def factory(n: int = 2000, *, days: int = 10, seed: int = 1, start: int = T0, **options):
        # Every type New API writes, so every log stream has logs to deliver.
        # The account's own logs: /api/log/self serves the token's user only.
        user = {"user_id": options["user_id"]} if options.get("user_id") else {}
        logs = generate_logs(
            n, start=start, end=start + days * DAY, seed=seed, type_weights=ALL_TYPE_WEIGHTS, **user
        )
        sim = Simulator(logs, SimConfig(**options))
        serving = sim.serve()
        base_url = serving.__enter__()
        started.append(serving)
        return sim, base_url

    yield factory
    for serving in started:
        serving.__exit__(None, None, None)


def only_the_first_requests(sim: Simulator) -> bool:
    """Whether the run asked nothing but its first query: page p=0, and p=1 sent with it
    (what paging is learned from), as a run that fails on its first answer does."""
    asked = sorted(r.params["p"] for r in sim.requests)
    query = {frozenset((k, v) for k, v in r.params.items() if k != "p") for r in sim.requests}
    return asked in (["0"], ["0", "1"]) and len(query) == 1
