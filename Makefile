PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint bench worker beat need-redis

# DEBUG is off unless turned on (courseweb/settings.py). The development targets turn it on; the Celery
# targets too on a laptop, i.e. when neither SECRET_KEY nor DEBUG is set (on a server both are, and decide).
run lint: export DEBUG = 1
CELERY_DEBUG := $(if $(SECRET_KEY)$(DEBUG),,DEBUG=1)

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

test: lint
	$(VENV)/bin/pytest

# The bench creates the database named in BENCH_DATABASE_URL (it must not exist), drops it at the end, and deletes
# its own cache keys from BENCH_REDIS_URL; it needs wrk (apt-get install wrk). BENCH_ARGS: e.g. --rounds 5.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/courseweb_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/15
bench: install
	BENCH_FROM_MAKE=1 DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/bench.py $(BENCH_ARGS)

need-redis:
	@test -n "$(REDIS_URL)" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0): without it tasks run in the web process and a worker has nothing to do." >&2; exit 2; }

worker: install need-redis
	$(CELERY_DEBUG) $(VENV)/bin/celery -A courseweb worker --loglevel=INFO

beat: install need-redis
	$(CELERY_DEBUG) $(VENV)/bin/celery -A courseweb beat --loglevel=INFO
