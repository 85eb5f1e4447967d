# loono-infra: every target sets itself up first; `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
# Checkov pins boto3 exactly and is not a library: it gets a virtualenv of its own.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_VERSION ?= 3.3.30
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/loono-infra
# Checks run each command once, as on CI: no CLI server left warm behind them (warm/client.py).
ONCE := LOONO_CLI_SERVER=off $(CLI)
ENV ?= sandbox
# Rehearse an AWS environment on the sandbox: make plan ENV=production SANDBOX=1
SANDBOX ?=
SANDBOX_FLAG := $(if $(SANDBOX),--sandbox,)
NEEDS_SANDBOX := $(if $(or $(SANDBOX),$(filter sandbox,$(ENV))),yes,)

# Debian packages the sandbox's image side needs: a registry, bcrypt htpasswd, a static busybox,
# PostgreSQL (its binaries play the sandbox's RDS instances and the test backend's psql).
APT_PACKAGES := docker-registry apache2-utils busybox-static postgresql
APT_STAMP := .loono/.apt-installed
IMAGE ?=

.PHONY: help setup demo plan apply deploy destroy test unit integration lint bench faults clean schema durations

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

$(APT_STAMP):
	@missing=""; for p in docker-registry htpasswd busybox; do command -v $$p >/dev/null || missing=yes; done; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing=yes; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi
	mkdir -p $(dir $@) && touch $@

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION) $(APT_STAMP) ## Create .venv, .venv-checkov; apt-get the registry, htpasswd, busybox, postgresql

demo: setup ## Sandbox up, apply the stack, deploy a healthy image, deploy a broken one (rollback)
	$(PY) -m loono_infra.demo

plan: setup ## Render, init and plan ENV (exit 2 from Terraform = changes, not an error)
	@if [ -n "$(NEEDS_SANDBOX)" ]; then $(CLI) sandbox up; fi
	@$(CLI) plan --env $(ENV) $(SANDBOX_FLAG); rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 2 ]

apply: setup ## Apply the plan the last `make plan` saved for ENV
	$(CLI) apply --env $(ENV) $(SANDBOX_FLAG)

deploy: setup ## Deploy IMAGE (name:tag) to ENV: push, roll out, health + API checks, rollback on failure
	@if [ -z "$(IMAGE)" ]; then echo "usage: make deploy ENV=sandbox IMAGE=loono-backend:<tag>"; exit 1; fi
	@if [ -n "$(NEEDS_SANDBOX)" ]; then $(CLI) sandbox up; fi
	$(CLI) deploy --env $(ENV) --image $(IMAGE) $(SANDBOX_FLAG)

destroy: setup ## Destroy everything of ENV
	$(CLI) destroy --env $(ENV) $(SANDBOX_FLAG) --yes

schema: setup ## Regenerate environments/settings.schema.json and the README's settings reference
	$(CLI) schema --output environments/settings.schema.json --readme README.md

lint: setup ## ruff, mypy --strict, the import contract (layers), terraform fmt -check
	$(VENV)/bin/ruff check loono_infra tests bench policies
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-logo --no-cache
	$(ONCE) fmt --check
	$(ONCE) validate --env production
	$(ONCE) validate --env sandbox

unit: setup ## Pure, fast tests (everything not marked integration)
	$(VENV)/bin/pytest -q -m "not integration"

# Integration tests mostly wait (on the AWS provider's polling, on containers starting): six
# pytest-xdist workers keep two cores busy (2026-11-28: 721 tests in 10:50 with six, 12:30 with
# four; on a slower day, CPU-bound, 17:14 against 17:26; docs/benchmarks.md, session 13, says
# where the CPU goes). A test file stays on one worker (--dist loadfile),
# so its module fixtures (an applied stack) are made once; each worker has its own sandbox.
# The longest files start first, in the order conftest sorts them (tests/durations.py).
# TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 6
XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

integration: setup ## Real Terraform + real provider + sandbox
	$(VENV)/bin/pytest -q $(XDIST) -m integration

test: setup lint ## Every test (unit + integration) with coverage
	$(VENV)/bin/pytest -q $(XDIST) --durations=25 --cov=loono_infra --cov-report=term --cov-report=xml

durations: setup ## Re-measure each test file's time (tests/durations.json: longest start first)
	-$(VENV)/bin/pytest -q $(XDIST) --junitxml=.loono/durations.xml
	$(PY) -m tests.durations .loono/durations.xml

bench: setup ## Benchmarks: ratios against the bare tools
	$(PY) bench/plan_overhead.py
	$(PY) bench/gate_overhead.py
	$(PY) bench/owners_overhead.py
	$(PY) bench/dangling_lookups.py
	$(PY) bench/rollout_detection.py

faults: setup ## The fault matrix: kill, cut off, race; one line per row
	$(PY) bench/faults.py

clean: ## Remove the work area, caches and the venv
	-$(CLI) sandbox down 2>/dev/null
	rm -rf .loono .pytest_cache .mypy_cache .ruff_cache coverage.xml .coverage $(VENV) $(CHECKOV_VENV)
