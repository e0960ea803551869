# The README's commands. `make run` and `make test` work on a fresh machine
# with Python 3.11 and make: they create the virtual environment themselves.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
FLASK   := $(BIN)/flask --app wsgi
HOST    ?= 127.0.0.1
PORT    ?= 5000

.PHONY: install run serve test lint format bench bench-rates bench-import bench-letters bench-data bench-web clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: install
	$(FLASK) db upgrade heads
	$(FLASK) demo seed
	$(FLASK) run --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/gunicorn --workers 2 --threads 4 --bind $(HOST):$(PORT) wsgi:app

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check advocate tenants tests bench
	$(BIN)/ruff format --check advocate tenants tests bench

format: install
	$(BIN)/ruff format advocate tenants tests bench
	$(BIN)/ruff check --fix advocate tenants tests bench

# A firm with BENCH_CASES cases (lines, payments, communications, events) in the
# PostgreSQL database of MIGRATION_DATABASE_URL (the owner), for the caseload and
# performance benchmarks; same seed, same data. See bench/RESULTS-caseload.md.
BENCH_CASES ?= 100000
BENCH_SEED  ?= 7
bench-data: install
	$(FLASK) db upgrade heads
	$(BIN)/python bench/generate_cases.py --cases $(BENCH_CASES) --seed $(BENCH_SEED) --replace

# The 835 (10,000 claims) and claims CSV (50,000 lines) imports on PostgreSQL, in
# their own database (created by .ci/pg-setup.sh); writes bench/RESULTS-import.md.
bench-import: install
	bash .ci/pg-setup.sh advocate_bench_import
	$(BIN)/python bench/bench_import.py

# 10,000 one-page letters rendered by two `rq worker` processes on PostgreSQL and
# Redis, the bare renderer and the PDF engines compared; writes bench/RESULTS-letters.md.
bench-letters: install
	bash .ci/pg-setup.sh advocate_bench_letters
	$(BIN)/python bench/bench_letters.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
