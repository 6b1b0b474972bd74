# One entry point for everything a developer or CI does. `make help` lists the targets.
PYTHON := .venv/bin/python
HOST ?= 127.0.0.1
STORE_PORT ?= 8000
PAYMENTS_PORT ?= 8001

.PHONY: help install install-test run test lint format seed bench

help:
	@echo "make run     install everything, migrate and seed SQLite, serve the store on http://$(HOST):$(STORE_PORT)"
	@echo "             and the payments service on http://$(HOST):$(PAYMENTS_PORT)"
	@echo "make test    ruff, then the store's tests against MariaDB and Redis (DATABASE_URL, REDIS_URL),"
	@echo "             then the payments service's tests against MariaDB (PAYMENTS_DATABASE_URL);"
	@echo "             installs Debian's chromium for the browser tests where it is missing"
	@echo "make format  rewrite the code with ruff's formatter and autofixes"
	@echo "make bench   Locust against store and payments (gunicorn, MariaDB, Redis), about 8 minutes; prints the"
	@echo "             targets and records the run in docs/benchmarks.md and docs/benchmarks.png (BENCH_SECONDS=10"
	@echo "             a run, 3 runs a scenario; BENCH_ARGS=\"--scenario reports\" for a subset, BENCH_ARGS=--help)"

install:
	@scripts/bootstrap.sh

# What `install` does, plus the browser the tests drive (not needed to run the store).
install-test:
	@scripts/bootstrap.sh --test

run: install
	@scripts/run.sh

test: install-test
	@$(PYTHON) scripts/check_services.py
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m pytest --create-db $(PYTEST_ARGS)
	$(PYTHON) -m pytest --create-db --ds=store_manager.settings.payments_test payments/tests

format: install
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

bench: install
	$(PYTHON) -m scripts.bench $(BENCH_ARGS)
