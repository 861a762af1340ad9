# The two commands that matter: `make up` (run the stack on embedded defaults) and `make test` (everything).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: up test install system-deps runtime-deps console-assets extras lint typecheck unit integration bench clean

up: install runtime-deps console-assets
	$(BIN)/answer-ninja up

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

runtime-deps:
	bash scripts/install-system-deps.sh --optional scripts/system-packages-runtime.txt

# The console's htmx (npm, pinned and checked); without npm the console serves its pages without live updates.
console-assets:
	bash scripts/install-console-assets.sh || echo "warning: console assets not installed (live updates off)" >&2

extras: install system-deps
	bash scripts/install-extras.sh

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -m "not integration" -q

integration: install system-deps extras
	$(BIN)/pytest -m integration -q

# Everything, from nothing: system packages, the virtual environment, lint, types, the whole suite.
test: system-deps install extras lint typecheck
	$(BIN)/pytest -q

bench: install system-deps
	$(BIN)/python bench/foundation_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
