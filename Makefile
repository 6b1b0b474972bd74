# One entry point for everything a developer or CI does. `make help` lists the targets.
PYTHON := .venv/bin/python
HOST ?= 127.0.0.1
STORE_PORT ?= 8000
PAYMENTS_PORT ?= 8001

SERVICES := $(PYTHON) -m scripts.services

.PHONY: help install install-test install-servers install-stack install-bench run stack test test-suites services services-status services-stop format bench

help:
	@echo "make run     install everything, migrate and seed SQLite, serve the store on http://$(HOST):$(STORE_PORT)"
	@echo "             and the payments service on http://$(HOST):$(PAYMENTS_PORT)"
	@echo "make test    ruff and the import contracts, then the store's tests against MariaDB and Redis (DATABASE_URL, REDIS_URL),"
	@echo "             then the payments service's tests against MariaDB (PAYMENTS_DATABASE_URL); starts"
	@echo "             throwaway servers on loopback for the URLs nothing answers on, and stops them after;"
	@echo "             installs Debian's mariadb-server, redis-server and chromium where they are missing"
	@echo "make services         start MariaDB and Redis on loopback for the URLs nothing answers on (data"
	@echo "                      in var/services/); make services-status, make services-stop"
	@echo "make stack   the production topology of docker-compose.yml from processes, through KrakenD on"
	@echo "             http://127.0.0.1:8080: STACK_REPLICAS store replicas (2) and payments under gunicorn,"
	@echo "             the workers, MariaDB, Redis and Prometheus; data and logs in var/stack/"
	@echo "make format  rewrite the code with ruff's formatter and autofixes"
	@echo "make bench   Locust against store and payments (gunicorn, MariaDB, Redis), about 8 minutes; prints the"
	@echo "             targets and records the run in docs/benchmarks.md and docs/benchmarks.png (BENCH_SECONDS=10"
	@echo "             a run, 3 runs a scenario; BENCH_ARGS=\"--scenario reports\" for a subset, BENCH_ARGS=--help),"
	@echo "             then the light client (wrk) on issue 15's targets and the gateway's cost (BENCH_LIGHT_ARGS=--help)"

install:
	@scripts/bootstrap.sh

# What `install` does, plus the browser the tests drive (not needed to run the store).
install-test:
	@scripts/bootstrap.sh --test

run: install
	@$(PYTHON) -m scripts.serve dev

# The production topology (docker-compose.yml) from processes: KrakenD on http://127.0.0.1:8080.
stack: install-stack
	@$(PYTHON) -m scripts.serve stack

install-stack:
	@scripts/bootstrap.sh --stack

test: install-test
	@$(SERVICES) run -- $(MAKE) --no-print-directory test-suites

# `make test` on servers that already answer.
test-suites:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	.venv/bin/lint-imports --no-cache
	$(PYTHON) -m pytest --create-db $(PYTEST_ARGS)
	$(PYTHON) -m pytest --create-db --ds=store_manager.settings.payments_test payments/tests

services: install-servers
	@$(SERVICES) start

services-status: install
	@$(SERVICES) status

services-stop: install
	@$(SERVICES) stop

install-servers:
	@scripts/bootstrap.sh --servers

format: install
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

# Locust on every scenario, then the light client, wrk, on issue 15's targets and the gateway's cost
# (its own stack: scripts/bench/light.py).
bench: install-bench
	@$(SERVICES) run -- $(PYTHON) -m scripts.bench $(BENCH_ARGS)
	@$(PYTHON) -m scripts.bench.light $(BENCH_LIGHT_ARGS)

install-bench:
	@scripts/bootstrap.sh --bench
