# Quick start: `make run` (serves on http://127.0.0.1:8000) and `make test`.
# With DATABASE_URL and REDIS_URL set, the same targets use PostgreSQL, Redis and a
# real Celery worker and beat (services mode); with nothing set, SQLite and
# in-process tasks (embedded mode).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
WORKERS ?= auto
STAMP := $(VENV)/.installed

.PHONY: run install migrate demo serve worker beat test test-fast lint bench bench-short clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

run: demo serve

serve: install
ifeq ($(strip $(REDIS_URL)),)
	$(PY) manage.py run_embedded 127.0.0.1:$(PORT)
else
	@echo "Services mode: gunicorn + Celery worker + beat (Ctrl-C stops all three)"
	$(PY) manage.py collectstatic --noinput -v0
	trap 'kill 0' INT TERM EXIT; \
	$(VENV)/bin/celery -A oms worker -l info --concurrency 2 & \
	$(VENV)/bin/celery -A oms beat -l info & \
	$(VENV)/bin/gunicorn oms.wsgi --bind 127.0.0.1:$(PORT) --workers 3 --access-logfile - & \
	wait
endif

worker: install
	$(VENV)/bin/celery -A oms worker -l info --concurrency 2

beat: install
	$(VENV)/bin/celery -A oms beat -l info

test: install
	$(PY) -m pytest -n $(WORKERS) $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -n $(WORKERS) -m "not slow" $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .

# Every benchmark on PostgreSQL (DATABASE_URL); refreshes bench/README.md's table.
bench: install
	$(PY) bench/run_all.py

# The same, CI-sized: fails if a benchmark crashes or writes malformed figures.
bench-short: install
	$(PY) bench/run_all.py --short

clean:
	rm -rf $(VENV) var staticfiles
