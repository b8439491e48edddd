PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
STAMP_BENCH := $(VENV)/.installed-bench
# the install compiles the optional C speedups in place (hatch_build.py): a change to them reinstalls
BUILD_INPUTS := pyproject.toml hatch_build.py desk/_native.c

.PHONY: run test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_RUN): $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/pip install -q -e '.[fast]'
	touch $@

$(STAMP_TEST): $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(STAMP_RUN)

$(STAMP_BENCH): $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@ $(STAMP_TEST) $(STAMP_RUN)

## make run: install desk and open the TUI on the built-in simulated market
run: $(STAMP_RUN)
	$(BIN)/desk

## make test: install test extras, then lint, format check, type check and the test suite
test: $(STAMP_TEST) lint typecheck unit

lint: $(STAMP_TEST)
	$(BIN)/ruff check desk tests benchmarks hatch_build.py
	$(BIN)/ruff format --check desk tests benchmarks hatch_build.py

typecheck: $(STAMP_TEST)
	$(BIN)/mypy

unit: $(STAMP_TEST)
	$(BIN)/pytest

## make bench: run the benchmarks and print their figures (not part of make test)
bench: $(STAMP_BENCH)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache desk/_native*.so
