"""The built wheel carries its schemas and works from a fresh virtual environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_STREAMS = {
    "usage_logs",
    "topup_logs",
    "manage_logs",
    "system_logs",
    "refund_logs",
    "error_logs",
}
STREAMS = {
    *LOG_STREAMS,
    "daily_stats",
    "daily_model_stats",
    "hourly_usage",
    "account",
    "api_keys",
    "gateway",
    "model_prices",
    "users",
    "channels",
}


def _uv() -> list[str]:
    found = os.environ.get("UV") or shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def test_wheel_installs_and_discovers(tmp_path):
    uv = _uv()
    subprocess.run(
        [*uv, "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("tap_1688token-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"tap_1688token/schemas/{s}.json" for s in STREAMS} <= set(names)
    assert not any(name.startswith("tests/") for name in names), "dev tooling leaked"

    venv = tmp_path / "venv"
    subprocess.run([*uv, "venv", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [*uv, "pip", "install", "--python", str(python), str(wheel)],
        check=True,
        capture_output=True,
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_key": "x", "base_url": "http://127.0.0.1:9"}))
    # Run from tmp_path so nothing can be imported from the checkout by accident.
    found = subprocess.run(
        [str(venv / "bin" / "tap-1688token"), "--config", str(config), "--discover"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    catalog = json.loads(found.stdout)
    by_name = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert set(by_name) == STREAMS
    for name in LOG_STREAMS:
        assert by_name[name]["key_properties"] == ["log_key"]
        assert "other" in by_name[name]["schema"]["properties"]
    assert by_name["daily_stats"]["key_properties"] == ["date", "timezone"]
    keys = ["date", "timezone", "model_name"]
    assert by_name["daily_model_stats"]["key_properties"] == keys
