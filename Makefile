# Each target installs what it needs into .venv by itself.
PYTHON ?= python3
VENV ?= .venv
# Pin a Django series for the virtual environment, e.g. `make test VENV=.venv-dj42 DJANGO=4.2`.
DJANGO ?=
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The port `make demo` serves on, e.g. `make demo PORT=8001`.
PORT ?= 8000

.PHONY: install demo test bench bench-delivery lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,bench,dev]" $(if $(DJANGO),"Django==$(DJANGO).*")
	touch $(STAMP)

install: $(STAMP)

## Run the example project on http://127.0.0.1:$(PORT) (SQLite, no services needed); its demo
## webhook posts to the same port.
demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_data --port $(PORT)
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

## Run the whole test suite (SQLite; set DATABASE_URL for PostgreSQL).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## Run the benchmarks and print µs/op and ratios.
bench: $(STAMP)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

## Webhook deliveries per second through Celery, and the cost of an async trigger on save
## (needs redis-server; set DATABASE_URL for PostgreSQL).
bench-delivery: $(STAMP)
	$(PY) benchmarks/delivery.py $(BENCH_ARGS)

## Style (ruff) and types (mypy with django-stubs; see [tool.mypy] in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check triggers tests benchmarks example_project
	$(VENV)/bin/mypy

## Remove what installs, builds, tests and the demo leave: the environments, the demo database,
## screenshots, caches and build output.
clean:
	rm -rf .venv .venv-* example.sqlite3 artifacts .hypothesis *.egg-info build dist site \
		.pytest_cache .ruff_cache .mypy_cache
	find . -path ./.git -prune -o -type d -name __pycache__ -exec rm -rf {} +
