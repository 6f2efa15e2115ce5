"""One declaration per fact: what is written from a single source matches it everywhere."""

from __future__ import annotations

import hashlib
import inspect
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from singer_sdk import Stream

from tap_1688token.fields import schema_text, schemas
from tap_1688token.logtypes import LOG_TYPES
from tap_1688token.settings import PROPERTIES, Settings
from tap_1688token.tap import Tap1688Token

ROOT = Path(__file__).resolve().parent.parent

# sha256 of singer-sdk 0.54.9's `Stream._generate_record_messages`, the private hook
# tap_1688token/sdk_adapter.py overrides. A new SDK that changes it fails here: read the
# new version, bring the adapter in line (or drop it), then update the pin.
PINNED_RECORD_HOOK = "9b5f9fbcdedb7a1aec5673a44f51fd9bd88840f19f0fb29cba9953b9d9095bfe"


def test_schema_files_are_written_from_the_field_table():
    written = {path.stem: path.read_text(encoding="utf-8") for path in ROOT.glob("schemas/*.json")}
    expected = {name: schema_text(schema) for name, schema in schemas().items()}
    assert set(written) == set(expected)
    stale = [name for name in expected if written[name] != expected[name]]
    assert not stale, f"run `python -m tap_1688token.fields` to rewrite {stale}"


def test_every_log_type_has_its_stream_and_nothing_else_does():
    streams = Tap1688Token(config={"api_key": "x"}).streams
    for log_type in LOG_TYPES:
        assert streams[log_type.stream].log_type is log_type
    log_streams = {name for name, stream in streams.items() if hasattr(stream, "log_type")}
    assert log_streams == {log_type.stream for log_type in LOG_TYPES}


def test_settings_object_has_exactly_the_schemas_settings():
    assert [field.name for field in fields(Settings)] == list(PROPERTIES)
    built = Settings.from_config({"api_key": "x"})
    for name, prop in PROPERTIES.items():
        if "default" in prop:
            assert getattr(built, name) == prop["default"], name


def test_readme_settings_table_is_the_taps_about_output():
    about = subprocess.run(
        [sys.executable, "-m", "tap_1688token.tap", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = {line.split(" | ")[0][2:]: line for line in about.splitlines() if line.startswith("| ")}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    listed = [line for line in section.splitlines() if re.match(r"\| [a-z_]+ \|", line)]
    assert [line.split(" | ")[0][2:] for line in listed] == list(PROPERTIES)
    for line in listed:
        assert line == rows[line.split(" | ")[0][2:]], line


def test_the_private_sdk_hook_is_the_one_the_adapter_was_written_against():
    source = inspect.getsource(Stream._generate_record_messages)
    assert hashlib.sha256(source.encode()).hexdigest() == PINNED_RECORD_HOOK, (
        "singer-sdk changed Stream._generate_record_messages: check sdk_adapter.py"
    )
    stream = Tap1688Token(config={"api_key": "x"}).streams["usage_logs"]
    assert hasattr(stream, "_stream_version"), "sdk_adapter.py reads Stream._stream_version"
