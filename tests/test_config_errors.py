"""Bad settings fail before any request: non-zero exit, one line naming the setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

TOKEN = "sk-secret-do-not-print-7f3a"


def run_cli(config: dict, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "tap_1688token.tap", *args]
    if config is not None:
        argv += ["--config", "-"] if False else []
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        argv, input=json.dumps(config), capture_output=True, text=True, env=full_env, timeout=60
    )
