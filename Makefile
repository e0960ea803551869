# The README's commands. `make run` and `make test` work on a fresh machine
# with Python 3.11 and make: they create the virtual environment themselves.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
FLASK   := $(BIN)/flask --app wsgi
HOST    ?= 127.0.0.1
PORT    ?= 5000

.PHONY: install lock run serve test lint format bench bench-rates bench-import bench-letters bench-data bench-web clean

install: $(VENV)/.installed

# Reproducible: every dependency at the version and hash in requirements.lock
# (regenerate with `make lock` after changing pyproject.toml), then the project
# itself without resolving anything again.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

lock:
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 -o requirements.lock

# Links in mail point at the development server; only its loopback names are served.
run: export APP_BASE_URL ?= http://$(HOST):$(PORT)
run: export TRUSTED_HOSTS ?= 127.0.0.1,localhost
run: install
	$(FLASK) db upgrade heads
	$(FLASK) demo seed
	$(FLASK) run --host $(HOST) --port $(PORT)

# Worker processes, not threads: a request is mostly Python (CPU) between short
# queries, and threads of one process queue for its interpreter lock after
# every query; processes share the cores fairly (bench/RESULTS.md).
WEB_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 + 1 )))
WEB_THREADS ?= 1
# Production settings in gunicorn.conf.py (workers, timeouts, access log,
# forwarded headers trusted only with PROXY_HOPS); these override its defaults.
serve: install
	WEB_WORKERS=$(WEB_WORKERS) WEB_THREADS=$(WEB_THREADS) WEB_BIND=$(HOST):$(PORT) \
		$(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

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
# BENCH_FIRMS firms in all: the big one and smaller ones beside it.
BENCH_CASES ?= 100000
BENCH_SEED  ?= 7
BENCH_FIRMS ?= 10
bench-data: install
	$(FLASK) db upgrade heads
	$(BIN)/python bench/generate_cases.py --cases $(BENCH_CASES) --seed $(BENCH_SEED) --firms $(BENCH_FIRMS) --replace

# The web pages under load: gunicorn (production settings: DATABASE_URL = the
# app role, REDIS_URL) and locust headless on loopback, BENCH_USERS users for
# BENCH_SECONDS s, on the firms of `make bench-data`; writes bench/RESULTS.md and
# bench/explain/. Needs DATABASE_URL, MIGRATION_DATABASE_URL and REDIS_URL.
BENCH_USERS   ?= 20
BENCH_SECONDS ?= 60
bench-web: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(FLASK) db upgrade heads
	$(BIN)/python bench/bench_web.py --users $(BENCH_USERS) --duration $(BENCH_SECONDS) \
		--workers $(WEB_WORKERS) --threads $(WEB_THREADS) $(BENCH_WEB_ARGS)

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

# 100,000 service lines of one firm re-benchmarked set-based (the background job)
# on PostgreSQL, against a plain SQL join over the same rows; in its own database
# (created by .ci/pg-setup.sh; the firm is generated once and reused, since
# regenerating it deletes the previous one first); writes bench/RESULTS-rates.md.
BENCH_RATES_DB ?= advocate_bench_rates
bench-rates: install
	bash .ci/pg-setup.sh $(BENCH_RATES_DB)
	DATABASE_URL=postgresql://advocate_owner@127.0.0.1:5432/$(BENCH_RATES_DB) \
	MIGRATION_DATABASE_URL=postgresql://advocate_owner@127.0.0.1:5432/$(BENCH_RATES_DB) \
	$(FLASK) db upgrade heads
	BENCH_DATABASE_URL=postgresql://advocate_app@127.0.0.1:5432/$(BENCH_RATES_DB) \
	BENCH_MIGRATION_DATABASE_URL=postgresql://advocate_owner@127.0.0.1:5432/$(BENCH_RATES_DB) \
	$(BIN)/python bench/bench_rates.py --reuse

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
