# Two entry points for a fresh clone: `make demo` and `make test`.
# Both bootstrap uv with pip when it is missing, then let uv build what they need.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv

.PHONY: test lint bootstrap meltano demo simulator

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

test: lint meltano
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
