"""Records and keys: pinned across releases, and the fast paths equal the general ones."""
# ruff: noqa: RUF001 - New API writes its log content in Chinese, full-width commas included

from __future__ import annotations

import hashlib
import json
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tap_1688token import jsontext
from tap_1688token.errors import GatewayError
from tap_1688token.records import (
    IDENTITY_FIELDS,
    KNOWN_FIELDS,
    _normalize_plain,
    identity_digest,
    normalize,
    rfc3339,
    to_records,
    unix_seconds,
)

# Served newest first, as servers list them.
ITEMS = [
    # New API as served to a user: `other` a JSON string, channel_name blank
    {"id": 4101, "user_id": 1, "created_at": 1767225600, "type": 2,
     "content": "模型倍率 1.50，分组倍率 1.00", "username": "alice", "token_name": "dev-laptop",
     "model_name": "claude-sonnet-4-6", "quota": 29576, "prompt_tokens": 19387,
     "completion_tokens": 66, "use_time": 1, "is_stream": False, "channel": 3,
     "channel_name": "", "token_id": 103, "group": "default", "ip": "198.51.100.23",
     "request_id": "20260101000000738649563dn3iZESU",
     "other": '{"cache_ratio":1,"completion_ratio":5,"frt":-1000,"model_ratio":1.5}'},
    # the same log from a server sending numbers as strings, ms, and 0/1 booleans
    {"id": "17", "user_id": "1", "created_at": 1767225600000, "type": "2",
     "content": "模型倍率 1.50，分组倍率 1.00", "username": "alice", "token_name": "dev-laptop",
     "model_name": "claude-sonnet-4-6", "quota": "29576", "prompt_tokens": 19387.0,
     "completion_tokens": 66, "use_time": 1, "is_stream": 0, "channel": 3, "token_id": 103,
     "group": "default", "request_id": "20260101000000738649563dn3iZESU",
     "other": {"cache_ratio": 1}},
    # two identical logs in one second, and a third differing only in quota
    {"id": 0, "created_at": 1767225601, "type": 2, "model_name": "gpt-4o", "quota": 10,
     "token_name": "ci"},
    {"id": 0, "created_at": 1767225601, "type": 2, "model_name": "gpt-4o", "quota": 10,
     "token_name": "ci"},
    {"id": 0, "created_at": 1767225601, "type": 2, "model_name": "gpt-4o", "quota": 11,
     "token_name": "ci"},
    # empty, zero and missing are one value
    {"created_at": 1767225602, "type": 5, "content": "", "quota": 0, "model_name": "x",
     "group": None},
    {"created_at": 1767225602, "type": 5, "model_name": "x", "request_id": ""},
    # unknown fields, misfit values, unparsable other, control characters and quotes
    {"created_at": "1767225603", "type": 1, "content": '充值 $5.00\n"quoted"\t\\',
     "quota": 2500000, "username": "bob", "x_new_field": {"a": [1, 2]}, "use_time": "slow",
     "is_stream": "maybe", "other": "not json {"},
    {"created_at": 1767225604.0, "type": 6, "content": "refund \u2028 \U0001f600 \x7f",
     "quota": -5, "token_id": True, "group": 7, "other": "[1, 2]"},
]  # fmt: skip

# The keys the first release gave these logs. A warehouse upserts on log_key, so a
# release that changes one duplicates every log it already holds.
KEYS = [
    "1767225600-1c9652393a3fbc162671-0",
    "1767225600-1c9652393a3fbc162671-1",
    "1767225601-5a35afd6397c40fa714c-0",
    "1767225601-7a02c6969e65bfb3ae0f-0",
    "1767225601-7a02c6969e65bfb3ae0f-1",
    "1767225602-de081661382781d6fe2c-0",
    "1767225602-de081661382781d6fe2c-1",
    "1767225603-d589e16bb640d3498daa-0",
    "1767225604-1c891a57c326fffb3beb-0",
]


def test_log_keys_are_those_of_the_first_release():
    assert [record["log_key"] for record in to_records(ITEMS)] == KEYS


def test_records_are_typed_and_oldest_first():
    records = to_records(ITEMS)
    assert [r["created_at"] for r in records][:2] == ["2026-01-01T00:00:00+00:00"] * 2
    # insertion order among same-second logs: the later-listed (older) one first
    assert records[0]["id"] == 17
    assert records[0]["is_stream"] is False
    assert records[0]["prompt_tokens"] == 19387
    assert records[1]["other"] == {
        "cache_ratio": 1, "completion_ratio": 5, "frt": -1000, "model_ratio": 1.5,
    }  # fmt: skip
    assert records[7]["other"] is None
    assert records[7]["other_raw"] == "not json {"
    assert records[7]["extra"] == {
        "x_new_field": {"a": [1, 2]}, "use_time": "slow", "is_stream": "maybe",
    }  # fmt: skip
    assert records[8]["other"] == {"value": [1, 2]}
    assert (records[8]["user_group"], records[8]["token_id"]) == ("7", 1)


def _reference_digest(record):
    # how the first release computed it
    values = [record.get(field) or None for field in IDENTITY_FIELDS]
    canonical = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(canonical.encode(), digest_size=10).hexdigest()


identity_values = {
    field: st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=30)
    for field in IDENTITY_FIELDS
}


@settings(max_examples=500)
@given(st.fixed_dictionaries({}, optional=identity_values))
def test_identity_digest_is_the_first_releases(record):
    assert identity_digest(dict.fromkeys(IDENTITY_FIELDS) | record) == _reference_digest(record)


def test_digest_escapes_every_character_as_the_first_release():
    for start in range(0, 0x110000, 0x800):
        text = "".join(chr(c) for c in range(start, start + 0x800) if not 0xD800 <= c <= 0xDFFF)
        record = dict.fromkeys(IDENTITY_FIELDS) | {"content": text}
        assert identity_digest(record) == _reference_digest(record), hex(start)


# Mostly values of the right type, so that most items take the fast path.
fitting = {
    **{f: st.integers(-(2**40), 2**40) for f in ("id", "quota", "prompt_tokens", "channel")},
    **{f: st.text(max_size=20) for f in ("username", "model_name", "content", "group")},
    "is_stream": st.booleans(),
    "other": st.none()
    | st.text(max_size=30)
    | st.just('{"a": 1}')
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
}
misfits = st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=5)
plain_items = st.fixed_dictionaries({}, optional=fitting)
any_items = plain_items.flatmap(
    lambda item: st.dictionaries(
        st.sampled_from(sorted(KNOWN_FIELDS)) | st.text(max_size=8), misfits, max_size=3
    ).map(lambda more: {**item, **more})
)


@settings(max_examples=500)
@given(plain_items | any_items, st.integers(1, 2_000_000_000))
@example({"channel": "¹", "quota": "-②"}, 1)  # digits to str.isdigit, not to int()
def test_fast_path_equals_the_general_one(item, seconds):
    fast = _normalize_plain(dict(item), seconds)
    general = normalize(dict(item), seconds)
    if fast is not None:
        assert list(fast.items()) == list(general.items())


@given(
    st.integers(1, 10**14)
    | st.integers(-(2**64), 2**64)
    | st.integers(1, 10**14).map(str)
    | st.floats(0, 1e14)
    | st.booleans()
    | st.none()
)
@example(99_999_999_999)
@example(100_000_000_000)  # milliseconds from here on (1973 in ms)
@example(253_402_300_799)
@example(253_402_300_800_000)
def test_created_at_as_the_first_release_read_it(value):
    try:
        got = unix_seconds(value)
    except GatewayError:
        got = None
    try:
        expected = _reference_unix_seconds(value)
    except GatewayError:
        expected = None
    assert got == expected


def _reference_unix_seconds(value):
    # the first release's reading, without the fast path
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and value >= 100_000_000_000:
        value //= 1000
    if not isinstance(value, int) or not 0 < value <= 253_402_300_799:
        raise GatewayError(value)
    return value


def test_number_like_text_that_is_no_number_is_kept_aside():
    (record,) = to_records([{"created_at": 1767225600, "quota": "¹", "token_id": "٣"}])
    assert record["quota"] is None
    assert record["extra"] == {"quota": "¹"}
    assert record["token_id"] == 3  # a decimal digit int() reads, as the first release did
    with pytest.raises(GatewayError, match="created_at is not a Unix time: '¹'"):
        to_records([{"created_at": "¹"}])


def test_fast_path_takes_the_common_items():
    assert all(_normalize_plain(item, 1767225600) for item in ITEMS[2:7])


@given(st.integers(1, 253_402_300_799))
def test_rfc3339(seconds):
    import time

    assert rfc3339(seconds) == time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500)
@given(json_values, st.booleans())
def test_jsontext_parses_as_the_json_module(value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only)
    # NUL, which no PostgreSQL text holds, is the one character read otherwise (U+FFFD).
    expected = json.loads(text.replace("\\u0000", "\\ufffd"))
    if "\\\\u0000" in text:  # a backslash escaped, then "u0000": the rule is for NUL only
        return
    assert jsontext.loads(text) == expected
    assert jsontext.loads(text.encode()) == expected


def test_nul_becomes_the_replacement_character_and_only_nul():
    text = r'{"content": "a\u0000b", "text": "\\u0000", "both": "\\\u0000", "k\u0000": 1}'
    assert jsontext.loads(text) == {
        "content": "a\ufffdb",
        "text": "\\u0000",
        "both": "\\\ufffd",
        "k\ufffd": 1,
    }
    assert jsontext.loads(text.encode()) == jsontext.loads(text)


def test_jsontext_edge_cases():
    assert math.isnan(jsontext.loads("NaN"))
    assert jsontext.loads("1e400") == math.inf
    # a lone surrogate cannot be written by any encoder: it becomes U+FFFD
    assert jsontext.loads(r'{"a\udc00": ["x\ud800y", "\ud83d\ude00"]}') == {
        "a\ufffd": ["x\ufffdy", "\U0001f600"]
    }
    for text in ("", "[1,", "{'a': 1}", "[" * 100_000 + "]" * 100_000):
        try:
            jsontext.loads(text)
        except ValueError:
            continue
        raise AssertionError(text[:20])


def test_a_lone_surrogate_from_the_server_is_replaced_not_fatal():
    from tap_1688token.api import _decode

    body = rb'{"data": {"items": [{"created_at": 1767225600, "type": 2, "content": "a\ud800b",'
    body += rb' "other": "{\"x\": \"\\udfff\"}"}]}}'
    (record,) = to_records(_decode(body)["data"]["items"])
    assert record["content"] == "a\ufffdb"
    assert record["other"] == {"x": "\ufffd"}
    json.dumps(record).encode()


def test_the_charges_inputs_are_typed_columns_and_other_stays_whole():
    item = dict(ITEMS[0])
    item["other"] = (
        '{"model_ratio":1.5,"group_ratio":1,"completion_ratio":5,"model_price":-1,'
        '"cache_tokens":"120","cache_ratio":0.1,"frt":-1000,"is_model_mapped":true,'
        '"upstream_model_name":"claude-sonnet-4-6-20251001","reasoning_effort":7,'
        '"cache_creation_ratio":NaN}'
    )
    (record,) = to_records([item], charge=True)
    assert record["model_ratio"] == 1.5
    assert record["group_ratio"] == 1
    assert record["completion_ratio"] == 5
    assert record["model_price"] == -1
    assert record["cache_tokens"] == 120
    assert record["cache_ratio"] == 0.1
    assert record["frt"] == -1000
    assert record["is_model_mapped"] is True
    assert record["upstream_model_name"] == "claude-sonnet-4-6-20251001"
    # values of another type stay only in `other`, as sent
    assert record["reasoning_effort"] is None
    assert record["cache_creation_ratio"] is None
    assert record["billing_source"] is None
    assert record["other"]["reasoning_effort"] == 7
    assert record["extra"] is None
    # a field of that name at the top level is not the charge's: kept in `extra`
    (top,) = to_records([{**ITEMS[0], "model_ratio": 99}], charge=True)
    assert top["model_ratio"] == 1.5
    assert top["extra"] == {"model_ratio": 99}
    # the other log streams have no such columns
    (plain,) = to_records([item])
    assert "model_ratio" not in plain


def test_a_site_key_depends_on_its_own_users_logs_only():
    # Users 6 and 7 both logged as "sam": a renamed user's logs and the new holder's.
    call = {"created_at": 1_750_000_000, "type": 2, "username": "sam", "quota": 5}
    sixes = [{**call, "user_id": 6}]
    sevens = [{**call, "user_id": 7}, {**call, "user_id": 7}]
    alone = [r["log_key"] for r in to_records(sevens, site=True)]
    beside = [r["log_key"] for r in to_records([*sevens, *sixes], site=True) if r["user_id"] == 7]
    assert alone == beside and len(set(alone)) == 2
    # The account's own keys (scope self) stay those of the first release: no user_id.
    assert [r["log_key"] for r in to_records(sevens)] == [
        r["log_key"] for r in to_records([{**item, "user_id": 1} for item in sevens])
    ]


def test_what_a_warehouse_cannot_load_is_kept_aside_as_text():
    base = {"created_at": 1_767_225_600, "type": 2, "group": "vip", "content": "a\u0000b"}
    huge, text = 2**64, "-99999999999999999999"
    (record,) = to_records([{**base, "quota": huge, "prompt_tokens": text, "id": 2**63 - 1}])
    assert (record["quota"], record["prompt_tokens"], record["id"]) == (None, None, 2**63 - 1)
    assert record["extra"] == {"quota": str(huge), "prompt_tokens": text}
    # `group` is a reserved word in SQL: the column is user_group
    assert record["user_group"] == "vip" and "group" not in record
    (plain,) = to_records([base])
    assert plain["user_group"] == "vip" and "group" not in plain
    assert list(plain) == list(record)
