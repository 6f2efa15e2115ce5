"""The SDK's standard tap tests, against a simulator served for this module."""

from __future__ import annotations

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from simulator import ALL_TYPE_WEIGHTS, SimConfig, Simulator, generate_logs, site_logs
from tap_1688token.tap import Tap1688Token
from tests.conftest import DAY, T0

# Rows per model, so daily_model_stats has records too.
_SIM = Simulator(
    generate_logs(600, start=T0, end=T0 + 3 * DAY, seed=5, type_weights=ALL_TYPE_WEIGHTS),
    SimConfig(stat_shape="list"),
)
_SERVING = _SIM.serve()
_BASE_URL = _SERVING.__enter__()  # a daemon thread; it ends with the test process

TestTap1688Token = get_tap_test_class(
    tap_class=Tap1688Token,
    config={"api_key": "sim-token", "base_url": _BASE_URL, "min_age_seconds": 0},
    # The gateway's users and channels are read with scope site only (the class below).
    suite_config=SuiteConfig(ignore_no_records_for_streams=["users", "channels"]),
)

# A whole gateway, read with an admin's token.
_SITE = Simulator(
    site_logs(800, start=T0, end=T0 + 3 * DAY, seed=6, type_weights=ALL_TYPE_WEIGHTS),
    SimConfig(stat_shape="list", is_admin=True),
)
_SITE_SERVING = _SITE.serve()
_SITE_URL = _SITE_SERVING.__enter__()

TestTap1688TokenSite = get_tap_test_class(
    tap_class=Tap1688Token,
    config={"api_key": "sim-token", "base_url": _SITE_URL, "min_age_seconds": 0, "scope": "site"},
    suite_config=SuiteConfig(),
)


def teardown_module() -> None:
    # Stop the server while its thread still runs; a generator finalized at exit would wait
    # for a daemon thread that is already gone.
    _SERVING.__exit__(None, None, None)
    _SITE_SERVING.__exit__(None, None, None)
