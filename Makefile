# crmphase — the two commands a new user runs: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app crmphase

.PHONY: venv demo serve test lint format bench wheel clean

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

## make demo: install, migrate, load the demo portfolio and serve on http://127.0.0.1:5000
demo: venv
	$(FLASK) db upgrade
	$(FLASK) demo
	CRMPHASE_SECURE_COOKIES=0 $(FLASK) run --host 127.0.0.1 --port 5000

## make test: install, lint, type-check, and run the whole suite (TEST_DATABASE_URL=postgresql://... for PostgreSQL)
test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	$(BIN)/python bench/run.py --size S

## make wheel: build dist/crmphase-*.whl (templates, static files and migrations inside)
wheel: venv
	rm -rf build  # setuptools would pack a stale build/lib too
	$(BIN)/pip wheel --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis test-artifacts build dist *.egg-info
