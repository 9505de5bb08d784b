# The single entry for everything: `make demo`, `make test`, `make bench`, `make lint`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench lint fmt postgres chromium clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# The demo runs its own simulated bank (state in demo.db-bank) on free ports, or on BANK_PORT and the next one.
BANK_PORT ?= 0
demo: $(STAMP)
	KLELINE_DATABASE_URL=$${KLELINE_DATABASE_URL:-sqlite:///demo.db} $(BIN)/kleline demo --bank-port $(BANK_PORT)

postgres:
	@scripts/ensure-postgres

# The browser tests drive Debian's Chromium (never a browser downloaded by Playwright itself).
chromium:
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# Two workers (pytest-xdist): the tests spend much of their time waiting on PostgreSQL and Chromium, and each worker
# holds its own few database connections and one browser, so the server stays lightly used.
TEST_WORKERS ?= 2
test: $(STAMP) postgres chromium
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

bench: $(STAMP) postgres
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check src tests bench migrations examples
	$(BIN)/ruff format --check src tests bench migrations examples
	$(BIN)/mypy
	$(BIN)/mypy examples/shop/demo_shop
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench migrations examples
	$(BIN)/ruff check --fix src tests bench migrations examples

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo.db demo.db-* demo-*-bank demo-*-bank.key
