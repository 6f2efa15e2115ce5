#!/usr/bin/env bash
# Install what the demo and the end-to-end tests need, and nothing twice:
#   uv (with pip, if missing) -> .tools/venv (Meltano, DuckDB, psycopg from demo/tools.txt)
#   -> `meltano install` (the tap from this checkout, the four loaders and the two dbt
#      utilities, dbt-duckdb and dbt-postgres, into .meltano/).
# Each step is skipped while its inputs are unchanged (stamps in .tools/). Loopback + PyPI only.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
QUIET=${QUIET:-}

say() { if [ -t 1 ]; then printf '\033[1m==> %s\033[0m\n' "$*"; else printf '==> %s\n' "$*"; fi; }
stamp_ok() { [ -f ".tools/$1.stamp" ] && [ "$(cat ".tools/$1.stamp")" = "$2" ]; }
digest() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

mkdir -p .tools
# One install at a time (the demo and a test run may start together).
exec 9>.tools/install.lock
if command -v flock >/dev/null; then flock 9; fi

# uv: the one `uv run` names, else on PATH, else as a module of $PYTHON, else from pip.
if [ -n "${UV:-}" ] && "$UV" --version >/dev/null 2>&1; then
  UV=("$UV")
elif command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  if ! "$PYTHON" -m uv --version >/dev/null 2>&1; then
    say "Installing uv with pip"
    "$PYTHON" -m pip install --quiet uv || "$PYTHON" -m pip install --quiet --user uv
  fi
  UV=("$PYTHON" -m uv)
fi

tools=$(digest demo/tools.txt)
if [ ! -x .tools/venv/bin/meltano ] || ! stamp_ok tools "$tools"; then
  say "Installing Meltano and the warehouse clients into .tools/venv (demo/tools.txt)"
  rm -rf .tools/venv .tools/plugins.stamp
  "${UV[@]}" venv --quiet --python "$PYTHON" .tools/venv
  "${UV[@]}" pip install --python .tools/venv/bin/python -r demo/tools.txt
  echo "$tools" > .tools/tools.stamp
fi

plugins=$(digest meltano.yml pyproject.toml uv.lock demo/tools.txt)
if [ ! -d .meltano/extractors/tap-1688token/venv ] || [ ! -d .meltano/utilities/dbt-duckdb/venv ] \
  || ! stamp_ok plugins "$plugins"; then
  say "Installing the Meltano plugins: tap-1688token (this checkout), 4 loaders, dbt-duckdb and dbt-postgres"
  MELTANO_SEND_ANONYMOUS_USAGE_STATS=false .tools/venv/bin/meltano install --clean
  echo "$plugins" > .tools/plugins.stamp
elif [ -z "$QUIET" ]; then
  say "Meltano and its plugins are installed (.tools/, .meltano/)"
fi
