# Hearth: `make run` starts the app, `make test` checks everything, `make bench` measures.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export QT_QPA_PLATFORM ?= offscreen

.PHONY: run test lint typecheck pytest bench clean i18n lupdate

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

# Translations: resources/i18n/hearth_<code>.ts are the sources (committed); the .qm files
# Qt reads are built from them (not committed). `make lupdate` adds the text newly wrapped
# in tr() to every .ts, as unfinished entries to translate (README: Languages).
I18N_TS := $(wildcard resources/i18n/*.ts)
I18N_QM := $(I18N_TS:.ts=.qm)

i18n: $(I18N_QM)

resources/i18n/%.qm: resources/i18n/%.ts | $(STAMP)
	$(BIN)/pyside6-lrelease -silent $< -qm $@

lupdate: $(STAMP)
	$(BIN)/pyside6-lupdate -locations none -no-obsolete -extensions py app/ui -ts $(I18N_TS)

# The core and CLI tests run once with PySide6 hidden (tests/support/without_qt.py), as on
# a machine without Qt; then the window's tests, one file per process: windows a file's
# tests leave alive would otherwise take part in every later theme switch (each one
# repolished and re-highlighted), and a whole run slowed down file after file.
pytest: $(STAMP) i18n
	$(BIN)/python -m pytest -q -p tests.support.without_qt -p no:pytest-qt tests/core $(PYTEST_ARGS)
	for file in tests/ui/test_*.py; do $(BIN)/python -m pytest -q $$file $(PYTEST_ARGS) || exit 1; done

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The Linux one-folder bundle in dist/Hearth, proved by its own self-test (packaging/README.md).
.PHONY: bundle
bundle: $(STAMP) i18n
	PYTHON=$(BIN)/python packaging/linux/build.sh
