# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Serves the API on http://127.0.0.1:8000 (built-in simulator when no API keys are set).
run: $(STAMP)
	$(BIN)/orchestrator serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check orchestrator tests $(wildcard bench)
	$(BIN)/ruff format --check orchestrator tests $(wildcard bench)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .orchestrator out .pytest_cache .mypy_cache .ruff_cache
