# Clearway: `make run` starts the demo, `make test` runs the whole suite. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test soak lint format typecheck bench screens services system-deps clean messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

system-deps:
	bash scripts/system-deps.sh

run: $(STAMP) system-deps
	$(BIN)/clearway seed-demo --orders 50
	$(BIN)/clearway serve --demo-floor

services:
	bash scripts/services.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Page strings: extract every _("…") into the template, then merge it into each language's .po
# (translate the new empty msgstr entries; the app compiles the .po when it starts).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output -o kit/locale/clearway.pot .
	$(BIN)/pybabel update -i kit/locale/clearway.pot -d kit/locale -D clearway --no-fuzzy-matching

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy .

test: $(STAMP) services
	bash scripts/system-deps.sh --test
	$(MAKE) lint typecheck
	$(BIN)/python -m pytest -q

# The once-flaky tests 20 times, the churn and fault soaks, the whole suite 3 times, all under
# two busy loops (scripts/soak.py); ends on "N passed, N failed".
soak: $(STAMP) services
	bash scripts/system-deps.sh --test
	$(BIN)/python scripts/soak.py

# Every page at 1280×800 and 480×800 into docs/screens/ (a plain `make test` writes them to tmp).
screens: $(STAMP) services
	bash scripts/system-deps.sh --test
	CLEARWAY_SCREENS=docs/screens $(BIN)/python -m pytest -q tests/test_screens.py

bench: $(STAMP) services system-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
