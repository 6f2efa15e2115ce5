# Two entry points for a fresh clone: `make test` and (later) `make demo`.
# Both bootstrap uv with pip when it is missing, then let uv build .venv from uv.lock.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv

.PHONY: test lint bootstrap

bootstrap:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user uv
	@$(UV) sync --locked

lint: bootstrap
	$(UV) run ruff check .
	$(UV) run ruff format --check .

test: lint
	$(UV) run pytest
