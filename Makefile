# The README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
# Extra requirement for the test venv, e.g. DJANGO='django>=6,<7' (CI's second run).
DJANGO ?=
# `make demo` runs on a throwaway embedded redis-server unless REDIS_URL names a server (or
# REDIS=local: localhost:6379 if it answers), so it never writes into a Redis you did not choose.
REDIS ?=
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: demo test lint typecheck pytest screenshot test-postgres chaos bench bench-tasks bench-peers dist e2e clean arq-suite \
	test-redis-floor test-celery-coinstall test-redis-newest

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.dev-installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]' $(if $(DJANGO),'$(DJANGO)')
	touch $@

demo: $(VENV)/.dev-installed
	mkdir -p .run
	$(PY) manage.py migrate --noinput -v 0
	ARQ_EMBEDDED_REDIS=$(if $(or $(REDIS_URL),$(filter local,$(REDIS))),0,1) $(PY) manage.py demo

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy arq_django demo settings bench

pytest: $(VENV)/.test-installed
	mkdir -p .run
	$(PY) -m pytest

test: lint typecheck pytest

# docs/dashboard.png: the browser test (tests/dashboard/test_browser.py) on a day of seeded rows, in
# Debian's chromium; REDIS_URL as for `make test`.
screenshot: $(VENV)/.test-installed
	mkdir -p .run docs
	ARQ_DJANGO_DASHBOARD_PNG=docs/dashboard.png $(PY) -m pytest tests/dashboard/test_browser.py -k chromium -q

# The result-mirror tests again on PostgreSQL (pytest-django creates and drops test_arq_django).
PG_URL ?= postgres://postgres@127.0.0.1:5432/arq_django
MIRROR_TESTS := tests/mirror tests/jobs/test_progress.py
MIRROR_TESTS += tests/ops/test_hardening_api.py tests/ingest/test_hardening_properties.py
MIRROR_TESTS += tests/model_tasks
MIRROR_TESTS += tests/tasks
MIRROR_TESTS += tests/dashboard/test_queries.py tests/dashboard/test_views.py  # percentile_cont on PostgreSQL
test-postgres: $(VENV)/.test-installed
	mkdir -p .run
	DATABASE_URL=$(PG_URL) $(PY) -m pytest $(MIRROR_TESTS)

# Fault tests on PostgreSQL (a database outage is staged there); REDIS_URL as for `make test`.
CHAOS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/arq_django
chaos: $(VENV)/.test-installed
	mkdir -p .run
	DATABASE_URL=$(CHAOS_DATABASE_URL) $(PY) -m pytest -m chaos tests/chaos -s -p no:cacheprovider

# arq's own test suite (its sdist's tests/) against plain arq, then against our worker (tests/arq_suite/).
ARQ_VERSION := 0.28.0
ARQ_SUITE_VENV := .venv-arq-suite
ARQ_SDIST := .run/arq-$(ARQ_VERSION)
$(ARQ_SUITE_VENV)/.installed: tests/arq_suite/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(ARQ_SUITE_VENV)
	$(ARQ_SUITE_VENV)/bin/pip install --quiet -r tests/arq_suite/requirements.txt
	$(ARQ_SUITE_VENV)/bin/pip install --quiet --no-deps -e .
	touch $@
$(ARQ_SDIST)/tests/conftest.py: | $(ARQ_SUITE_VENV)/.installed
	mkdir -p .run
	$(ARQ_SUITE_VENV)/bin/pip download --quiet --no-binary :all: --no-deps arq==$(ARQ_VERSION) -d .run
	tar -xzf .run/arq-$(ARQ_VERSION).tar.gz -C .run
	touch $@
arq-suite: $(ARQ_SUITE_VENV)/.installed $(ARQ_SDIST)/tests/conftest.py
	$(ARQ_SUITE_VENV)/bin/python tests/arq_suite/run.py $(ARQ_SDIST)

# The worker's tests on the lowest redis-py pyproject.toml allows (redis.asyncio without aclose()).
REDIS_FLOOR := 4.6.0
REDIS_FLOOR_VENV := .venv-redis-floor
WORKER_TESTS := $(addprefix tests/worker/test_,worker.py loop.py execute.py claim.py wake.py finish.py burst.py \
	arq_compat.py retries.py heartbeat.py overruns.py) tests/jobs/test_crontab.py tests/client/test_abort.py
$(REDIS_FLOOR_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(REDIS_FLOOR_VENV)
	$(REDIS_FLOOR_VENV)/bin/pip install --quiet -e '.[test]' 'redis[hiredis]==$(REDIS_FLOOR)'
	touch $@
test-redis-floor: $(REDIS_FLOOR_VENV)/.installed
	mkdir -p .run
	$(REDIS_FLOOR_VENV)/bin/python -m pytest $(WORKER_TESTS)

# A Celery project moving over (README, "Moving from Celery"): celery[redis] 5.7 and redis-py 8 in a venv
# of their own with the wheel from `make dist` installed without the worker extra (`pip check` must
# pass); the project enqueues there and a worker in $(VENV) runs the jobs (tests/coinstall/).
CELERY_VENV := .venv-celery
CELERY_REQUIREMENTS := 'celery[redis]>=5.7,<5.8' 'redis>=8,<9' 'django>=5.2'
# What tests/no_arq.py (the producer side on this repository's test settings) needs there as well.
CELERY_TEST_REQUIREMENTS := 'django-environ>=0.11' 'django-tasks>=0.12'
$(CELERY_VENV)/.installed:
	$(PYTHON) -m venv $(CELERY_VENV)
	$(CELERY_VENV)/bin/pip install --quiet --disable-pip-version-check $(CELERY_REQUIREMENTS) $(CELERY_TEST_REQUIREMENTS)
	touch $@
test-celery-coinstall: dist $(CELERY_VENV)/.installed
	mkdir -p .run
	$(CELERY_VENV)/bin/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps dist/*.whl
	$(CELERY_VENV)/bin/pip install --quiet --disable-pip-version-check dist/*.whl $(CELERY_REQUIREMENTS)
	$(CELERY_VENV)/bin/pip check
	CELERY_VENV=$(CELERY_VENV) $(PY) -m pytest -m coinstall tests/coinstall -p no:cacheprovider

# The worker is tested on the newest redis-py it allows: arq 0.28 caps it below 6, so $(VENV) resolves
# the newest 5.x (5.3.1 today). This checks that claim against the index, so a new 5.x release shows up
# here until $(VENV) is rebuilt with it.
test-redis-newest: $(VENV)/.test-installed
	$(PY) -m pip index versions redis 2>/dev/null | $(PY) tests/redis_newest.py

bench: $(VENV)/.test-installed
	$(PY) -m bench.run
	$(PY) -m bench.model_tasks

# Django Tasks backends side by side (bench.tasks_peers): ours, then django-tasks-db and django-vtasks in venvs
# of their own, with a sync task; then ours and django-vtasks again with an async task.
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14
TASKS_DB_VENV := .run/bench-tasks-db
$(TASKS_DB_VENV)/.installed:
	$(PYTHON) -m venv $(TASKS_DB_VENV)
	$(TASKS_DB_VENV)/bin/pip install --quiet 'django>=5.2,<6' 'django-tasks-db[compat]'
	touch $@
# django-vtasks needs Python 3.12+ and Django 6: VTASKS_PYTHON names that interpreter.
VTASKS_PYTHON ?= python3.12
VTASKS_VENV := .run/bench-vtasks
$(VTASKS_VENV)/.installed:
	$(VTASKS_PYTHON) -m venv $(VTASKS_VENV)
	$(VTASKS_VENV)/bin/pip install --quiet 'django-vtasks[valkey]' redis
	touch $@
bench-tasks: $(VENV)/.test-installed $(TASKS_DB_VENV)/.installed $(VTASKS_VENV)/.installed
	for mirror in enqueue worker off; do \
	  BENCH_MIRROR=$$mirror BENCH_PEER=arq BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(PY) -m bench.tasks_peers || exit 1; done
	BENCH_PEER=tasks-db $(TASKS_DB_VENV)/bin/python -m bench.tasks_peers
	BENCH_PEER=vtasks BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(VTASKS_VENV)/bin/python -m bench.tasks_peers
	BENCH_PEER=arq BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(PY) -m bench.tasks_peers --task async
	BENCH_PEER=vtasks BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(VTASKS_VENV)/bin/python -m bench.tasks_peers --task async

# arq_django beside huey, dramatiq, saq, streaQ, taskiq, Celery and raw arq (bench/peers/, bench/README.md),
# each peer from the pins in bench/peers/requirements-*.txt, on a private redis-server it starts and stops.
# BENCH_PEERS_ARGS: e.g. --quick or --jobs 300 (fewer jobs), --no-postgres, --redis-port 28042, or
# --redis-url URL (then database BENCH_PEERS_DB of that server only, FLUSHDB-ed);
# BENCH_PEERS_PG_URL: a PostgreSQL database it may drop and create.
BENCH_PEERS_DB ?= 11
BENCH_PEERS_ARGS ?=
BENCH_PEERS_PG_URL ?= postgres://postgres@127.0.0.1:5432/arq_django_bench_peers
PEERS_VENV := .run/bench-peers
PEERS_CELERY_VENV := .run/bench-celery
$(PEERS_VENV)/.installed: bench/peers/requirements-peers.txt
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@
$(PEERS_CELERY_VENV)/.installed: bench/peers/requirements-celery.txt
	$(PYTHON) -m venv $(PEERS_CELERY_VENV)
	$(PEERS_CELERY_VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@
bench-peers: $(VENV)/.test-installed $(PEERS_VENV)/.installed $(PEERS_CELERY_VENV)/.installed
	BENCH_PEERS_PG_URL=$(BENCH_PEERS_PG_URL) $(PY) -m bench.peers.run --db $(BENCH_PEERS_DB) $(BENCH_PEERS_ARGS)

# The sdist and the wheel a user installs (README, "Quick start"); twine checks their metadata.
dist: $(VENV)/.test-installed
	rm -rf dist
	$(PY) -m build --outdir dist . >/dev/null
	$(BIN)/twine check --strict dist/*

# The README's quick start in a fresh `django-admin startproject`, with the wheel from `make dist`
# installed in a fresh venv of E2E_PYTHON, a real worker, Redis, gunicorn and uvicorn.
# E2E_CELLS: <sqlite|postgres>-<debug|nodebug> ...; E2E_DJANGO: the Django requirement for that venv.
E2E_PYTHON ?= $(PYTHON)
E2E_DJANGO ?= django
E2E_CELLS ?= sqlite-debug sqlite-nodebug postgres-debug
E2E_PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
e2e: $(VENV)/.test-installed
	mkdir -p .run
	rm -f .run/e2e-cells.txt
	E2E_PYTHON='$(E2E_PYTHON)' E2E_DJANGO='$(E2E_DJANGO)' E2E_CELLS='$(E2E_CELLS)' E2E_PG_URL='$(E2E_PG_URL)' $(PY) -m pytest -m e2e tests/e2e -p no:cacheprovider; \
	  status=$$?; cat .run/e2e-cells.txt 2>/dev/null; exit $$status

clean:
	rm -rf $(VENV) .run dist .mypy_cache .ruff_cache .pytest_cache
