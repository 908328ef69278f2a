# The two commands: `make run` (set up and launch the app) and `make test` (set up and test).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.12 2>/dev/null || ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | tail -n 1)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench simulator clean

run: $(VENV)/.run-installed
	$(BIN)/ravatar-live $(ARGS)

test: $(VENV)/.test-installed
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy
	$(BIN)/pytest -ra $(PYTEST_ARGS)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy

simulator: $(VENV)/.run-installed
	$(BIN)/ravatar-live-simulator $(ARGS)

bench: $(VENV)/.test-installed
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

$(VENV)/bin/python:
	@test -n "$(PYTHON)" || { echo "Python 3.12 is required (python3.12 not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/python
	./scripts/system-deps.sh run
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	./scripts/system-deps.sh test
	$(BIN)/pip install -q -e ".[test,pyaudio,asr]"
	touch $@ $(VENV)/.run-installed

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
