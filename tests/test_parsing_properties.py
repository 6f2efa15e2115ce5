"""Malformed responses: every body is parsed correctly or rejected with a clear error."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from tap_1688token import api
from tap_1688token.api import ApiClient, TransientError
from tap_1688token.client import SCHEMAS
from tap_1688token.errors import GatewayError
from tap_1688token.fields import CHARGE_FIELDS
from tap_1688token.gateway import parse_log_page
from tap_1688token.records import KNOWN_FIELDS, charge_inputs, to_records
from tap_1688token.settings import Settings
from tap_1688token.stats import parse_totals
from tap_1688token.transport import Answer
from tap_1688token.values import fit

CHARGE_TYPES = {field.name: field.type for field in CHARGE_FIELDS}

VALIDATOR = Draft7Validator(SCHEMAS.get_schema("usage_logs"))

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=50)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(sorted(KNOWN_FIELDS)) | st.text(max_size=12)
good_times = st.integers(min_value=1_000_000_000, max_value=2_000_000_000)
items = st.fixed_dictionaries(
    {"created_at": good_times | st.integers().map(str) | scalars},
    optional={"other": st.text(max_size=80) | json_values},
).flatmap(
    lambda base: st.dictionaries(
        field_names, json_values | st.text(max_size=5000), max_size=10
    ).map(lambda extra: {**extra, **base})
)
expected_failures = (GatewayError, TransientError, api._RateLimited, api._Refused)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(items, max_size=8))
def test_items_become_valid_records_or_a_clear_error(batch):
    try:
        records = to_records(batch)
    except GatewayError as exc:
        assert "created_at" in str(exc)
        assert "\n" not in str(exc)
        return
    assert len(records) == len(batch)
    assert len({r["log_key"] for r in records}) == len(records)
    for record in records:
        errors = [e.message for e in VALIDATOR.iter_errors(record)]
        assert not errors, errors
        json.dumps(record)  # serializable as it will be written


@given(json_values)
def test_any_data_is_a_page_or_a_clear_error(data):
    try:
        page = parse_log_page(data)
    except GatewayError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(page.items, list)
    assert all(isinstance(item, dict) for item in page.items)
    assert page.total is None or page.total >= 0


bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.builds(
        lambda success, message, data: json.dumps(
            {"success": success, "message": message, "data": data}
        ).encode(),
        scalars,
        scalars | json_values,
        json_values,
    )
)


@settings(max_examples=400)
@given(st.sampled_from([200, 200, 200, 400, 401, 403, 404, 429, 500, 502, 503]), bodies)
def test_any_response_is_data_or_a_clear_error(status, body):
    response = Answer(status, {}, body, "http://127.0.0.1/api/log/self")
    client = ApiClient(
        Settings.from_config({"api_key": "secret-token", "base_url": "http://127.0.0.1"})
    )
    try:
        client._interpret(response)
    except expected_failures as exc:
        assert "\n" not in str(exc)
        assert "secret-token" not in str(exc)
        assert len(str(exc)) < 600


def test_numbers_no_number_can_be_are_refused_clearly():
    # digits to str.isdigit that int() refuses; JSON's NaN and overflowing floats
    assert parse_log_page({"items": [], "total": "¹"}).total == 0
    for value in (math.inf, -math.inf, math.nan):
        with pytest.raises(GatewayError, match="not a number"):
            parse_totals({"quota": value}, "/api/log/self/stat")


charge_values = st.dictionaries(
    st.sampled_from(sorted(CHARGE_TYPES)) | st.text(max_size=6),
    scalars | st.floats() | st.integers(min_value=-(2**70), max_value=2**70),
    max_size=8,
)


@settings(max_examples=400)
@given(charge_values)
def test_charge_inputs_are_what_fit_reads(other):
    # the hot path's shortcut for values already of their column's type gives exactly what
    # the one lenient reader gives: nothing out of range, non-finite or of another type;
    # every input is there, null when missing
    read = charge_inputs(other)
    assert list(read) == list(CHARGE_TYPES)
    fitted = {name: fit(kind, other.get(name)) for name, kind in CHARGE_TYPES.items()}
    assert read == fitted
    assert [type(value) for value in read.values()] == [type(value) for value in fitted.values()]
