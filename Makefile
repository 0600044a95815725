# subledger — the two commands from the README:
#   make demo   import the sample course into demo.sqlite and print its status
#   make test   run the test suite (SQLite always; PostgreSQL when
#               SUBLEDGER_TEST_POSTGRES is set — .ci/run sets it up)
# The virtualenv is created on first use and refreshed when pyproject.toml changes.

VENV ?= .venv
PY = $(VENV)/bin/python
PYTHON ?= python3
STAMP = $(VENV)/.subledger-installed
PYTEST_ARGS ?=
DEMO_STORE = demo.sqlite

export PIP_DISABLE_PIP_VERSION_CHECK = 1
export PIP_NO_INPUT = 1

.PHONY: all venv test demo bench lint clean distclean

all: test

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || { echo "make: creating virtualenv $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "make: installing subledger[test] into $(VENV)"
	@$(PY) -m pip install -q -e ".[test]"
	@touch $@

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

demo: $(STAMP)
	@rm -f $(DEMO_STORE) $(DEMO_STORE)-wal $(DEMO_STORE)-shm $(DEMO_STORE).keys
	$(VENV)/bin/subledger --store $(DEMO_STORE) import samples/idl-2025.jsonl
	$(VENV)/bin/subledger --store $(DEMO_STORE) status --format table

bench: $(STAMP)
	$(PY) -m bench

# ruff and mypy (with their settings in pyproject.toml) come with the test extra.
# Both run, whatever the first says; lint fails if either does.
lint: $(STAMP)
	@rc=0; \
	echo "$(PY) -m ruff check ledger projections cli tests bench"; \
	$(PY) -m ruff check ledger projections cli tests bench || rc=1; \
	echo "$(PY) -m mypy"; \
	$(PY) -m mypy || rc=1; \
	exit $$rc

clean:
	rm -f $(DEMO_STORE) $(DEMO_STORE)-wal $(DEMO_STORE)-shm $(DEMO_STORE).keys
	rm -rf .pytest_cache .ruff_cache build

distclean: clean
	rm -rf $(VENV)
