# Tributary's commands. The two that matter: `make run` and `make test`.
# Everything runs through the project's virtual environment in .venv (created with
# python3 on first use); requirements are installed again only when they change.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON3 ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
SIZE ?= small
SEED ?= 1
TODAY ?=
PYTEST_ARGS ?=

# Stamp files named after a hash of the requirements: a change to either file makes
# a new stamp name, so the next run installs again.
REQ_HASH := $(shell cat requirements.txt 2>/dev/null | sha256sum | cut -c1-12)
DEV_HASH := $(shell cat requirements.txt requirements-dev.txt 2>/dev/null | sha256sum | cut -c1-12)
RUN_STAMP := $(VENV)/.installed-run-$(REQ_HASH)
DEV_STAMP := $(VENV)/.installed-dev-$(DEV_HASH)

DEMO_PASSWORD := tributary-demo
CELERY_BEAT_SCHEDULER := django_celery_beat.schedulers:DatabaseScheduler

.PHONY: help run test lint migrate seed demo-if-empty install install-dev bench bench-smoke

help:
	@echo "make run      install, migrate, load the demo portfolio if the database is empty,"
	@echo "              then serve http://127.0.0.1:$(PORT)/ with a Celery worker and beat"
	@echo "make test     the whole test suite on the embedded default (SQLite, in-memory broker)"
	@echo "make lint     ruff check and ruff format --check"
	@echo "make migrate  apply the database migrations"
	@echo "make seed     load the demo portfolio (SIZE=small|medium|large SEED=N TODAY=YYYY-MM-DD)"
	@echo "make bench    the performance benchmark on the large demo: writes BENCHMARK.md, fails over budget"
	@echo "              (on \$$DATABASE_URL, else a SQLite file; BENCH_ARGS=\"--only roadmap\" and so on)"
	@echo "make bench-smoke  the same harness on the small demo, budgets reported only (CI)"

$(PY):
	$(PYTHON3) -m venv $(VENV)

$(RUN_STAMP): | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements.txt
	rm -f $(VENV)/.installed-run-*
	touch $@

$(DEV_STAMP): | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-dev-* $(VENV)/.installed-run-*
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
install-dev: $(DEV_STAMP)

migrate: $(RUN_STAMP)
	$(PY) manage.py migrate --no-input

# Exit status 3 from the probe means "no portfolio yet"; anything else non-zero is an
# error worth seeing, not a reason to seed.
demo-if-empty: migrate
	@status=0; $(PY) manage.py shell -v 0 -c "import sys; from portfolio.models import Portfolio; \
	sys.exit(0 if Portfolio.objects.exists() else 3)" || status=$$?; \
	if [ $$status -eq 3 ]; then \
		echo "The database has no portfolio yet: loading the small demo portfolio."; \
		$(PY) manage.py seed_demo --size small; \
	elif [ $$status -ne 0 ]; then \
		exit $$status; \
	fi

seed: migrate
	$(PY) manage.py seed_demo --size $(SIZE) --seed $(SEED) $(if $(TODAY),--today $(TODAY))

run: demo-if-empty
	@echo
	@echo "Tributary: http://127.0.0.1:$(PORT)/  (Ctrl-C stops the web server, the worker and beat)"
	@echo "Demo logins, all with the password $(DEMO_PASSWORD):"
	@echo "  apmo                APMO: runs cadence, integration points, releases, memberships"
	@echo "  portfolio-manager   portfolio manager: epics, Kanban and WIP limits, roadmaps"
	@echo "  architect           enterprise architect: enabler epics, dependencies"
	@echo "  viewer              viewer: reads everything, changes nothing"
	@echo "  rte                 RTE of an ART in the solution train: its status, dependencies, roadmap"
	@echo "  other-rte           RTE of an ART in another value stream"
	@echo "  ste                 STE of that solution train and its ARTs"
	@echo "  ci-pipeline         automation user: posts integration results through the API"
	@echo
	@$(PY) scripts/run.py \
		"web=$(PY) manage.py runserver 127.0.0.1:$(PORT)" \
		"worker=$(VENV)/bin/celery -A portfolio worker --loglevel=INFO --concurrency=2" \
		"beat=$(VENV)/bin/celery -A portfolio beat --loglevel=INFO --scheduler $(CELERY_BEAT_SCHEDULER)"

# The embedded default: SQLite and an in-memory broker (tests/settings.py), whatever
# the shell has set for the database or the broker.
test: $(DEV_STAMP)
	env -u DATABASE_URL -u CELERY_BROKER_URL -u CELERY_RESULT_BACKEND \
		$(VENV)/bin/pytest -n 2 -r fEs $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The benchmark (bench/run.py): never part of `make test`. It seeds the demo into
# $DATABASE_URL (the budget figures are for PostgreSQL), or into bench/bench.sqlite3.
BENCH_ARGS ?=
BENCH_OUTPUT ?= bench/smoke.md

bench: $(RUN_STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

bench-smoke: $(RUN_STAMP)
	$(PY) -m bench.run --size small --requests 3 --warmup 1 --no-enforce --output $(BENCH_OUTPUT) $(BENCH_ARGS)
