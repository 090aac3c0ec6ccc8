# The README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
# Extra requirement for the test venv, e.g. DJANGO='django>=6,<7' (CI's second run).
DJANGO ?=
# REDIS=embedded forces the embedded redis-server even where a Redis answers.
REDIS ?=
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: demo test lint typecheck pytest test-postgres chaos bench clean

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
	ARQ_EMBEDDED_REDIS=$(if $(filter embedded,$(REDIS)),1,0) $(PY) manage.py demo

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy arq_django demo settings bench

pytest: $(VENV)/.test-installed
	mkdir -p .run
	$(PY) -m pytest

test: lint typecheck pytest

# The result-mirror tests again on PostgreSQL (pytest-django creates and drops test_arq_django).
PG_URL ?= postgres://postgres@127.0.0.1:5432/arq_django
MIRROR_TESTS := tests/test_models.py tests/test_admin.py tests/test_progress.py $(wildcard tests/test_mirror_*.py)
MIRROR_TESTS += tests/test_hardening_ingest.py tests/test_hardening_mirror.py
test-postgres: $(VENV)/.test-installed
	mkdir -p .run
	DATABASE_URL=$(PG_URL) $(PY) -m pytest $(MIRROR_TESTS)

# Fault tests on PostgreSQL (a database outage is staged there); REDIS_URL as for `make test`.
CHAOS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/arq_django
chaos: $(VENV)/.test-installed
	mkdir -p .run
	DATABASE_URL=$(CHAOS_DATABASE_URL) $(PY) -m pytest -m chaos tests/chaos -s -p no:cacheprovider

bench: $(VENV)/.test-installed
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .run .mypy_cache .ruff_cache .pytest_cache
