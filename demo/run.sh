#!/usr/bin/env bash
# The README's first command (`make demo`): install what is missing, start the API simulator,
# sync it into DuckDB with Meltano twice, and show the warehouse. With TAP_1688TOKEN_API_KEY
# set, sync that account instead (environment prod). Every process it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
bash demo/install.sh
exec .tools/venv/bin/python -m demo.driver "$@"
