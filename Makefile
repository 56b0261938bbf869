# dualsync: `make run` and `make test` work on a fresh machine (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DUALSYNC := $(VENV)/bin/dualsync
PYTHON ?= python3
# The local stack's Kafka address and principals' passwords (scripts/stack.sh generates them once
# per stack dir), unless the environment names another Kafka: then it names the passwords too.
STACK_ENV = if [ -z "$${DUALSYNC_KAFKA_BOOTSTRAP:-}" ]; then eval "$$(scripts/stack.sh env)"; fi;

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

venv: $(STAMP) ## create .venv and install dualsync with its test tools

infra: ## start Kafka and PostgreSQL locally when none answer (no Docker needed)
	scripts/stack.sh up

stop: ## stop what `make infra` started (and nothing else)
	scripts/stack.sh down

status: ## say whether Kafka and PostgreSQL answer
	scripts/stack.sh status

browser: ## install Debian's chromium and chromium-driver, and axe-core, for the browser tests (when missing)
	scripts/browser.sh
	scripts/axe.sh

lint: venv ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy contracts sync_service portal_api portal_web

test: venv infra browser lint ## the whole test suite against the real Kafka and PostgreSQL
	$(PY) -m pytest $(PYTEST_ARGS)

# The per-checkout secrets (administrator token, command-signing key): made once in
# .dualsync/secrets.env (mode 600, outside git) and read by every line that needs them; a
# variable already set in the environment wins.
SECRETS = secrets="$$(scripts/local_secrets.sh)" || exit 1; eval "$$secrets"

run: venv infra ## the whole stack: infrastructure, migrations, topics, demo data, every service
	$(STACK_ENV) $(DUALSYNC) migrate
	$(STACK_ENV) $(DUALSYNC) topics create
	$(STACK_ENV) $(DUALSYNC) seed-demo
	$(STACK_ENV) $(DUALSYNC) erp-sim publish-demo
	@echo "dualsync: portal on http://$${DUALSYNC_API_HOST:-127.0.0.1}:$${DUALSYNC_API_PORT:-8000}/portal/ (the demo administrator's invitation link follows once the API answers)"
	@echo "dualsync: API on http://$${DUALSYNC_API_HOST:-127.0.0.1}:$${DUALSYNC_API_PORT:-8000} (health: /healthz, /readyz, metrics: /metrics)"
	@echo "dualsync: ops page on http://$${DUALSYNC_API_HOST:-127.0.0.1}:$${DUALSYNC_API_PORT:-8000}/ops (sign in with the administrator credential, or as a portal Administrator)"
	@$(SECRETS); echo "dualsync: administrator credential: Authorization: Bearer $$DUALSYNC_ADMIN_TOKEN"
	@# The ERP simulator is the other side, not a dualsync service: a process of its own beside
	@# `run all`, stopped with it (a non-interactive shell's background job ignores Ctrl-C).
	@# portal-invite waits for the API, then prints admin@portal.example's invitation link.
	$(SECRETS); $(STACK_ENV) trap 'kill $$erp_sim $$invite 2>/dev/null' EXIT INT TERM; \
	$(DUALSYNC) erp-sim & erp_sim=$$!; \
	$(DUALSYNC) portal-invite admin@portal.example --account-number US-002 --wait 300 & invite=$$!; \
	$(DUALSYNC) run all

screenshots: venv browser ## the README's pictures of the portal (docs/portal-*.png); `make run` must be running
	@$(SECRETS); $(PY) scripts/portal_screenshots.py

bench: venv infra ## benchmark the pipeline (bench/); e.g. make bench BENCH_ARGS=--smoke
	$(STACK_ENV) $(PY) -m bench $(BENCH_ARGS)

chaos: venv infra ## crash test: kill -9 replicas under load, then count every order (bench/chaos/)
	$(STACK_ENV) $(PY) -m bench.chaos $(CHAOS_ARGS)

contracts: venv ## write JSON Schemas and the AsyncAPI document to build/contracts
	$(DUALSYNC) contracts export --out build/contracts

format: venv ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## remove the virtualenv and caches (the Kafka jar cache stays)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info

.PHONY: help venv infra stop status browser lint test run screenshots bench chaos contracts format clean
