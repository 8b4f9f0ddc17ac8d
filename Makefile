# caseroute — `make run` (embedded, needs only Python) and `make test` (provisions Kafka and PostgreSQL).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CASEROUTE := $(VENV)/bin/caseroute
export CASEROUTE_VAR ?= $(CURDIR)/var
PYTEST_ARGS ?=

.PHONY: help venv run test test-unit lint typecheck stack stack-down up down bench bench-e2e bench-tools schemas docs clean

help:
	@echo "make run    - all four services in one process: in-process bus, SQLite, http://127.0.0.1:8080"
	@echo "make test   - venv, Kafka + PostgreSQL (started here unless configured), the whole suite"
	@echo "make stack  - the four services as separate processes on local Kafka and PostgreSQL (admin key: var/stack/admin.key)"
	@echo "make up     - docker compose (for machines with a Docker engine)"
	@echo "make lint   - ruff, mypy and the import boundaries (import-linter contracts in pyproject.toml)"
	@echo "make bench  - router, routing quality, intake, tracker, notifier, adjudication-replay and end-to-end benchmarks on local Kafka and PostgreSQL"
	@echo "make bench-e2e - the end-to-end bench alone (BENCH_ARGS='--quick' for a short run)"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

# The router's decisions compiled with mypyc (router/native.py), rebuilt when a source changes. Without a C
# compiler the build fails, says so, and the router runs from its Python sources: same decisions, slower.
ROUTER_NATIVE := router/domain/native.stamp
$(ROUTER_NATIVE): $(VENV)/.installed $(filter-out router/domain/__init__.py,$(wildcard router/domain/*.py)) $(wildcard router/domain/*.c)
	@mkdir -p $(CASEROUTE_VAR)
	@echo "router: compiling router/domain with mypyc (about a minute of CPU)"
	@$(PY) -m router.native_build > $(CASEROUTE_VAR)/native-build.log 2>&1 \
		|| echo "router: the mypyc build failed (var/native-build.log); the router runs from its Python sources"

venv: $(VENV)/.installed $(ROUTER_NATIVE)

run: venv
	$(CASEROUTE) run --embedded

test: venv lint
	@bash deploy/local/chromium.sh install
	@bash deploy/local/fonts.sh install
	@bash deploy/prometheus/check.sh install
	@bash deploy/local/with-infra.sh bash -c 'bash .ci/pytest.sh $(PYTEST_ARGS)'

test-unit: venv
	$(PY) -m pytest tests/unit -q

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy caseroute catalogue services schemas intake router tracker notifier
	$(VENV)/bin/lint-imports --no-cache --no-logo

stack: venv
	@bash deploy/local/stack.sh start

stack-down:
	@bash deploy/local/stack.sh stop

up:
	docker compose up -d --build

down:
	docker compose down

# Benchmarks (not in CI): JSON results under bench/results/, each with the machine's facts.
BENCH_ARGS ?=
$(VENV)/.bench-tools: $(VENV)/.installed pyproject.toml
	$(VENV)/bin/pip install -q -e '.[bench]'
	touch $@

bench-tools: $(VENV)/.bench-tools

bench: bench-tools
	@bash deploy/local/with-infra.sh bash -c '$(PY) -m bench.router_bench && $(PY) -m bench.routing_bench && $(PY) -m bench.intake_bench && $(PY) -m bench.tracker_bench \
		&& $(PY) -m bench.notifier_bench --events 100000 && $(PY) -m bench.adjudication_replay \
		&& $(PY) -m bench.e2e_bench $(BENCH_ARGS)'

# End to end: four services as processes, open-loop ramp, raw-Kafka baseline, replicas, 1M stored cases.
bench-e2e: bench-tools
	@bash deploy/local/with-infra.sh bash -c '$(PY) -m bench.e2e_bench $(BENCH_ARGS)'

schemas: venv
	$(CASEROUTE) schemas export

docs: venv
	$(CASEROUTE) docs export

clean:
	rm -rf var build *.egg-info .pytest_cache .mypy_cache .ruff_cache router/domain/*.so $(ROUTER_NATIVE)
