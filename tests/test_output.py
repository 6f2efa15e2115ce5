"""What reaches stdout: the SDK's records and selection, in fewer writes."""

from __future__ import annotations

import copy
import datetime
import io
import json
from contextlib import redirect_stdout

import pytest
from singer_sdk import Stream

from tap_1688token.logtypes import LOG_STREAMS
from tap_1688token.records import to_records
from tap_1688token.tap import Tap1688Token
from tests.conftest import parse_messages, tap_config
from tests.test_records import ITEMS

RECORDS = to_records(ITEMS)


def _catalog(tap, deselect=()):
    catalog = tap.catalog_dict
    for stream in catalog["streams"]:
        for crumb in deselect:
            entries = [e for e in stream["metadata"] if tuple(e["breadcrumb"]) == crumb]
            if not entries:  # inside an object: the catalog may still name it
                stream["metadata"].append({"breadcrumb": list(crumb), "metadata": {}})
                entries = stream["metadata"][-1:]
            entries[0]["metadata"]["selected"] = False
    return catalog


CASES = {
    "all selected": ((), {}),
    "top-level deselected": ((("properties", "ip"), ("properties", "content")), {}),
    # a catalog may name a property inside an object: the SDK's own walk decides then
    "nested deselected": ((("properties", "other", "properties", "frt"),), {}),
    "stream maps": (
        (("properties", "ip"),),
        {
            "stream_maps": {
                "usage_logs": {
                    "content": None,
                    "__alias__": "calls",
                    "__filter__": "(quota or 0) > 10",
                }
            }
        },
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_messages_are_those_of_the_sdk(case):
    deselect, extra = CASES[case]
    config = tap_config("http://127.0.0.1:9", **extra)
    catalog = _catalog(Tap1688Token(config=config), deselect)
    tap = Tap1688Token(config=config, catalog=catalog)
    stream = tap.streams["usage_logs"]
    if case == "nested deselected":
        assert stream._deselected_properties() is None
    ours, sdks = [], []
    for record in RECORDS:
        ours += stream._generate_record_messages(copy.deepcopy(record))
        sdks += Stream._generate_record_messages(stream, copy.deepcopy(record))
    assert ours, case
    assert [_comparable(m) for m in ours] == [_comparable(m) for m in sdks]
    for crumb in deselect:  # and the selection did apply
        for message in ours:
            parent = message.record if len(crumb) == 2 else message.record["other"] or {}
            assert crumb[-1] not in parent


def _comparable(message):
    as_dict = message.to_dict()
    as_dict.pop("time_extracted")
    return as_dict


class CountingStdout(io.TextIOWrapper):
    def __init__(self):
        self.writes = 0
        raw = self

        class Buffer(io.BytesIO):
            def write(self, data):
                raw.writes += 1
                return super().write(data)

        super().__init__(Buffer(), encoding="utf-8", write_through=True)


def test_records_go_out_in_blocks_and_every_state_after_its_records(make_sim):
    _, url = make_sim(3000, days=20)
    out = CountingStdout()
    tap = Tap1688Token(config=tap_config(url), validate_config=True)
    with redirect_stdout(out):
        tap.sync_all()
    lines = out.buffer.getvalue().decode().splitlines()
    result = parse_messages(lines)
    assert result.log_count == 3000
    assert out.writes < 3000 / 10
    assert json.loads(lines[-1])["type"] == "STATE"
    # a STATE's bookmark never runs ahead of the records written before it
    newest: dict[str, str] = {}
    for line in lines:
        message = json.loads(line)
        if message["type"] == "RECORD" and message["stream"] in LOG_STREAMS:
            stream, created = message["stream"], message["record"]["created_at"]
            newest[stream] = max(newest.get(stream, created), created)
        elif message["type"] == "STATE":
            for stream, entry in message["value"]["bookmarks"].items():
                if "replication_key_value" in entry and stream in LOG_STREAMS:
                    assert entry["replication_key_value"] <= newest[stream]


def test_time_extracted_is_when_the_window_was_read(make_sim):
    _, url = make_sim(12_000, days=20)
    before = datetime.datetime.now(datetime.UTC)
    out = CountingStdout()
    with redirect_stdout(out):
        Tap1688Token(config=tap_config(url), validate_config=True).sync_all()
    after = datetime.datetime.now(datetime.UTC)
    stamps = [
        datetime.datetime.fromisoformat(message["time_extracted"])
        for message in map(json.loads, out.buffer.getvalue().decode().splitlines())
        if message["type"] == "RECORD" and message["stream"] == "usage_logs"
    ]
    assert len(stamps) > 5000
    assert stamps == sorted(stamps)
    assert before <= stamps[0] and stamps[-1] <= after
    assert 1 < len(set(stamps)) < len(stamps) / 1000  # one per window of pages
