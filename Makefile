# Two entry points for a fresh clone: `make demo` and `make test`.
# Both bootstrap uv with pip when it is missing, then let uv build what they need.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv

.PHONY: test lint bootstrap meltano browser demo simulator

bootstrap:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user uv
	@$(UV) sync --locked

# The same checks as .pre-commit-config.yaml: style, types (strict on the package), and
# dependencies declared exactly as imported.
lint: bootstrap
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run deptry .

# Meltano (in .tools/venv) and the plugins of meltano.yml (in .meltano/): the end-to-end
# tests and the demo need them; skipped while meltano.yml, pyproject.toml and the locks are unchanged.
meltano:
	@PYTHON=$(PYTHON) bash demo/install.sh

# Debian's chromium: tests/test_report.py opens the demo's report in it (headless, offline) to
# see its charts drawn. Installed when missing and we are root (as CI is); otherwise that test
# skips, and fails under CI=true. Nothing is done, or printed, when it is there.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "==> Installing Debian's chromium (apt-get), for tests/test_report.py" >&2; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else \
	    echo "==> no chromium: tests/test_report.py skips (fails if CI=true); sudo apt-get install chromium" >&2; \
	  fi; \
	}

test: lint meltano browser
	$(UV) run pytest

# The simulator, the tap through Meltano into DuckDB twice, and what the warehouse holds.
# `make demo SCOPE=site`: a gateway of several users, read as its operator.
SCOPE ?= self
demo:
	@PYTHON=$(PYTHON) bash demo/run.sh --scope $(SCOPE)

# A realistic New API account on http://127.0.0.1:8765 (token sim-token, user 1), for
# `meltano run tap-1688token target-duckdb` by hand. Ctrl-C stops it.
simulator:
	@$(PYTHON) -m simulator
