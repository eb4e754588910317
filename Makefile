# Hearth: `make run` starts the app, `make test` checks everything, `make bench` measures.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export QT_QPA_PLATFORM ?= offscreen

.PHONY: run test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hearth

lint: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy app/core

# The core and CLI tests run once with PySide6 hidden (tests/support/without_qt.py), as on
# a machine without Qt; then the window's tests.
pytest: $(STAMP)
	$(BIN)/python -m pytest -q -p tests.support.without_qt -p no:pytest-qt tests/core $(PYTEST_ARGS)
	$(BIN)/python -m pytest -q tests/ui $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The Linux one-folder bundle in dist/Hearth, proved by its own self-test (packaging/README.md).
.PHONY: bundle
bundle: $(STAMP)
	PYTHON=$(BIN)/python packaging/linux/build.sh
