# Bayline: `make run` (demo server on SQLite) and `make test` (the whole suite).
PY      ?= $(shell command -v python3.11 || command -v python3)
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PLUGINS := $(sort $(dir $(wildcard plugins/*/setup.cfg plugins/*/pyproject.toml)))
FLASK   := $(BIN)/flask --app wsgi
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: run test lint bench soak install clean

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

test: $(STAMP) lint
	env $$($(BIN)/python -m bayline.testing.services) $(BIN)/pytest -n 2 -p xdist

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) instance .pytest_cache
