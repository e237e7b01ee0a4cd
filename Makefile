# ScheduleOnce. `make run` starts the whole product; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DEBUG ?= 1

.PHONY: run test test-fast check lint format migrations messages bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

## run: migrate, seed the demo host and start web + Celery worker + beat (+ Graph sandbox)
run: $(STAMP)
	$(BIN)/python manage.py run

## test: lint, format check and the whole test suite
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check_translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-fast: lint and the tests that start no processes, servers or browsers (everyday runs)
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

## check: everything CI runs
check: test

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations: $(STAMP)
	$(BIN)/python manage.py makemigrations

## messages: update the catalogues under locale/ from the source (needs GNU gettext), compile them
messages: $(STAMP)
	$(BIN)/python manage.py makemessages --all -d django
	$(BIN)/python manage.py makemessages --all -d djangojs
	$(BIN)/python manage.py compilemessages

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf var/test-broker var/test_db*.sqlite3 .pytest_cache .ruff_cache
