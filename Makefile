# One entry point for everything a developer or CI does. `make help` lists the targets.
PYTHON := .venv/bin/python
HOST ?= 127.0.0.1
STORE_PORT ?= 8000

.PHONY: help install run test lint format seed

help:
	@echo "make run     install everything, migrate and seed SQLite, serve the store on http://$(HOST):$(STORE_PORT)"
	@echo "make test    ruff, then the whole test suite against MariaDB and Redis (DATABASE_URL, REDIS_URL)"
	@echo "make format  rewrite the code with ruff's formatter and autofixes"

install:
	@scripts/bootstrap.sh

run: install
	@scripts/run.sh

test: install
	@$(PYTHON) scripts/check_services.py
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m pytest --create-db $(PYTEST_ARGS)

format: install
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .
