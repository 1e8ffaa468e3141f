# Bayline: `make run` (demo server on SQLite), `make test` (the whole suite), `make test-load` (the suite
# with every core busy), `make prod` (the production stack on this machine; docs/operations.md).
PY      ?= $(shell command -v python3.11 || command -v python3)
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PLUGINS := $(sort $(dir $(wildcard plugins/*/setup.cfg plugins/*/pyproject.toml)))
FLASK   := $(BIN)/flask --app wsgi
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: run test test-load stress-tools rabbitmq dovecot prod lint bench bench-tools soak install clean browser

$(STAMP): setup.cfg pyproject.toml constraints.txt $(wildcard plugins/*/setup.cfg plugins/*/pyproject.toml)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[test,prod]' $(foreach p,$(PLUGINS),-e $(p))
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) bayline seed-demo --if-empty
	$(FLASK) bayline demo-info
	$(FLASK) run --host 127.0.0.1 --port 5000

lint: $(STAMP)
	$(BIN)/ruff check .

# The browser tests drive Debian's Chromium; install it once when missing (as root, with apt-get).
# Without apt-get or root the browser tests are skipped, with the reason, and everything else runs.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "make: no apt-get here; the browser tests (tests/browser) will be skipped"; \
	elif [ "$$(id -u)" != 0 ]; then \
	  echo "make: not root, cannot apt-get install chromium; the browser tests will be skipped"; \
	else \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) \
	    || echo "make: apt-get install chromium failed; the browser tests will be skipped"; \
	fi

# The `make prod` smoke test runs once with RabbitMQ as the broker: install rabbitmq-server when missing
# (as root, with apt-get; otherwise that variant is skipped with the reason).
rabbitmq:
	@if command -v rabbitmq-server >/dev/null 2>&1; then :; \
	elif ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ]; then \
	  echo "make: cannot apt-get install rabbitmq-server; the RabbitMQ smoke test will be skipped"; \
	else \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server \
	    || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server) \
	    || echo "make: apt-get install rabbitmq-server failed; the RabbitMQ smoke test will be skipped"; \
	fi

# The email plugin's IMAP tests start a real Dovecot on loopback: install dovecot-imapd when missing
# (as root, with apt-get; otherwise those tests fail and say what is missing).
dovecot:
	@if [ -x /usr/sbin/dovecot ]; then :; \
	elif ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ]; then \
	  echo "make: cannot apt-get install dovecot-imapd; the email plugin's IMAP tests will fail"; \
	else \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-imapd \
	    || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-imapd) \
	    || echo "make: apt-get install dovecot-imapd failed; the email plugin's IMAP tests will fail"; \
	fi

test: $(STAMP) lint browser rabbitmq dovecot
	env $$($(BIN)/python -m bayline.testing._core.services) $(BIN)/pytest -n 2 -p xdist

# The suite on a machine whose every core is kept busy by stress-ng CPU hogs (one per core, LOAD_HOGS to
# change): tests must wait on readiness, never on the clock. The hogs stop with the run, pass or fail.
LOAD_HOGS ?= $(shell nproc)

stress-tools:
	@command -v stress-ng >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q stress-ng \
	  || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q stress-ng)

test-load: $(STAMP) lint browser rabbitmq dovecot stress-tools
	stress-ng --cpu $(LOAD_HOGS) --cpu-method matrixprod --timeout 6h --quiet & hogs=$$!; \
	env $$($(BIN)/python -m bayline.testing._core.services) $(BIN)/pytest -n 2 -p xdist; rc=$$?; \
	kill $$hogs; wait $$hogs; exit $$rc

# The production stack in one command: gunicorn + Celery worker + beat (+ Redis of its own) from
# deploy/Procfile with BAYLINE_ENV=production settings generated into instance/prod.env.
prod: $(STAMP)
	$(BIN)/python -m bayline.ops.prod

# Load benchmarks and the soak need the bench extra (gunicorn, psutil, matplotlib), wrk, redis-server,
# and PostgreSQL on 127.0.0.1:5432 (or BAYLINE_BENCH_POSTGRES_URL); each run uses a throwaway database.
BENCH_STAMP  := $(VENV)/.installed-bench
SOAK_SECONDS ?= 1800

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install -q -c constraints.txt -e '.[bench]'
	touch $(BENCH_STAMP)

bench-tools:
	@command -v wrk >/dev/null || apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk)

bench: $(BENCH_STAMP) bench-tools
	env $$($(BIN)/python -m bayline.testing._core.services) $(BIN)/python -m benchmarks

soak: $(BENCH_STAMP)
	env $$($(BIN)/python -m bayline.testing._core.services) SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python -m benchmarks.soak

clean:
	rm -rf $(VENV) instance .pytest_cache
